"""Notebook 05's worked solution with dilation equals the reference loop, and a hand-derived dilated case.

As in test_solutions.py: the reference (:mod:`poolviz.reference`) is what the ops are tested against (and they
against PyTorch's golden values); here the solution must agree with it to the last bit, on generated cases with
ties, overlap, padding, dilation and ceil_mode.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import require_solutions, valid_lengths
from poolviz.reference import max_pool2d_backward_loop

require_solutions()  # in a copy without notebooks/solutions/ (a handout) this module skips, saying so
from solutions import general_max_pool_backward as sol  # noqa: E402


@st.composite
def dilated_cases(draw):
    """A square kernel, stride, padding (at most half the kernel), dilation and ceil_mode, on valid input sizes."""
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 4))
    p = draw(st.integers(0, k // 2))
    d = draw(st.integers(1, 3))
    ceil_mode = draw(st.booleans())
    lengths = valid_lengths(k, s, p, d, ceil_mode, longest=10)
    H, W = (draw(st.sampled_from(lengths)) for _ in range(2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.integers(-2, 3, (H, W)).astype(float)  # few distinct values: many ties, all-negative windows
    return x, k, s, p, d, ceil_mode, rng


@settings(max_examples=200, deadline=None)
@given(dilated_cases())
def test_the_dilated_solution_is_the_reference(case):
    x, k, s, p, d, ceil_mode, rng = case
    g = rng.standard_normal(_out_shape(x.shape, k, s, p, d, ceil_mode))
    expected = max_pool2d_backward_loop(g, x, k, s, p, d, ceil_mode)
    np.testing.assert_array_equal(sol.max_pool_backward(g, x, k, s, p, d), expected)


def _out_shape(shape, k, s, p, d, ceil_mode):
    """The output shape by PyTorch's rule, written out here (not taken from poolviz)."""
    out = []
    for length in shape:
        n = length + 2 * p - d * (k - 1) - 1
        o = (-(-n // s) if ceil_mode else n // s) + 1
        if ceil_mode and (o - 1) * s >= length + p:
            o -= 1
        out.append(o)
    return tuple(out)


def test_a_dilated_case_by_hand():
    # kernel 2, stride 1, dilation 2 on 3x3: a single window, whose members are the four corners (the 9s between
    # them are not members); the largest corner, 8 at (2, 2), receives the whole gradient.
    x = np.array([[1.0, 9.0, 3.0], [9.0, 9.0, 9.0], [7.0, 9.0, 8.0]])
    dx = sol.max_pool_backward(np.array([[5.0]]), x, kernel_size=2, stride=1, dilation=2)
    np.testing.assert_array_equal(dx, [[0, 0, 0], [0, 0, 0], [0, 0, 5.0]])


def test_a_window_of_padding_only_is_refused():
    # kernel 2, padding 1, dilation 4 on a 1x3 input: the window's rows and columns are -1 and 3, all padding
    with pytest.raises(ValueError, match="only padding"):
        sol.max_pool_backward(np.ones((1, 1)), np.array([[1.0, 2.0, 3.0]]), kernel_size=2, padding=1, dilation=4)


def test_the_dilated_solution_passes_the_checker():
    from poolviz.exercises import check_max_pool_backward

    result = check_max_pool_backward(sol.max_pool_backward)
    assert result.passed, result.headline()
