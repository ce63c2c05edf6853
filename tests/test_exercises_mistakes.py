"""The checkers' models of typical mistakes are poolviz.reference's loops with mistakes switched on, and a
learner's function that makes one (or two) is told which, in words.

With every mistake off, each model equals its reference loop to the last bit; a tie mistake ("last",
"split", "all") equals the reference's backward under that tie rule. The cases are generated valid
(no rejections) and carry ties: few distinct values, and a tied maximum planted in one window.
"""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import poolviz as pv
from conftest import valid_lengths, worked_solution
from poolviz import exercises as ex
from poolviz.exercises import pooling
from poolviz.exercises.mistakes import (
    _PAD_IGNORED,
    _SKIP_LAST,
    _avg_backward_variant,
    _max_backward_variant,
    _max_forward_variant,
)
from poolviz.exercises.runner import _choose
from poolviz.reference import avg_pool2d_backward_loop, max_pool2d_backward_loop, max_pool2d_loop, window_members

sol_maxf = worked_solution("max_pool_forward")


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



def _sliced_max(x, starts_r, starts_c, k):
    """Max pooling by numpy slicing, windows starting where told; an empty window gives -inf."""
    return np.array([[np.max(x[r0: r0 + k, c0: c0 + k], initial=-np.inf) for c0 in starts_c] for r0 in starts_r])


@settings(max_examples=100, deadline=None)
@given(exercise_cases())
def test_the_placement_and_slicing_mistakes_are_what_numpy_does(case):
    """Each placement mistake equals max pooling by slices at the starts it names, written here independently."""
    g, x, k, stride, p = case
    s = k if stride is None else stride
    (Ho, Wo), (H, W) = g.shape, x.shape

    def by_bounds(starts_r, starts_c):
        return np.array([[np.max(x[max(r0, 0): r0 + k, max(c0, 0): c0 + k], initial=-np.inf) for c0 in starts_c]
                         for r0 in starts_r])

    rows, cols = [i * s - p for i in range(Ho)], [j * s - p for j in range(Wo)]
    np.testing.assert_array_equal(_max_forward_variant(x, k, stride, p), by_bounds(rows, cols))
    np.testing.assert_array_equal(_max_forward_variant(x, k, stride, p, slices=True), _sliced_max(x, rows, cols, k))
    np.testing.assert_array_equal(_max_forward_variant(x, k, stride, p, place_stride=k),
                                  by_bounds([i * k - p for i in range(Ho)], [j * k - p for j in range(Wo)]))
    np.testing.assert_array_equal(_max_forward_variant(x, k, stride, p, place_padding=0),
                                  by_bounds([i * s for i in range(Ho)], [j * s for j in range(Wo)]))
    if min(H, W) >= k:  # the unpadded input has windows: padding ignored is pooling with padding=0
        np.testing.assert_array_equal(_max_forward_variant(x, k, stride, p, ignore_padding=True),
                                      max_pool2d_loop(x, k, stride, 0)[0])


# ---------------------------------------------------------------- learners' mistakes, named in words
# Each function below is written as a learner would write it, with one mistake (or two) in plain sight.

def _out(L, kernel_size, stride, padding):
    return (L + 2 * padding - kernel_size) // stride + 1


def _failed(result, words):
    """The failed cases whose explanation contains ``words``."""
    return [c for c in result.failed_cases if words in c.detail]


# 1. the window start computed with the kernel instead of the stride

def backward_start_with_kernel(grad_output, x, kernel_size, stride=None, padding=0):
    H, W = x.shape
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            best, where = -np.inf, None
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * kernel_size - padding + a, j * kernel_size - padding + b  # kernel_size, not stride
                    if 0 <= r < H and 0 <= c < W and x[r, c] > best:
                        best, where = x[r, c], (r, c)
            if where is not None:
                dx[where] += grad_output[i, j]
    return dx


