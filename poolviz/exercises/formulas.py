"""Checkers for the exercises on a formula: the output size of pooling along one axis, the derivative of max(a, b).

Their mistakes are formulas, written beside each case; the answer must also be of the right kind (an int
count of windows, a pair of derivatives), and a wrong kind is explained in words.
"""
from __future__ import annotations

import math

import numpy as np

from ..geometry import output_size
from .honesty import OP_MODULES, Policy
from .report import CheckResult
from .runner import _STUB, _Case, _run, _same

__all__ = ["check_max_derivative", "check_output_size"]


# --------------------------------------------------------------------------- output size


def _output_size_cases():
    table = [  # (L, k, s, p, d, ceil_mode, what the case tests)
        (4, 2, 2, 0, 1, False, "L divisible by the kernel"),
        (5, 2, 2, 0, 1, False, "a remainder that fits no window is dropped"),
        (7, 3, 1, 0, 1, False, "overlapping windows (stride 1)"),
        (6, 5, 1, 2, 1, False, "padding on both sides"),
        (8, 3, 1, 0, 2, False, "dilation 2: the window's elements are 2 apart"),
        (5, 2, 2, 0, 1, True, "ceil_mode keeps a last, partial window"),
        (5, 3, 3, 1, 1, True, "ceil_mode: a window that would start in the right padding is dropped"),
    ]
    cases = []
    for L, k, s, p, d, ceil, what in table:
        kw = {"padding": p, "dilation": d, "ceil_mode": ceil}
        kw = {key: val for key, val in kw.items() if val != {"padding": 0, "dilation": 1, "ceil_mode": False}[key]}
        span = d * (k - 1) + 1
        num = L + 2 * p - span
        mistakes = {}
        if ceil:
            mistakes["ceil_mode ignored: with ceil_mode=True round up, keeping a last, partial window."] = num // s + 1
            mistakes["ceil_mode without its rule: the last window must start inside the input or the left padding "
                     "(start < L + padding), otherwise it is dropped."] = -(-num // s) + 1
        mistakes |= {
            "the +1 is missing: your output has one window too few. Count the window starts, the first one "
            "(at 0) and the last one included.": (-(-num // s) if ceil else num // s),
            "dilation ignored: a dilated window's elements are `dilation` apart, so it covers more of the input "
            "than kernel_size positions.": (L + 2 * p - k) // s + 1,
            "padding counted once: the input is padded on both sides.": (L + p - span) // s + 1,
        }
        if not ceil:
            mistakes["rounded up instead of down: windows must fit inside the padded input, so a partial window "
                     "at the end is dropped unless ceil_mode=True."] = -(-num // s) + 1
        name = f"L={L}, kernel {k}, stride {s}" + "".join(f", {key}={val}" for key, val in kw.items()) + f": {what}"
        show = {"L": L, "kernel_size": k, "stride": s, **kw}
        cases.append(_Case(name, (L, k, s), kw, output_size(L, k, s, p, d, ceil), mistakes, "", show))
    return cases


def _count_of_windows(got, case):
    """Why ``got`` is not a count of windows (an int), or None if it is one."""
    if isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)):
        return None
    if isinstance(got, (float, np.floating)):
        if float(got).is_integer():
            return (f"you returned {float(got)!r}, a float: return an int, the number of windows (an array shape "
                    f"must be made of ints: np.zeros(({float(got)!r}, 2)) raises TypeError). Use floor division "
                    f"`//` rather than `/`.")
        return (f"you returned {float(got)!r}, a fraction: a count of windows is a whole number. "
                f"`/` divides exactly; use floor division `//`, which drops the partial window at the end.")
    if isinstance(got, (str, bytes)):
        return f"you returned a {type(got).__name__} ({got!r}): text, not a number. Return an int."
    if got is None:
        return "your function returned None: did you forget the `return`? Return an int."
    return f"you returned a {type(got).__name__}: return an int, the number of windows along the axis."


#: The output size is the exercise: poolviz.geometry (output_size, pool_geometry) is judged too, and so is
#: pooling, whose output shape would give the answer.
_OUTPUT_SIZE_POLICY = Policy(judged=OP_MODULES | {"poolviz.geometry"})


def check_output_size(fn) -> CheckResult:
    """Check a learner's ``fn(L, kernel_size, stride, padding=0, dilation=1, ceil_mode=False) -> int``.

    Compared with :func:`poolviz.output_size` (PyTorch's rule) on cases that each test one term. The
    answer must be an int (a numpy integer will do): a float or a string fails with the reason.

    Honesty: a case in which ``fn`` calls poolviz's output-size helpers (:mod:`poolviz.geometry`) or its
    pooling (whose output shape is the answer) fails with that reason.
    """
    return _run("check_output_size", fn, _output_size_cases(), "L_out", _STUB, validate=_count_of_windows,
                policy=_OUTPUT_SIZE_POLICY)


# --------------------------------------------------------------------------- derivative of max(a, b)


def _pair(got):
    """``got`` as two floats (da, db), or None if it is not a pair of numbers."""
    if isinstance(got, (str, bytes)):
        return None
    try:
        values = [float(np.asarray(v, dtype=float)) for v in got]
    except (TypeError, ValueError):
        return None
    return tuple(values) if len(values) == 2 else None


def _not_a_pair(got) -> str:
    if got is None:
        return "your function returned None: did you forget the `return`? Return a pair (da, db)."
    if isinstance(got, (int, float, np.number)) or np.ndim(got) == 0:
        return ("you returned a single number: return a pair (da, db), the derivative of max(a, b) with "
                "respect to a and the one with respect to b, e.g. `return 1.0, 0.0`.")
    return f"you returned {got!r}: return a pair of two numbers (da, db), e.g. `return 1.0, 0.0`."


class _AnySubgradient:
    """The expected answer at a tie: any subgradient, shown in words."""

    def __repr__(self) -> str:
        return "any (t, 1 - t) with 0 <= t <= 1"


def _max_derivative_cases():
    swap = "(da, db) are swapped: d max(a, b)/da is 1 when a is the larger one."
    values = "you returned values, not derivatives: the derivative of max(a, b) with respect to a is 1 or 0."
    cases = []
    for a, b, expected in [(3.0, 1.0, (1.0, 0.0)), (-2.0, 0.5, (0.0, 1.0)), (1e-9, 0.0, (1.0, 0.0)),
                           (-5.0, -4.0, (0.0, 1.0))]:
        mistakes = {swap: expected[::-1], values: (a, b),
                    values.replace("values,", "max(a, b) twice,"): (max(a, b), max(a, b))}
        cases.append(_Case(f"max({a:g}, {b:g})", (a, b), {}, expected, mistakes, "", {"a": a, "b": b}))
    cases.append(_Case("max(2, 2): a tie", (2.0, 2.0), {}, _AnySubgradient(), {}, "", {"a": 2.0, "b": 2.0}))
    return cases


def _is_subgradient(da, db) -> bool:
    return 0 <= da <= 1 and 0 <= db <= 1 and math.isclose(da + db, 1.0)


#: How far from 0 or 1 a partial may be and still count as the indicator up to a finite difference's rounding.
_ROUNDING = 1e-4


def _finite_difference(got, case):
    """Why ``got`` looks like a finite difference rather than the derivative of max(a, b), or None.

    Away from a tie: values strictly between 0 and 1 mean a step that crosses the kink a = b. A central
    difference with step eps > delta = |a - b| gives (eps + delta) / (2 eps) for the larger input and
    (eps - delta) / (2 eps) for the other; a one-sided one (h - delta) / h or delta / h. Values within
    rounding of 0 and 1 but not equal to them mean a finite difference whose step did not cross the kink.
    """
    pair = _pair(got)
    a, b = case.args
    if pair is None or a == b:
        return None
    delta = abs(a - b)
    won, lost = pair if a > b else pair[::-1]
    indicator = "exactly 1 for the larger input and 0 for the other"
    if all(-_ROUNDING < v < 1 + _ROUNDING for v in pair) and any(_ROUNDING <= v <= 1 - _ROUNDING for v in pair):
        if math.isclose(won + lost, 1.0, abs_tol=1e-6) and won > 0.5:
            fit = f" (your {won:.4g} fits a step eps = {delta / (2 * won - 1):.2g})"
            formula = "a central difference gives (eps + delta)/(2 eps) for the larger input, between 1/2 and 1"
        else:
            fit = ""
            formula = "a one-sided difference gives (h - delta)/h or delta/h, between 0 and 1"
        return (f"a value strictly between 0 and 1 near a tie: a finite difference whose step crossed the kink "
                f"at a = b. Here a and b are delta = |a - b| = {delta:.3g} apart, less than the step, so max "
                f"switches inputs inside the step, and {formula}{fit}. The derivative is {indicator}, however "
                f"small the gap: return that indicator (a finite difference would need a step smaller than the "
                f"gap, which it cannot know in advance).")
    if all(min(abs(v), abs(v - 1)) < _ROUNDING for v in pair):
        return (f"nearly the indicator, but not exactly: a finite difference, whose rounding error leaves "
                f"(da, db) = ({pair[0]!r}, {pair[1]!r}) where the derivative is {indicator}. Return the "
                f"indicator itself.")
    return None


def _derivative_pair_problem(got, case):
    """Why ``got`` cannot be the answer: not a pair, or (at the tie) not a subgradient; None if it may be."""
    pair = _pair(got)
    if pair is None:
        return _not_a_pair(got)
    if isinstance(case.expected, _AnySubgradient) and not _is_subgradient(*pair):
        if all(abs(v - 0.5) < _ROUNDING for v in pair):
            return (f"about 1/2 each, as a central difference gives at a tie, but not exactly: rounding leaves "
                    f"da + db = {sum(pair)!r}, not 1. At a tie return an exact subgradient, such as (1.0, 0.0) "
                    f"(the first maximum wins, PyTorch's max-pool rule) or (0.5, 0.5).")
        return ("both tied inputs received the full derivative: but increasing both a and b by h increases max "
                "by h, not 2h, so da + db must be 1." if sum(pair) > 1 else
                "the derivatives must add up to 1 (moving both inputs by h moves max by h), each in [0, 1].")
    return None


def _derivative_matches(got, case) -> bool:
    if isinstance(case.expected, _AnySubgradient):  # _derivative_pair_problem has checked it already
        return True
    return _same(_pair(got), case.expected)


#: Nothing of poolviz's that pools or differentiates: max pooling over a window of two would be the answer.
_MAX_DERIVATIVE_POLICY = Policy()


def check_max_derivative(fn) -> CheckResult:
    """Check ``fn(a, b) -> (dmax/da, dmax/db)`` for ``max(a, b)`` of two floats.

    Away from a tie the partials are indicators: (1, 0) if a > b, (0, 1) if a < b. At a tie ``a == b``
    any subgradient ``(t, 1 - t)`` with ``0 <= t <= 1`` is accepted ((1, 0), first wins, is PyTorch's
    max-pool rule; (0.5, 0.5) is what central differences give); the two must add up to 1.
    A finite difference is recognised and explained: near a tie its step crosses the kink.

    Honesty: a case in which ``fn`` calls poolviz's pooling or gradient functions (max pooling a window
    of two, a gradient check) fails with that reason.
    """
    return _run("check_max_derivative", fn, _max_derivative_cases(), "(da, db)", _STUB,
                validate=_derivative_pair_problem, compare=_derivative_matches, explain=_finite_difference,
                policy=_MAX_DERIVATIVE_POLICY)
