"""Checkers for the pooling exercises: max-pool backward and forward, average-pool backward.

Each case is run on the learner's function beside the models of :mod:`.mistakes`, so a wrong answer that
equals a model is named.
"""
from __future__ import annotations

import numpy as np

from ..avg_pool import avg_pool2d, avg_pool2d_backward
from ..max_pool import max_pool2d, max_pool2d_backward
from .mistakes import (
    _ALL_TIES,
    _DIVIDED_BY_K,
    _LAST_TIE,
    _NOT_DIVIDED,
    _NOT_TIMES_G,
    _ONE_TOO_MANY,
    _OVERWRITE,
    _OVERWRITE_AVG,
    _REAL_COUNT,
    _SKIP_LAST,
    _SPLIT_TIES,
    _STRIDE_1,
    _STRIDE_1_SHAPE,
    _TRANSPOSED,
    _TRANSPOSED_FORWARD,
    _WRAPPED,
    _ZERO_PAD,
    _avg_backward_variant,
    _max_backward_variant,
    _max_forward_variant,
)
from .report import CheckResult
from .runner import _STUB, _Case, _run

__all__ = ["check_avg_pool_backward", "check_max_pool_backward", "check_max_pool_forward"]

# Hints for a function that raises, shared by the checkers whose cases test the same thing.
_ON_ERROR_TRANSPOSED = "a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W)."
_ON_ERROR_NOT_DIVISIBLE = ("an off-by-one in the output size: a window must fit inside the input, so the last row "
                           "and column start no window.")


def _ints(rng, shape, low=-30, high=31):
    """Distinct integers from ``low`` to ``high - 1``, as floats: no window has a tie unless a case puts one there."""
    return rng.choice(np.arange(low, high), size=int(np.prod(shape)), replace=False).reshape(shape).astype(float)


def _largest_last(x):
    """x with its largest element moved to the bottom-right corner.

    A padded window that reads row or column -1 without a bounds check gets x[-1, ...] (numpy wraps a
    negative index): with the largest value there, the wrapped element wins and the bug shows.
    """
    x = x.copy()
    i = np.unravel_index(np.argmax(x), x.shape)
    x[i], x[-1, -1] = x[-1, -1], x[i]
    return x


# --------------------------------------------------------------------------- max-pool backward


def _max_backward_cases():
    rng = np.random.default_rng(4)
    cases = []

    def add(name, x, k, g=None, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        y = max_pool2d(x, k, **kw)
        # Powers of two: every sum of distinct gradients is unique, so no mistake can pass by coincidence.
        g = 2.0 ** np.arange(y.size).reshape(y.shape) if g is None else np.asarray(g, dtype=float)
        expected = max_pool2d_backward(g, x, k, **kw)
        v = dict(stride=kw.get("stride"), padding=kw.get("padding", 0))
        mistakes = {
            _NOT_TIMES_G: _max_backward_variant(g, x, k, **v, times_g=False),
            _OVERWRITE: _max_backward_variant(g, x, k, **v, accumulate=False),
            _ALL_TIES: _max_backward_variant(g, x, k, **v, tie_rule="all"),
            _SPLIT_TIES: _max_backward_variant(g, x, k, **v, tie_rule="split"),
            _LAST_TIE: _max_backward_variant(g, x, k, **v, tie_rule="last"),
            _ZERO_PAD: _max_backward_variant(g, x, k, **v, pad_value=0.0),
            _SKIP_LAST: _max_backward_variant(g, x, k, **v, skip_last=True),
            _WRAPPED: _max_backward_variant(g, x, k, **v, wrap=True),
            _STRIDE_1: _max_backward_variant(g, x, k, **v, place_stride=1),
        }
        if x.shape[0] == x.shape[1]:
            mistakes[_TRANSPOSED] = _max_backward_variant(g, x, k, **v, transpose=True)
        show = {"x": x, "grad_output": g, "kernel_size": k, **kw}
        cases.append(_Case(name, (g, x, k), kw, expected, mistakes, on_error, show))

    add("one 2x2 window", [[1, 3], [2, 0]], 2, g=[[5.0]])
    add("2x2 windows on a square 4x4 input", _ints(rng, (4, 4)), 2)
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2, on_error=_ON_ERROR_TRANSPOSED)
    add("a tie: two equal maxima, and an all-zero window (as after a ReLU)",
        [[2, 2, 0, 0], [1, 0, 0, 0]], 2, g=[[3.0, 7.0]])
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2,
        on_error="an off-by-one in the output size: a window must fit inside the input, so row 4 and column 4 "
                 "belong to no window and receive 0.")
    peak = _ints(rng, (4, 4), -40, -20)
    peak[1, 2] = 9.0
    add("overlapping windows (kernel 3, stride 1): one input wins 4 windows", peak, 3, stride=1,
        on_error="with stride 1 the windows overlap: window (oh, ow) starts at row oh*stride, col ow*stride.")
    add("overlapping windows (kernel 3, stride 2) on a 5x5 input", _ints(rng, (5, 5)), 3, stride=2)
    add("padding 1 with an all-negative input (kernel 3, stride 2)", _largest_last(-1.0 - _ints(rng, (4, 4), 0, 20)),
        3, stride=2, padding=1,
        on_error="with padding, window coordinates oh*stride - padding + jh can fall outside 0..H-1: those are "
                 "-inf padding, skip them rather than index x (a negative index wraps around).")
    return cases