def forward_start_with_kernel(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    H, W = x.shape
    y = np.full((_out(H, kernel_size, s, padding), _out(W, kernel_size, s, padding)), -np.inf)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * kernel_size - padding + a, j * kernel_size - padding + b  # kernel_size, not stride
                    if 0 <= r < H and 0 <= c < W:
                        y[i, j] = max(y[i, j], x[r, c])
    return y


def avg_start_with_kernel(grad_output, x, kernel_size, stride=None, padding=0):
    H, W = x.shape
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * kernel_size - padding + a, j * kernel_size - padding + b  # kernel_size, not stride
                    if 0 <= r < H and 0 <= c < W:
                        dx[r, c] += grad_output[i, j] / kernel_size ** 2
    return dx


@pytest.mark.parametrize("check, fn", [(ex.check_max_pool_backward, backward_start_with_kernel),
                                       (ex.check_max_pool_forward, forward_start_with_kernel),
                                       (ex.check_avg_pool_backward, avg_start_with_kernel)])
def test_a_window_start_with_the_kernel_instead_of_the_stride_is_named(check, fn):
    result = check(fn)
    assert not result.passed
    # it shows exactly where stride != kernel_size, and every such case names it
    assert [c.name for c in result.failed_cases] == [c.name for c in result.cases if "stride" in c.name], str(result)
    assert all("kernel size instead of the stride" in c.detail for c in result.failed_cases), str(result)
    assert "i*stride - padding" in result.failed_cases[0].detail


# 2. padding not subtracted from the window start, 3. padding accepted but ignored

def backward_padding_not_subtracted(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    H, W = x.shape
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            best, where = -np.inf, None
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * s + a, j * s + b  # forgot "- padding"
                    if 0 <= r < H and 0 <= c < W and x[r, c] > best:
                        best, where = x[r, c], (r, c)
            if where is not None:
                dx[where] += grad_output[i, j]
    return dx


def forward_padding_not_subtracted(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    H, W = x.shape
    y = np.full((_out(H, kernel_size, s, padding), _out(W, kernel_size, s, padding)), -np.inf)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * s + a, j * s + b  # forgot "- padding"
                    if 0 <= r < H and 0 <= c < W:
                        y[i, j] = max(y[i, j], x[r, c])
    return y


def avg_padding_not_subtracted(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    H, W = x.shape
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * s + a, j * s + b  # forgot "- padding"
                    if 0 <= r < H and 0 <= c < W:
                        dx[r, c] += grad_output[i, j] / kernel_size ** 2
    return dx


def backward_padding_ignored(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.shape)
    for i in range(_out(x.shape[0], kernel_size, s, 0)):  # padding accepted, never used
        for j in range(_out(x.shape[1], kernel_size, s, 0)):
            window = x[i * s: i * s + kernel_size, j * s: j * s + kernel_size]
            a, b = np.unravel_index(np.argmax(window), window.shape)
            dx[i * s + a, j * s + b] += grad_output[i, j]
    return dx


def forward_padding_ignored(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    y = np.zeros((_out(x.shape[0], kernel_size, s, 0), _out(x.shape[1], kernel_size, s, 0)))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = x[i * s: i * s + kernel_size, j * s: j * s + kernel_size].max()
    return y


def avg_padding_ignored(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.shape)
    for i in range(_out(x.shape[0], kernel_size, s, 0)):
        for j in range(_out(x.shape[1], kernel_size, s, 0)):
            dx[i * s: i * s + kernel_size, j * s: j * s + kernel_size] += grad_output[i, j] / kernel_size ** 2
    return dx


@pytest.mark.parametrize("check, fn, words", [
    (ex.check_max_pool_backward, backward_padding_not_subtracted, "padding not subtracted from the window start"),
    (ex.check_max_pool_forward, forward_padding_not_subtracted, "padding not subtracted from the window start"),
    (ex.check_avg_pool_backward, avg_padding_not_subtracted, "padding not subtracted from the window start"),
    (ex.check_max_pool_backward, backward_padding_ignored, "padding accepted but ignored"),
    (ex.check_max_pool_forward, forward_padding_ignored, "padding accepted but ignored"),
    (ex.check_avg_pool_backward, avg_padding_ignored, "padding accepted but ignored"),
])
def test_padding_mistakes_are_named(check, fn, words):
    result = check(fn)
    (failed,) = result.failed_cases  # only the padding case shows them
    assert "padding 1" in failed.name and words in failed.detail, str(result)
    assert "first difference" not in failed.detail and "shape: expected" not in failed.detail


# 4. a negative slice start

def forward_negative_slice(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    y = np.zeros((_out(x.shape[0], kernel_size, s, padding), _out(x.shape[1], kernel_size, s, padding)))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            r0, c0 = i * s - padding, j * s - padding
            y[i, j] = x[r0: r0 + kernel_size, c0: c0 + kernel_size].max()  # r0 = -1: x[-1:2] is empty
    return y


def forward_negative_slice_guarded(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    y = np.zeros((_out(x.shape[0], kernel_size, s, padding), _out(x.shape[1], kernel_size, s, padding)))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            r0, c0 = i * s - padding, j * s - padding
            y[i, j] = np.max(x[r0: r0 + kernel_size, c0: c0 + kernel_size], initial=-np.inf)  # no error, -inf
    return y


def backward_negative_slice(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            r0, c0 = i * s - padding, j * s - padding
            window = x[r0: r0 + kernel_size, c0: c0 + kernel_size]
            a, b = np.unravel_index(np.argmax(window), window.shape)
            dx[r0 + a, c0 + b] += grad_output[i, j]
    return dx


def avg_negative_slice(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            r0, c0 = i * s - padding, j * s - padding
            dx[r0: r0 + kernel_size, c0: c0 + kernel_size] += grad_output[i, j] / kernel_size ** 2  # silently empty
    return dx


@pytest.mark.parametrize("check, fn, raised", [
    (ex.check_max_pool_forward, forward_negative_slice, "ValueError"),
    (ex.check_max_pool_forward, forward_negative_slice_guarded, None),
    (ex.check_max_pool_backward, backward_negative_slice, "ValueError"),
    (ex.check_avg_pool_backward, avg_negative_slice, None),
])
def test_a_negative_slice_start_is_named(check, fn, raised):
    result = check(fn)
    (failed,) = result.failed_cases
    assert "padding 1" in failed.name
    assert "negative slice start" in failed.detail and "x[H-1:2]" in failed.detail, str(result)
    assert (f"your function raised {raised}" in failed.detail) == bool(raised)
    assert "zero padding" not in failed.detail


# 5. a finite difference near a tie (notebook 03)

def max_derivative_central(a, b):
    eps = 1e-6
    da = (max(a + eps, b) - max(a - eps, b)) / (2 * eps)
    db = (max(a, b + eps) - max(a, b - eps)) / (2 * eps)
    return da, db


def max_derivative_forward_difference(a, b):
    h = 1e-6
    return (max(a + h, b) - max(a, b)) / h, (max(a, b + h) - max(a, b)) / h


def test_a_central_difference_near_a_tie_is_explained():
    result = ex.check_max_derivative(max_derivative_central)
    (failed,) = result.failed_cases  # the other cases are a whole step away from the kink
    assert failed.name == "max(1e-09, 0)"
    assert "strictly between 0 and 1 near a tie" in failed.detail
    assert "(eps + delta)/(2 eps)" in failed.detail and "step eps = 1e-06" in failed.detail, str(result)
    assert "return that indicator" in failed.detail


def test_a_one_sided_difference_near_a_tie_is_explained():
    result = ex.check_max_derivative(max_derivative_forward_difference)
    failed = next(c for c in result.failed_cases if c.name == "max(1e-09, 0)")
    assert "one-sided difference" in failed.detail and "crossed the kink" in failed.detail, str(result)


def test_a_finite_difference_with_a_tiny_step_is_named_by_its_rounding():
    def tiny_step(a, b):
        eps = 1e-8
        return ((max(a + eps, b) - max(a - eps, b)) / (2 * eps), (max(a, b + eps) - max(a, b - eps)) / (2 * eps))

    result = ex.check_max_derivative(tiny_step)
    details = {c.name: c.detail for c in result.failed_cases}
    assert "nearly the indicator, but not exactly" in details["max(3, 1)"], str(result)
    assert "strictly between 0 and 1 near a tie" in details["max(1e-09, 0)"]
    assert "about 1/2 each" in details["max(2, 2): a tie"]


# 6. two mistakes at once

def backward_wrap_overwrite(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            best, where = -np.inf, None
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * s - padding + a, j * s - padding + b
                    if x[r, c] > best:  # no bounds check: row -1 reads the last row
                        best, where = x[r, c], (r, c)
            dx[where] = grad_output[i, j]  # = instead of +=
    return dx


def test_a_wrap_plus_an_overwrite_is_named_as_both_not_as_zero_padding():
    result = ex.check_max_pool_backward(backward_wrap_overwrite)
    padding = next(c for c in result.failed_cases if "padding 1" in c.name)
    assert "two mistakes together" in padding.detail, str(result)
    assert "overwriting instead of accumulating" in padding.detail and "negative index wrapped" in padding.detail
    assert "zero padding" not in padding.detail
    # where one mistake explains a case, one is named
    overlap = next(c for c in result.failed_cases if "kernel 3, stride 1" in c.name)
    assert "overwriting" in overlap.detail and "two mistakes" not in overlap.detail


def test_of_two_explanations_the_one_the_passed_cases_allow_is_named():
    """Skipping the last windows would have failed the plain 4x4 case the learner passed: not that one."""
    cases = pooling._max_backward_cases()
    padding = cases[-1]
    skip, ignored = padding.lookup(_SKIP_LAST), padding.lookup(_PAD_IGNORED.format(fill="-inf"))
    passed = [c for c in cases if "padding" not in c.name]
    assert _choose([(skip,), (ignored,)], padding, passed, set()) == (ignored,)
    assert _choose([(skip,), (ignored,)], padding, [], set()) == (skip,)  # no evidence: the catalogue's order
    assert _choose([(skip,), (ignored,)], padding, [], {_PAD_IGNORED.format(fill="-inf")}) == (ignored,)


# 7. the forward's pair in the wrong order

def forward_switches_first(x, kernel_size, stride=None, padding=0):
    y, switches = sol_maxf.max_pool_forward(x, kernel_size, stride, padding)
    return switches, y  # the exercise asks for (y, switches)


def test_a_forward_returning_switches_first_is_told_so_without_talk_of_a_gradient():
    result = ex.check_max_pool_forward(forward_switches_first)
    assert len(result.failed_cases) == len(result.cases)
    assert all("you returned (switches, y): the order is (y, switches)" in c.detail for c in result.failed_cases)
    assert "gradient" not in str(result)


def test_a_forward_of_the_wrong_shape_is_told_about_windows_not_gradients():
    result = ex.check_max_pool_forward(lambda x, kernel_size, stride=None, padding=0: x)
    assert "y has one entry per window" in str(result) and "gradient" not in str(result)
    backward = ex.check_max_pool_backward(lambda grad_output, x, kernel_size: grad_output)
    assert "dx is the gradient with respect to x, so it has x's shape" in str(backward)


# 9. one vocabulary

def _every_message():
    cases = pooling._max_backward_cases() + pooling._max_forward_cases() + pooling._avg_backward_cases()
    texts = [t for case in cases for t in (*(m.message for m in case.catalogue), case.on_error, case.on_empty)]
    texts += [str(ex.check_max_pool_forward(fn)) for fn in (forward_switches_first, forward_negative_slice)]
    texts += [str(ex.check_max_pool_backward(fn)) for fn in (backward_wrap_overwrite, backward_start_with_kernel)]
    texts += [str(ex.check_max_derivative(max_derivative_central))]
    return "\n".join(texts)


def test_messages_speak_the_course_vocabulary():
    text = _every_message()
    assert not re.search(r"\bdy\b(?!/dx)", text)  # the upstream gradient is g, grad_output; dy/dx is a derivative
    assert "sparsity" not in text
    assert not re.search(r"\b(oh|ow)\b", text)  # output indices are (i, j)
    assert "output indices" in text and "grad_output[i, j]" in text
