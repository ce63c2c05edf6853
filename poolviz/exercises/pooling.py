"""Checkers for the pooling exercises: max-pool backward and forward, average-pool backward.

Each case carries a model of the learner's function (:mod:`.mistakes`) that can make the typical mistakes,
alone or two at a time, so a wrong answer that equals a model is named. Each checker's :class:`Policy` says
which poolviz functions the learner's function may call (:mod:`.honesty`).
"""
from __future__ import annotations

import numpy as np

from ..avg_pool import avg_pool2d, avg_pool2d_backward
from ..geometry import output_size
from ..max_pool import max_pool2d, max_pool2d_backward
from .honesty import Policy
from .mistakes import (
    _KERNEL_STEP,
    _NEGATIVE_SLICE_MAX,
    _avg_backward_variant,
    _max_backward_variant,
    _max_forward_variant,
    avg_backward_mistakes,
    max_backward_mistakes,
    max_forward_mistakes,
)
from .report import CheckResult
from .runner import _STUB, _Case, _run, _same

__all__ = ["check_avg_pool_backward", "check_max_pool_backward", "check_max_pool_forward"]

# Hints for a function that raises, shared by the checkers whose cases test the same thing.
_ON_ERROR_TRANSPOSED = "a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W)."
_ON_ERROR_NOT_DIVISIBLE = ("an off-by-one in the output size: a window must fit inside the input, so the last row "
                           "and column start no window.")


def _ints(rng, shape, low=-30, high=31):
    """Distinct integers from ``low`` to ``high - 1``, as floats: no window has a tie unless a case puts one there."""
    return rng.choice(np.arange(low, high), size=int(np.prod(shape)), replace=False).reshape(shape).astype(float)


def _padding_input():
    """A 4x4 all-negative input for kernel 3, stride 2, padding 1, on which the padding mistakes differ.

    Window (i, j) covers rows 2i-1..2i+1 and columns 2j-1..2j+1: the first row and column of windows reach
    into the padding, and with every value negative a zero from the padding would win them. The largest
    value, at (1, 2), wins the windows (0, 1) and (1, 1). The second largest, at (0, 3), wins no window by
    right; a window that reads row or column -1 without a bounds check (x[-1] is row 3, x[:, -1] column 3)
    lets it win window (0, 0), and since no later window writes there, that wrapped gradient shows even when
    the function also overwrites instead of adding.
    """
    x = -1.0 - _ints(np.random.default_rng(7), (4, 4), 2, 30)
    x[1, 2], x[0, 3] = -1.0, -2.0
    return x


def _model(variant, *args, **kw):
    """``model(**flags)``: ``variant(*args, **kw, **flags)``, where a flag may replace a keyword (stride=1)."""
    return lambda **flags: variant(*args, **{**kw, **flags})


def _on_empty(k, s, p, shape):
    """The likely cause when the learner's function fails on an empty window (``max()`` of nothing), or ""."""
    if p:
        return _NEGATIVE_SLICE_MAX
    if s != k and any((output_size(L, k, s, p) - 1) * k - p >= L for L in shape):
        return _KERNEL_STEP  # the kernel used as the step puts the last window past the input
    return ""


# --------------------------------------------------------------------------- max-pool backward

#: The backward may take its switches from poolviz's forward; everything else of poolviz's is off limits.
_MAX_BACKWARD_POLICY = Policy(
    allowed=frozenset({"poolviz.max_pool2d"}),
    allowed_text="poolviz.max_pool2d (the forward, e.g. its switches with return_indices=True)",
    why_allowed=("since this exercise is the routing: each window's gradient sent to its switch and added up "
                 "where windows overlap, as a framework's backward does with the switches its forward saved. "
                 "Window placement, -inf padding and ties then come from poolviz; check_max_pool_forward "
                 "checks a forward of your own."))


