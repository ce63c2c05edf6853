"""The notebooks' loops and poolviz's reference are the same algorithm: the worked solutions equal the reference.

The reference (:mod:`poolviz.reference`) is what the vectorised ops are tested against; the solutions
(``notebooks/solutions/``) are the loops a learner writes in notebooks 02-05. Both walk each window in
row-major order and keep the first strictly larger value; on generated cases (ties, overlaps, padding)
they must agree to the last bit.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import poolviz as pv
from conftest import require_solutions, valid_lengths
from poolviz.reference import avg_pool2d_backward_loop, max_pool2d_backward_loop, max_pool2d_loop

require_solutions()  # in a copy without notebooks/solutions/ (a handout) this module skips, saying so
from solutions import avg_pool_backward as sol_avg  # noqa: E402
from solutions import max_pool_backward as sol_maxb  # noqa: E402
from solutions import max_pool_forward as sol_maxf  # noqa: E402
from solutions import output_size as sol_size  # noqa: E402


@st.composite
def lesson_cases(draw):
    """What the lessons' loops take: a square kernel, a stride, -inf (max) or zero (average) padding."""
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 4))
    p = draw(st.integers(0, k // 2))
    H, W = (draw(st.sampled_from(valid_lengths(k, s, p, 1, False, longest=9))) for _ in range(2))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (H, W)).astype(float)  # few distinct values: many ties, all-negative windows
    return x, k, s, p, rng


@settings(max_examples=150, deadline=None)
@given(lesson_cases())
def test_the_lessons_max_pool_loops_are_the_reference(case):
    x, k, s, p, rng = case
    y_ref, idx_ref = max_pool2d_loop(x, k, s, p)
    y, switches = sol_maxf.max_pool_forward(x, k, s, p)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(switches[..., 0] * x.shape[1] + switches[..., 1], idx_ref)
    g = rng.standard_normal(y_ref.shape)
    expected = max_pool2d_backward_loop(g, x, k, s, p)
    np.testing.assert_array_equal(sol_maxb.max_pool_backward(g, x, k, s, p), expected)
    np.testing.assert_array_equal(sol_maxb.max_pool_backward_vectorised(g, x, k, s, p), expected)


@settings(max_examples=100, deadline=None)
@given(lesson_cases())
def test_the_lessons_avg_pool_loop_is_the_reference(case):
    x, k, s, p, rng = case
    g = rng.standard_normal(pv.avg_pool2d(x, k, s, p).shape)
    np.testing.assert_array_equal(sol_avg.avg_pool_backward(g, x, k, s, p), avg_pool2d_backward_loop(g, x, k, s, p))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 30), st.integers(1, 6), st.integers(1, 5), st.integers(0, 3), st.integers(1, 3), st.booleans())
def test_the_lessons_output_size_is_pytorchs_rule(L, k, s, p, d, ceil_mode):
    assert sol_size.output_size(L, k, s, p, d, ceil_mode) == pv.output_size(L, k, s, p, d, ceil_mode)
