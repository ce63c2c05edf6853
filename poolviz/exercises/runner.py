"""How a case is run and judged: a learner's function is called on each :class:`_Case`, its answer compared
with the expected one, and a failure explained (a named mistake, a wrong kind of answer, or the first
differing position).
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from .report import CaseReport, CheckResult


@dataclass
class _Case:
    """One case of an exercise: ``fn(*args, **kwargs)`` is compared with ``expected``."""

    name: str
    args: tuple
    kwargs: dict
    expected: object
    mistakes: dict = field(default_factory=dict)   # likely cause -> what that mistake returns
    on_error: str = ""                             # likely cause if the function raises
    show: dict = field(default_factory=dict)       # inputs worth printing, name -> value

    def keywords(self) -> str:
        """The case's keyword arguments as text, e.g. "stride=2, padding=1" ("" if none)."""
        return ", ".join(f"{k}={v}" for k, v in self.kwargs.items())


def _accepted(fn):
    """Names of the keyword arguments ``fn`` accepts, or None if it takes ``**kwargs`` (accepts all)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                inspect.Parameter.KEYWORD_ONLY)}


def _fmt(value) -> str:
    if isinstance(value, (tuple, list)) and any(isinstance(v, np.ndarray) for v in value):
        # e.g. (dx, switches): name the items rather than print every array
        items = ", ".join(f"an array of shape {v.shape}" if isinstance(v, np.ndarray) else type(v).__name__
                          for v in value)
        return f"a {type(value).__name__} of {len(value)} items: {items}"
    if isinstance(value, np.ndarray):
        return np.array2string(np.round(value.astype(float), 4) + 0.0, precision=4, suppress_small=True,
                               separator=" ", floatmode="maxprec")
    if isinstance(value, float):
        return repr(float(value)) if value.is_integer() else f"{value:.4g}"  # 2.0, not 2: the type shows
    return repr(value)


def _block(label: str, value) -> str:
    text = _fmt(value)
    if "\n" in text:
        pad = " " * (len(label) + 3)
        text = text.replace("\n", "\n" + pad)
    return f"{label} = {text}"


def _same(got, expected) -> bool:
    """Whether ``got`` equals ``expected``; False (never an exception) for an answer of the wrong kind."""
    if isinstance(expected, np.ndarray):
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):  # a tuple of arrays, a string, a ragged list, ...
            return False
        return got.shape == expected.shape and np.allclose(got, expected, rtol=1e-9, atol=1e-9, equal_nan=True)
    if isinstance(expected, tuple):
        try:
            return len(got) == len(expected) and all(_same(np.asarray(a, dtype=float).item(), float(b))
                                                     for a, b in zip(got, expected))
        except (TypeError, ValueError):
            return False
    try:
        return math.isclose(float(got), float(expected), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def _explain_array_mismatch(got, expected, label="the result") -> str:
    what = f"an array of numbers of shape {expected.shape}"
    if got is None:
        return "your function returned None: did you forget the `return`?"
    if isinstance(got, tuple):
        return (f"your function returned a tuple of {len(got)} item{'s' * (len(got) != 1)}; return {label} only, "
                f"{what} (if your function also computes the argmax positions, use them inside and return "
                f"only {label}).")
    if isinstance(got, (str, bytes)):
        return f"your function returned a {type(got).__name__} ({got!r}), not {what}."
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        if isinstance(got, list):
            return ("your function returned a list that is not a rectangular table of numbers (rows of "
                    f"different lengths, or something other than numbers inside?): return {what}, e.g. a "
                    "numpy array started with np.zeros(x.shape).")
        return f"your function returned {type(got).__name__}, not an array of numbers."
    if arr.shape != expected.shape:
        return (f"shape: expected {expected.shape}, got {arr.shape}. "
                f"A gradient has the shape of the input it is taken with respect to; an output has one "
                f"entry per window.")
    diff = np.argwhere(~np.isclose(arr, expected, rtol=1e-9, atol=1e-9, equal_nan=True))
    where = tuple(int(v) for v in diff[0])
    return (f"first difference at {list(where)}: expected {expected[where]:.4g}, got {arr[where]:.4g} "
            f"({len(diff)} entr{'y differs' if len(diff) == 1 else 'ies differ'}).")


_NOT_IMPLEMENTED = "not implemented yet"


def _run(exercise: str, fn, cases, label: str, how_to: str, post=None, validate=None, compare=None) -> CheckResult:
    """Run ``fn`` on every case and explain each failure.

    ``post`` turns the raw answer into the value compared (e.g. the first item of a tuple);
    ``validate(got, case)`` returns a message when the answer is of the wrong kind, else None;
    ``compare(got, case)`` says whether the answer is right (default: it equals ``case.expected``).
    """
    if fn is None:
        return CheckResult(exercise, False, False, note=how_to)
    accepted = _accepted(fn)
    reports = []
    not_implemented = 0
    for case in cases:
        missing = [k for k in case.kwargs if accepted is not None and k not in accepted]
        if missing:
            reports.append(CaseReport(case.name, "skipped",
                                      f"your function takes no {', '.join(missing)} keyword"))
            continue
        inputs = [_block(k, v) for k, v in case.show.items()]
        try:
            got = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in case.args], **case.kwargs)
            if post is not None:
                got = post(got)
        except NotImplementedError:
            # A stub on every case is "not attempted yet"; on some cases only, a partial solution.
            not_implemented += 1
            where = f" for {case.keywords()}" if case.kwargs else " on this case"
            reports.append(CaseReport(case.name, "failed",
                                      f"your function raised NotImplementedError{where}: {_NOT_IMPLEMENTED}"))
            continue
        except Exception as exc:  # the learner's bug: report it, do not raise
            detail = inputs + [f"your function raised {type(exc).__name__}: {exc}"]
            if case.on_error:
                detail.append(f"likely cause: {case.on_error}")
            reports.append(CaseReport(case.name, "failed", "\n".join(detail)))
            continue
        wrong_kind = validate(got, case) if validate is not None else None
        right = compare(got, case) if compare is not None else _same(got, case.expected)
        if wrong_kind is None and right:
            reports.append(CaseReport(case.name, "passed"))
            continue
        detail = inputs + [_block(f"expected {label}", case.expected), _block(f"got {label}", got)]
        cause = wrong_kind or next((why for why, wrong in case.mistakes.items()
                                    if not _same(wrong, case.expected) and _same(got, wrong)), None)
        if cause:
            detail.append(f"likely cause: {cause}")
        elif isinstance(case.expected, np.ndarray):
            detail.append(_explain_array_mismatch(got, case.expected, label))
        reports.append(CaseReport(case.name, "failed", "\n".join(detail)))
    run = [r for r in reports if r.status != "skipped"]
    if run and not_implemented == len(run):
        return CheckResult(exercise, False, False, note=how_to)
    passed = bool(run) and all(r.status == "passed" for r in run)
    note = "" if run else "no case could run: your function accepts none of the keywords the cases need."
    if not_implemented:
        note = (f"{not_implemented} case(s) raised NotImplementedError (not implemented yet); "
                f"the other cases were checked.")
    return CheckResult(exercise, passed, True, reports, note)


# What "not attempted yet" tells the learner to do.
_STUB = ("Replace the `raise NotImplementedError` in your function with your code and run the cell again.")
