"""Checker for notebook 06's exercise: the largest safe step of a central-difference check of max pooling.

A learner writes ``safe_step(x, kernel_size, stride=None, padding=0)``: the largest ``eps`` for which the
central difference ``(L(x + eps e_i) - L(x - eps e_i)) / (2 eps)`` of ``L = sum(g * max_pool2d(x))`` equals
the backward at every input ``i``, whatever ``g``. Notebook 06 derives it: moving one input by ``eps`` keeps
each window's maximum on the same input (or ties it, which leaves the value right) as long as ``eps`` is at
most that window's gap, its maximum minus its *runner-up* (the second largest of its real inputs, equal to
the maximum at a tie). So the answer is the smallest gap over all windows: ``0.0`` at a tie, and
``math.inf`` when no window has a runner-up (a window of one real input moves exactly with it).

The checker runs the learner's function on targeted cases beside models of typical mistakes (half the gap,
maximum minus minimum, the largest gap, distinct values that skip a tie, the whole input's two largest, the
stride ignored, zero padding, ...) and names the one the answer equals; an answer of the wrong kind (None,
an array of gaps, a negative number) is explained in words.
"""
from __future__ import annotations

import math

import numpy as np

from ..geometry import output_size
from ..reference import window_positions
from .report import CheckResult
from .honesty import Policy
from .runner import _STUB, _Case, _run

__all__ = ["check_safe_step"]

# --------------------------------------------------------------------------- the mistakes, in words

_HALF = ("half the smallest gap: that step is safe, but not the largest. Half the gap is the bound when every "
         "input of a window may move at once (notebook 04); a central difference moves one input at a time, and "
         "the maximum keeps its slope until it has come down by the whole gap.")
_MAX_MINUS_MIN = ("you measured each window's maximum minus its smallest input: the kink is where the runner-up "
                  "(the second largest input) meets the maximum.")
_LARGEST = "you took the largest gap over the windows: the step must be safe in every window, so take the smallest."
_DISTINCT = ("a tied window's runner-up equals its maximum, so its gap is 0: no step is safe there. Taking the "
             "second largest *distinct* value (np.unique, a set) skips the tie.")
_WHOLE = ("you used the two largest values of the whole input: each window has its own maximum and runner-up. "
          "Take the gap in every window, then the smallest.")
_STRIDE_IGNORED = ("the stride is ignored: your windows start every kernel_size positions, but window (oh, ow) "
                   "starts at row oh*stride, column ow*stride.")
_STRIDE_1 = ("your windows start at every position (stride 1): window (oh, ow) starts at row oh*stride, "
             "column ow*stride, and inputs between windows belong to none.")
_SKIP_LAST = ("the last row and column of windows are missing: count the window starts, the first (at 0) and the "
              "last included.")
_NO_RUNNER_UP_IS_0 = ("a window with a single real input has no runner-up: its maximum moves exactly with that "
                      "input, so it sets no limit on the step (it is not a gap of 0). Skip such windows; if no "
                      "window sets a limit, every step is safe: return math.inf.")
_ZERO_PAD = ("zero padding: max pooling pads with -inf, so a padding position is never a window's maximum nor its "
             "runner-up. Leave padding out of the comparison.")
_PAD_IGNORED = ("padding accepted but ignored: with padding the windows start at oh*stride - padding, and the border "
                "windows hold fewer real inputs.")
_WRAPPED = ("a negative index wrapped around: with padding, window positions can be -1, and x[-1] is the last "
            "row (or column), not padding. Skip positions outside 0..H-1 and 0..W-1.")


# --------------------------------------------------------------------------- the reference, and its mistake models


