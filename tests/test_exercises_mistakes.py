"""The checkers' models of typical mistakes are poolviz.reference's loops with one mistake switched on.

With every mistake off, each model equals its reference loop to the last bit; a tie mistake ("last",
"split", "all") equals the reference's backward under that tie rule. The cases are generated valid
(no rejections) and carry ties: few distinct values, and a tied maximum planted in one window.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import poolviz as pv
from conftest import valid_lengths
from poolviz.exercises.mistakes import _avg_backward_variant, _max_backward_variant, _max_forward_variant
from poolviz.reference import avg_pool2d_backward_loop, max_pool2d_backward_loop, max_pool2d_loop, window_members


@st.composite
def exercise_cases(draw):
    """What the exercises' functions take: x (H, W), a square kernel, one stride and padding, g (H_out, W_out)."""
    k = draw(st.integers(1, 4))
    stride = draw(st.none() | st.integers(1, 4))
    s = k if stride is None else stride
    p = draw(st.integers(0, k // 2))
    H, W = (draw(st.sampled_from(valid_lengths(k, s, p, 1, False, longest=9))) for _ in range(2))
    x = draw(hnp.arrays(np.float64, (H, W), elements=st.integers(-2, 2).map(float)))
    Ho, Wo = pv.output_size(H, k, s, p), pv.output_size(W, k, s, p)
    windows = [window_members(oh, ow, (k, k), (s, s), (p, p), (1, 1), H, W) for oh in range(Ho) for ow in range(Wo)]
    crowded = [members for members in windows if len(members) >= 2]
    if crowded:  # a tie at the top of one window, so the tie rules disagree there
        a, b = draw(st.lists(st.sampled_from(draw(st.sampled_from(crowded))), min_size=2, max_size=2, unique=True))
        x[a] = x[b] = x.max() + 1.0
    g = draw(hnp.arrays(np.float64, (Ho, Wo), elements=st.floats(-4, 4, allow_subnormal=False)))
    return g, x, k, stride, p  # as the checkers call them: (g, x, kernel_size, stride, padding)


@settings(max_examples=150, deadline=None)
@given(exercise_cases())
def test_the_mistake_models_switched_off_are_the_reference_loops(case):
    g, x, *pool = case
    np.testing.assert_array_equal(_max_backward_variant(g, x, *pool), max_pool2d_backward_loop(g, x, *pool))
    np.testing.assert_array_equal(_max_forward_variant(x, *pool), max_pool2d_loop(x, *pool)[0])
    np.testing.assert_array_equal(_avg_backward_variant(g, x, *pool), avg_pool2d_backward_loop(g, x, *pool))


@pytest.mark.parametrize("tie_rule", ["last", "split", "all"])
@settings(max_examples=100, deadline=None)
@given(case=exercise_cases())
def test_the_tie_mistakes_are_the_reference_tie_rules(tie_rule, case):
    g, x, *pool = case
    np.testing.assert_array_equal(_max_backward_variant(g, x, *pool, tie_rule=tie_rule),
                                  max_pool2d_backward_loop(g, x, *pool, tie_rule=tie_rule))


def test_the_tie_mistakes_differ_from_the_first_maximum_on_a_tie():
    """The planted tie matters: on one, each tie mistake gives another gradient than max pooling's rule."""
    g, x = np.array([[3.0]]), np.array([[2.0, 2.0], [1.0, 0.0]])
    first = _max_backward_variant(g, x, 2)
    np.testing.assert_array_equal(first, [[3.0, 0.0], [0.0, 0.0]])
    expected = {"last": [[0.0, 3.0], [0.0, 0.0]], "split": [[1.5, 1.5], [0.0, 0.0]], "all": [[3.0, 3.0], [0.0, 0.0]]}
    for tie_rule, dx in expected.items():
        np.testing.assert_array_equal(_max_backward_variant(g, x, 2, tie_rule=tie_rule), dx)