def check_max_pool_backward(fn) -> CheckResult:
    """Check a learner's max-pool backward against :func:`poolviz.max_pool2d_backward`.

    Parameters
    ----------
    fn : callable or None
        ``fn(grad_output, x, kernel_size, stride=None, padding=0)`` with ``x`` of shape (H, W) and
        ``grad_output`` of shape (H_out, W_out), returning ``dx`` of shape (H, W). Keywords it does not
        accept are not passed, and the cases that need them are skipped.

    Returns
    -------
    CheckResult
        Cases: one window; non-overlapping windows on square and non-square inputs; ties (first
        maximum wins); an input size not divisible by the kernel; overlapping windows (gradients
        accumulate); -inf padding.
    """
    return _run("check_max_pool_backward", fn, _max_backward_cases(), "dx", _STUB)


# --------------------------------------------------------------------------- max-pool forward


def _max_forward_cases():
    rng = np.random.default_rng(5)
    cases = []

    def add(name, x, k, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        expected = max_pool2d(x, k, **kw)
        v = dict(stride=kw.get("stride"), padding=kw.get("padding", 0))
        Ho, Wo = expected.shape
        mistakes = {
            _ZERO_PAD: _max_forward_variant(x, k, **v, pad_value=0.0),
            _SKIP_LAST: _max_forward_variant(x, k, **v, skip_last=True),
            _WRAPPED: _max_forward_variant(x, k, **v, wrap=True),
            _STRIDE_1: _max_forward_variant(x, k, **v, place_stride=1),
            _STRIDE_1_SHAPE: _max_forward_variant(x, k, stride=1, padding=v["padding"]),
            _ONE_TOO_MANY: _max_forward_variant(x, k, **v, Ho=Ho + 1, Wo=Wo + 1) if v["padding"] == 0 else None,
        }
        if x.shape[0] == x.shape[1]:
            mistakes[_TRANSPOSED_FORWARD] = expected.T.copy()
        mistakes = {k_: v_ for k_, v_ in mistakes.items() if v_ is not None}
        show = {"x": x, "kernel_size": k, **kw}
        cases.append(_Case(name, (x, k), kw, expected, mistakes, on_error, show))

    add("one 2x2 window", [[1, 3], [2, 0]], 2)
    add("2x2 windows on a square 4x4 input", _ints(rng, (4, 4)), 2)
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2, on_error=_ON_ERROR_TRANSPOSED)
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2,
        on_error=_ON_ERROR_NOT_DIVISIBLE)
    add("overlapping windows (kernel 3, stride 1)", _ints(rng, (4, 5)), 3, stride=1)
    add("padding 1 with an all-negative input (kernel 3, stride 2)", _largest_last(-1.0 - _ints(rng, (4, 4), 0, 20)),
        3, stride=2, padding=1,
        on_error="with padding, skip the coordinates outside 0..H-1 (they are -inf): a negative index wraps around "
                 "in numpy.")
    return cases


def check_max_pool_forward(fn) -> CheckResult:
    """Check a learner's max-pool forward against :func:`poolviz.max_pool2d`.

    ``fn(x, kernel_size, stride=None, padding=0)`` with ``x`` of shape (H, W) returns ``y`` of shape
    (H_out, W_out) (a tuple ``(y, indices)`` is accepted too: only ``y`` is checked).
    """
    return _run("check_max_pool_forward", fn, _max_forward_cases(), "y", _STUB,
                post=lambda out: out[0] if isinstance(out, tuple) else out)


# --------------------------------------------------------------------------- avg-pool backward


def _avg_backward_cases():
    rng = np.random.default_rng(6)
    cases = []

    def add(name, x, k, g=None, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        y = avg_pool2d(x, k, **kw)
        g = np.arange(1.0, y.size + 1).reshape(y.shape) * 4.0 if g is None else np.asarray(g, dtype=float)
        expected = avg_pool2d_backward(g, x, k, **kw)
        v = dict(stride=kw.get("stride"), padding=kw.get("padding", 0))
        mistakes = {
            _NOT_DIVIDED: _avg_backward_variant(g, x, k, **v, divisor="1"),
            _DIVIDED_BY_K: _avg_backward_variant(g, x, k, **v, divisor="k"),
            _OVERWRITE_AVG: _avg_backward_variant(g, x, k, **v, accumulate=False),
            _REAL_COUNT: _avg_backward_variant(g, x, k, **v, divisor="real"),
            _SKIP_LAST: _avg_backward_variant(g, x, k, **v, skip_last=True),
            _STRIDE_1: _avg_backward_variant(g, x, k, **v, place_stride=1),
        }
        show = {"x": x, "grad_output": g, "kernel_size": k, **kw}
        cases.append(_Case(name, (g, x, k), kw, expected, mistakes, on_error, show))

    add("one 2x2 window", [[1, 3], [2, 0]], 2, g=[[8.0]])
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2, on_error=_ON_ERROR_TRANSPOSED)
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2,
        on_error=_ON_ERROR_NOT_DIVISIBLE)
    add("overlapping windows (kernel 3, stride 1)", _ints(rng, (4, 4)), 3, stride=1)
    add("padding 1 (kernel 3, stride 2), zero padding counted in the divisor", _ints(rng, (4, 4)), 3,
        stride=2, padding=1,
        on_error="with padding, skip the coordinates outside 0..H-1 (they are zeros that receive no gradient).")
    return cases


def check_avg_pool_backward(fn) -> CheckResult:
    """Check a learner's average-pool backward against :func:`poolviz.avg_pool2d_backward`.

    ``fn(grad_output, x, kernel_size, stride=None, padding=0)`` returns ``dx`` of x's shape (H, W).
    Padding is zero padding counted in the divisor (PyTorch's default ``count_include_pad=True``).
    """
    return _run("check_avg_pool_backward", fn, _avg_backward_cases(), "dx", _STUB)