def _window_gaps(x, k, stride=None, padding=0, *, spread="runner-up", distinct=False, pad_value=None, wrap=False,
                 skip_last=False):
    """Every window's maximum minus its runner-up, or None for a window without a runner-up.

    Parameters
    ----------
    x : ndarray of shape (H, W)
    k, stride, padding : int
        Square kernel, one stride and one padding for both axes, as in :func:`poolviz.max_pool2d`.
    spread, distinct, pad_value, wrap, skip_last
        Mistake switches, all off by default (then this is the right answer's ingredient): ``spread="min"``
        subtracts the window's smallest value instead of its runner-up; ``distinct`` compares distinct values
        only; ``pad_value`` lets padding positions take part with that value; ``wrap`` reads a position
        ``-H <= r < 0`` as numpy's ``x[r]``; ``skip_last`` drops the last row and column of windows.

    Returns
    -------
    list of float or None, one per window in row-major order of the output indices (oh, ow).
    """
    H, W = x.shape
    s = k if stride is None else stride
    Ho, Wo = output_size(H, k, s, padding), output_size(W, k, s, padding)
    if skip_last:
        Ho, Wo = Ho - 1, Wo - 1
    gaps = []
    for oh in range(Ho):
        for ow in range(Wo):
            values = []
            for r, c in window_positions(oh, ow, (k, k), (s, s), (padding, padding)):
                if (0 <= r < H and 0 <= c < W) or (wrap and -H <= r < H and -W <= c < W):
                    values.append(float(x[r, c]))
                elif pad_value is not None:
                    values.append(pad_value)
            values = sorted(set(values) if distinct else values)
            if len(values) < 2:
                gaps.append(None)
            else:
                gaps.append(values[-1] - (values[0] if spread == "min" else values[-2]))
    return gaps


def _smallest(gaps, *, none_as=None, largest=False):
    """The smallest (or largest) of the gaps that exist; ``math.inf`` if none does (``none_as`` counts them)."""
    known = [g if g is not None else none_as for g in gaps]
    known = [g for g in known if g is not None]
    if not known:
        return math.inf
    return max(known) if largest else min(known)


def _safe_step_reference(x, kernel_size, stride=None, padding=0) -> float:
    """The right answer: the smallest gap (maximum minus runner-up) over every window; ``math.inf`` if no window
    has a runner-up. ``x`` of shape (H, W)."""
    return _smallest(_window_gaps(np.asarray(x, dtype=float), kernel_size, stride, padding))


def _mistakes(x, k, stride, padding):
    """What each typical mistake returns on this case: message -> value."""
    s = k if stride is None else stride
    gaps = _window_gaps(x, k, stride, padding)
    top_two = np.sort(x, axis=None)[-2:]
    mistakes = {
        _DISTINCT: _smallest(_window_gaps(x, k, stride, padding, distinct=True)),
        _NO_RUNNER_UP_IS_0: _smallest(gaps, none_as=0.0),
        _HALF: _smallest(gaps) / 2,
        _MAX_MINUS_MIN: _smallest(_window_gaps(x, k, stride, padding, spread="min")),
        _LARGEST: _smallest(gaps, largest=True),
        _WHOLE: float(top_two[1] - top_two[0]) if x.size >= 2 else math.inf,
        _SKIP_LAST: _smallest(_window_gaps(x, k, stride, padding, skip_last=True)),
    }
    if s != k:
        mistakes[_STRIDE_IGNORED] = _smallest(_window_gaps(x, k, None, padding))
    if s != 1:
        mistakes[_STRIDE_1] = _smallest(_window_gaps(x, k, 1, padding))
    if padding:
        mistakes[_ZERO_PAD] = _smallest(_window_gaps(x, k, stride, padding, pad_value=0.0))
        mistakes[_WRAPPED] = _smallest(_window_gaps(x, k, stride, padding, wrap=True))
        mistakes[_PAD_IGNORED] = _smallest(_window_gaps(x, k, stride, 0))
    return mistakes