def _max_backward_cases():
    rng = np.random.default_rng(4)
    cases = []

    def add(name, x, k, g=None, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        y = max_pool2d(x, k, **kw)
        # Powers of two: every sum of distinct gradients is unique, so no mistake can pass by coincidence.
        g = 2.0 ** np.arange(y.size).reshape(y.shape) if g is None else np.asarray(g, dtype=float)
        expected = max_pool2d_backward(g, x, k, **kw)
        s, p = kw.get("stride") or k, kw.get("padding", 0)
        model = _model(_max_backward_variant, g, x, k, stride=kw.get("stride"), padding=p)
        show = {"x": x, "grad_output": g, "kernel_size": k, **kw}
        cases.append(_Case(name, (g, x, k), kw, expected, {}, on_error, show, model, max_backward_mistakes(k),
                           _on_empty(k, s, p, x.shape)))

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
        on_error="with stride 1 the windows overlap: window (i, j) starts at row i*stride, col j*stride.")
    add("overlapping windows (kernel 3, stride 2) on a 5x5 input", _ints(rng, (5, 5)), 3, stride=2)
    add("padding 1 with an all-negative input (kernel 3, stride 2)", _padding_input(), 3, stride=2, padding=1,
        on_error="with padding, window positions i*stride - padding + a can fall outside 0..H-1: those are "
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

    Notes
    -----
    Honesty: a case in which ``fn`` calls poolviz's backward (or any other poolviz function that pools,
    routes or checks gradients) fails with that reason. ``poolviz.max_pool2d`` is allowed, and the report
    says so when it is used: the exercise is the routing (each window's gradient to its switch, added up
    where windows overlap), which a framework's backward also does from the forward's switches, and
    notebook 05 shows this very pattern; the forward itself is the exercise of
    :func:`check_max_pool_forward`, which allows no poolviz pooling at all.
    """
    return _run("check_max_pool_backward", fn, _max_backward_cases(), "dx", _STUB, policy=_MAX_BACKWARD_POLICY)


# --------------------------------------------------------------------------- max-pool forward

#: The forward is the exercise: no poolviz pooling. Output-size helpers (poolviz.geometry) are allowed here:
#: the output size is notebook 05's own exercise, checked by check_output_size.
_MAX_FORWARD_POLICY = Policy()


def _forward_answer(got, case):
    """``(y, problem)``: y is the answer itself, or the first item of a tuple ``(y, switches)``.

    The problem, if any, is a pair in the wrong order: ``(switches, y)``, whose second item is the right y.
    """
    if not isinstance(got, tuple) or not got:
        return got, None
    y = got[0]
    if len(got) == 2 and not _same(y, case.expected) and _same(got[1], case.expected):
        return y, ("you returned (switches, y): the order is (y, switches), y first (or y alone). The checker "
                   "reads the first item as y, so it compared your switches with the output; your second item "
                   "is the right y.")
    return y, None


def _max_forward_cases():
    rng = np.random.default_rng(5)
    cases = []

    def add(name, x, k, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        expected = max_pool2d(x, k, **kw)
        s, p = kw.get("stride") or k, kw.get("padding", 0)
        model = _model(_max_forward_variant, x, k, stride=kw.get("stride"), padding=p)
        show = {"x": x, "kernel_size": k, **kw}
        cases.append(_Case(name, (x, k), kw, expected, {}, on_error, show, model, max_forward_mistakes(k),
                           _on_empty(k, s, p, x.shape)))

    add("one 2x2 window", [[1, 3], [2, 0]], 2)
    add("2x2 windows on a square 4x4 input", _ints(rng, (4, 4)), 2)
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2, on_error=_ON_ERROR_TRANSPOSED)
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2,
        on_error=_ON_ERROR_NOT_DIVISIBLE)
    add("overlapping windows (kernel 3, stride 1)", _ints(rng, (4, 5)), 3, stride=1)
    add("padding 1 with an all-negative input (kernel 3, stride 2)", _padding_input(), 3, stride=2, padding=1,
        on_error="with padding, skip the positions outside 0..H-1 (they are -inf): a negative index wraps around "
                 "in numpy.")
    return cases


def check_max_pool_forward(fn) -> CheckResult:
    """Check a learner's max-pool forward against :func:`poolviz.max_pool2d`.

    ``fn(x, kernel_size, stride=None, padding=0)`` with ``x`` of shape (H, W) returns ``y`` of shape
    (H_out, W_out) (a tuple ``(y, switches)`` is accepted too: only ``y``, the first item, is checked).

    Honesty: a case in which ``fn`` calls poolviz's pooling (forward or backward, the window views, the
    reference loops, ...) fails with that reason. ``poolviz.output_size`` is allowed: the output size is
    notebook 05's own exercise, checked by :func:`check_output_size`.
    """
    return _run("check_max_pool_forward", fn, _max_forward_cases(), "y", _STUB, post=_forward_answer,
                policy=_MAX_FORWARD_POLICY)


# --------------------------------------------------------------------------- avg-pool backward

_AVG_BACKWARD_POLICY = Policy(
    allowed=frozenset({"poolviz.avg_pool2d"}),
    allowed_text="poolviz.avg_pool2d (the forward)",
    why_allowed="since it holds nothing of the backward's rule (where each window's gradient goes, divided by what).")


def _avg_backward_cases():
    rng = np.random.default_rng(6)
    cases = []

    def add(name, x, k, g=None, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        y = avg_pool2d(x, k, **kw)
        g = np.arange(1.0, y.size + 1).reshape(y.shape) * 4.0 if g is None else np.asarray(g, dtype=float)
        expected = avg_pool2d_backward(g, x, k, **kw)
        model = _model(_avg_backward_variant, g, x, k, stride=kw.get("stride"), padding=kw.get("padding", 0))
        show = {"x": x, "grad_output": g, "kernel_size": k, **kw}
        cases.append(_Case(name, (g, x, k), kw, expected, {}, on_error, show, model, avg_backward_mistakes(k)))

    add("one 2x2 window", [[1, 3], [2, 0]], 2, g=[[8.0]])
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2, on_error=_ON_ERROR_TRANSPOSED)
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2,
        on_error=_ON_ERROR_NOT_DIVISIBLE)
    add("overlapping windows (kernel 3, stride 1)", _ints(rng, (4, 4)), 3, stride=1)
    add("padding 1 (kernel 3, stride 2), zero padding counted in the divisor", _ints(rng, (4, 4)), 3,
        stride=2, padding=1,
        on_error="with padding, skip the positions outside 0..H-1 (they are zeros that receive no gradient).")
    return cases


def check_avg_pool_backward(fn) -> CheckResult:
    """Check a learner's average-pool backward against :func:`poolviz.avg_pool2d_backward`.

    ``fn(grad_output, x, kernel_size, stride=None, padding=0)`` returns ``dx`` of x's shape (H, W).
    Padding is zero padding counted in the divisor (PyTorch's default ``count_include_pad=True``).

    Honesty: a case in which ``fn`` calls poolviz's backward (or any other poolviz function that routes or
    checks gradients) fails with that reason. ``poolviz.avg_pool2d``, the forward, is allowed: it holds
    nothing of the backward's rule.
    """
    return _run("check_avg_pool_backward", fn, _avg_backward_cases(), "dx", _STUB, policy=_AVG_BACKWARD_POLICY)