def _safe_step_cases():
    cases = []

    def add(name, x, k, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        expected = _safe_step_reference(x, k, **kw)
        mistakes = _mistakes(x, k, kw.get("stride"), kw.get("padding", 0))
        show = {"x": x, "kernel_size": k, **kw}
        cases.append(_Case(name, (x, k), kw, expected, mistakes, on_error, show))

    add("one 2x2 window", [[1, 4], [2, 7]], 2)
    # gaps by window: 2, 5, 1 / 4, 1.5, 0.5 (the smallest in the last window); the whole input's two largest
    # (9 and 8) lie in different windows
    add("six 2x2 windows on a 4x6 input: the smallest gap decides", [[3, 1, 9, 2, 1, 4],
                                                                      [0, 5, 4, 0, 3, 0],
                                                                      [2, 8, 6, 0, 2, 0],
                                                                      [4, 1, 7.5, 5, 2.5, 1]], 2,
        on_error="a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W).")
    add("a tie: two equal maxima, and a window of zeros (as after a ReLU)", [[6, 5, 0, 0, 3, 1],
                                                                             [1, 6, 0, 0, 0, 5]], 2)
    add("overlapping windows (kernel 2, stride 1): the closest pair is in a window a stride-2 walk misses",
        [[1, 9, 4, 0], [2, 6, 5.75, 3], [8, 0, 2, 2.5], [5, 3, 1, 7]], 2, stride=1)
    add("stride 3 > kernel 2: a close pair between the windows belongs to none", [[4, 1, 0, 5, 2],
                                                                                  [3, 7.5, 2, 0, 7],
                                                                                  [7.45, 2, 6, 5.9, 1],
                                                                                  [8, 1, 3, 2, 0],
                                                                                  [2, 6, 0, 9.25, 4]], 2, stride=3)
    add("kernel 1: a window of one input has no runner-up anywhere", [[3, 1, 2], [0, 5, 4]], 1,
        on_error="a window of one input has no runner-up: skip it (it sets no limit on the step).")
    add("padding 1 (kernel 2, stride 2): padding never competes, and a corner window holds one input",
        [[0.75, 9.75, 0.5], [4, 5, 1.75], [8.25, 1, 8.75]], 2, stride=2, padding=1,
        on_error="with padding, window positions can fall outside 0..H-1: those are -inf padding, skip them "
                 "(a negative index wraps around in numpy). A window with a single real input has no runner-up.")
    return cases


def _a_step(got, case):
    """Why ``got`` is not a step (one non-negative number), or None if it is one."""
    if got is None:
        if math.isinf(case.expected):
            return ("your function returned None. If you meant 'no limit', return math.inf: a float that compares "
                    "and combines with min() like any number.")
        return "your function returned None: did you forget the `return`? Return one number, the largest safe eps."
    if isinstance(got, (str, bytes)):
        return f"your function returned a {type(got).__name__} ({got!r}): text, not a number. Return one float."
    if isinstance(got, (bool, np.bool_)):
        return "your function returned a bool: return the step itself, one number."
    if isinstance(got, (tuple, list)) or (isinstance(got, np.ndarray) and got.size != 1):
        shape = np.shape(got) if not isinstance(got, (tuple, list)) else (len(got),)
        return (f"your function returned {type(got).__name__} of shape {shape} (a gap per window?): the step must "
                f"be safe in every window, so return one number, the smallest gap.")
    try:
        value = float(np.asarray(got, dtype=float))
    except (TypeError, ValueError):
        return f"your function returned {type(got).__name__}, not a number."
    if math.isnan(value):
        return "your function returned NaN: a comparison or a subtraction met an empty or invalid window."
    if value < 0:
        return ("your function returned a negative number: a gap is the maximum minus the runner-up, never "
                "negative (did you subtract the other way round?).")
    return None


#: The gap to the runner-up is the exercise; the maxima themselves may come from poolviz's forward.
_SAFE_STEP_POLICY = Policy(
    allowed=frozenset({"poolviz.max_pool2d"}),
    allowed_text="poolviz.max_pool2d (each window's maximum)",
    why_allowed="since the exercise is the runner-up and the gap to it, which the maximum alone does not give.")


def check_safe_step(fn) -> CheckResult:
    """Check a learner's ``safe_step(x, kernel_size, stride=None, padding=0) -> float``.

    Parameters
    ----------
    fn : callable or None
        ``fn(x, kernel_size, stride=None, padding=0)`` with ``x`` of shape (H, W), returning the largest
        ``eps`` for which central differences of ``sum(g * max_pool2d(x, kernel_size, stride, padding))``
        are exact at every input: the smallest gap between a window's maximum and its runner-up, ``0.0`` at
        a tie, ``math.inf`` if no window has a runner-up. A function without ``padding`` skips the padding
        case.

    Returns
    -------
    CheckResult
        Cases: one window; several windows on a non-square input; a tie and a window of zeros; overlapping
        windows; a stride larger than the kernel; kernel 1 (no runner-up); -inf padding.

    The function may call ``poolviz.max_pool2d`` (each window's maximum); any other pooling, routing or
    gradient checking of poolviz's inside it fails the case, and the report says so.
    """
    return _run("check_safe_step", fn, _safe_step_cases(), "eps", _STUB, validate=_a_step,
                policy=_SAFE_STEP_POLICY)
