"""How a case is run and judged: a learner's function is called on each :class:`_Case`, its answer compared
with the expected one, and a failure explained (named mistakes, a wrong kind of answer, or the first
differing position).

An explanation is the simplest set of modelled mistakes whose model gives exactly the learner's answer: one
mistake if one does, else two switched on together. When several fit a case equally well, the one that also
fits the cases the learner passed (and shares mistakes with the other cases' explanations) is named.

While the learner's function runs, :mod:`.honesty` notes the poolviz functions it calls; a case that calls
poolviz's own implementation of the exercise fails with that reason, whatever it returned.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from .honesty import Calls, Policy, call_watched
from .report import CaseReport, CheckResult


@dataclass
class _Case:
    """One case of an exercise: ``fn(*args, **kwargs)`` is compared with ``expected``.

    Mistakes come in two forms: ``mistakes`` maps a likely cause to the value it gives (computed in advance,
    for the formula exercises), and ``model`` computes, when asked, what the learner's function returns with
    some mistakes of ``catalogue`` (:class:`~.mistakes.Mistake`) switched on (``model(**flags)``; None when they
    cannot be made on this case). ``on_error`` is the likely cause if the function raises; ``on_empty`` if
    it raises because a window came out empty (``max()`` of an empty slice).
    """

    name: str
    args: tuple
    kwargs: dict
    expected: object
    mistakes: dict = field(default_factory=dict)   # likely cause -> what that mistake returns
    on_error: str = ""                             # likely cause if the function raises
    show: dict = field(default_factory=dict)       # inputs worth printing, name -> value
    model: object = None                           # model(**flags) -> the answer with those mistakes
    catalogue: tuple = ()                          # the Mistakes ``model`` can switch on
    on_empty: str = ""                             # likely cause if the function fails on an empty window
    _modelled: dict = field(default_factory=dict, repr=False)

    def keywords(self) -> str:
        """The case's keyword arguments as text, e.g. "stride=2, padding=1" ("" if none)."""
        return ", ".join(f"{k}={v}" for k, v in self.kwargs.items())

    def modelled(self, mistakes):
        """What the learner's function returns on this case with ``mistakes`` made (None: not possible here).

        Computed once per set of mistakes, and only when a failure asks for it: a passing function costs none.
        """
        key = frozenset(m.message for m in mistakes)
        if key not in self._modelled:
            flags = {}
            for m in mistakes:
                flags.update(m.flags)
            self._modelled[key] = self.model(**flags)
        return self._modelled[key]

    def lookup(self, message):
        """This case's Mistake with ``message``, or None."""
        return next((m for m in self.catalogue if m.message == message), None)

    def shows(self, value) -> bool:
        """Whether a mistake giving ``value`` would fail this case (it can be told from the right answer)."""
        return value is not None and not _same(value, self.expected)


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


#: What the answer's shape must be, by the label a checker gives it.
_SHAPE_RULES = {
    "dx": "dx is the gradient with respect to x, so it has x's shape: one entry per input.",
    "y": "y has one entry per window: H_out rows and W_out columns of output indices (i, j).",
}
#: What an index into the answer is called, by label.
_INDEX_NAMES = {"dx": "input indices", "y": "output indices"}


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
        return f"shape: expected {expected.shape}, got {arr.shape}. " + _SHAPE_RULES.get(label, "")
    diff = np.argwhere(~np.isclose(arr, expected, rtol=1e-9, atol=1e-9, equal_nan=True))
    where = tuple(int(v) for v in diff[0])
    return (f"first difference at {_INDEX_NAMES.get(label, 'position')} {where}: expected {expected[where]:.4g}, "
            f"got {arr[where]:.4g} ({len(diff)} entr{'y differs' if len(diff) == 1 else 'ies differ'}).")


def _fits(case, mistakes, got) -> bool:
    """Whether making ``mistakes`` on ``case`` gives exactly ``got`` (and not the right answer)."""
    value = case.modelled(mistakes)
    return case.shows(value) and _same(got, value)


def _explanations(case, got) -> list:
    """Every simplest explanation of ``got`` on ``case``: a list of tuples of mistakes (messages or Mistakes).

    One mistake if any fits exactly, else two of different groups made together, else none. A pair is tried
    only if one of its mistakes changes the answer on its own: two that change nothing here alone (padding
    mistakes without padding, tie rules without a tie) change nothing together either.
    """
    found = [(why,) for why, wrong in case.mistakes.items() if case.shows(wrong) and _same(got, wrong)]
    if found or case.model is None:
        return found
    found = [(m,) for m in case.catalogue if _fits(case, (m,), got)]
    if found:
        return found
    active = {m for m in case.catalogue if case.shows(case.modelled((m,)))}
    return [pair for pair in combinations(case.catalogue, 2)
            if pair[0].group != pair[1].group and (pair[0] in active or pair[1] in active)
            and _fits(case, pair, got)]


def _message(mistake) -> str:
    return getattr(mistake, "message", mistake)


def _cause(explanation) -> str:
    """An explanation in words: one mistake's message, or both of two, numbered."""
    if len(explanation) == 1:
        return _message(explanation[0])
    return "two mistakes together: " + " ".join(f"({n}) {_message(m)}" for n, m in enumerate(explanation, 1))


def _choose(candidates, case, passed_cases, evidence):
    """The explanation to name among several that fit ``case`` exactly.

    Preferred: those whose mistakes, made on the cases the learner passed, would have passed them too (a
    mistake that would have failed a passed case was not made); then those sharing most mistakes with the
    unambiguous explanations of other cases; then the first (the catalogue's order).
    """
    def consistent(explanation):
        for other in passed_cases:
            mistakes = [other.lookup(_message(m)) for m in explanation]
            if None in mistakes or other.model is None:
                continue
            if other.shows(other.modelled(tuple(mistakes))):
                return False
        return True

    kept = [e for e in candidates if consistent(e)] or candidates
    return max(kept, key=lambda e: sum(_message(m) in evidence for m in e))  # max keeps the first of equals


def _is_empty_window_error(exc) -> bool:
    """Whether ``exc`` is numpy's or Python's complaint about the max (or argmax) of nothing."""
    text = str(exc)
    return isinstance(exc, ValueError) and ("empty" in text or "zero-size" in text)


_NOT_IMPLEMENTED = "not implemented yet"


def _honesty_note(forbidden, allowed, policy: Policy) -> str:
    """What the report says about the poolviz functions the learner's function called ("" if none)."""
    if forbidden:
        note = (f"your function calls {' and '.join(forbidden)}, poolviz's own implementation: the exercise is "
                f"to write it yourself, so every case that calls it fails.")
        return note + (f" Allowed here: {policy.allowed_text}, {policy.why_allowed}" if policy.allowed else "")
    if allowed:
        return f"your function uses {' and '.join(allowed)}: allowed here, {policy.why_allowed}"
    return ""


def _run(exercise: str, fn, cases, label: str, how_to: str, post=None, validate=None, compare=None, explain=None,
         policy: Policy | None = None) -> CheckResult:
    """Run ``fn`` on every case and explain each failure.

    ``post(answer, case)`` returns ``(value, problem)``: the value compared (e.g. the first item of a tuple)
    and, if the answer's form is wrong in a way worth naming, a message (else None);
    ``validate(got, case)`` returns a message when the answer is of the wrong kind, else None;
    ``compare(got, case)`` says whether the answer is right (default: it equals ``case.expected``);
    ``explain(got, case)`` names a likely cause that no modelled mistake gives, else None;
    ``policy`` says which poolviz functions the learner's function may call (:mod:`.honesty`).
    """
    if fn is None:
        return CheckResult(exercise, False, False, note=how_to)
    policy = Policy() if policy is None else policy
    accepted = _accepted(fn)
    reports, ambiguous, passed_cases = [], [], []
    evidence = set()  # the mistakes named by the cases that have one explanation only
    forbidden, allowed = [], []
    not_implemented = 0
    for case in cases:
        missing = [k for k in case.kwargs if accepted is not None and k not in accepted]
        if missing:
            reports.append(CaseReport(case.name, "skipped",
                                      f"your function takes no {', '.join(missing)} keyword"))
            continue
        inputs = [_block(k, v) for k, v in case.show.items()]
        calls = Calls()
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in case.args]
        try:
            got = call_watched(fn, args, case.kwargs, policy, calls)
        except Exception as exc:  # the learner's bug (or the stub): report it, do not raise
            got, error = None, exc
        else:
            error = None
        forbidden += [n for n in calls.forbidden if n not in forbidden]
        allowed += [n for n in calls.allowed if n not in allowed]
        if calls.forbidden:
            reports.append(CaseReport(case.name, "failed",
                                      f"your function calls {' and '.join(calls.forbidden)}: the exercise is to "
                                      f"write it yourself."))
            continue
        if isinstance(error, NotImplementedError):
            # A stub on every case is "not attempted yet"; on some cases only, a partial solution.
            not_implemented += 1
            where = f" for {case.keywords()}" if case.kwargs else " on this case"
            reports.append(CaseReport(case.name, "failed",
                                      f"your function raised NotImplementedError{where}: {_NOT_IMPLEMENTED}"))
            continue
        if error is not None:
            detail = inputs + [f"your function raised {type(error).__name__}: {error}"]
            cause = case.on_empty if case.on_empty and _is_empty_window_error(error) else case.on_error
            if cause:
                detail.append(f"likely cause: {cause}")
            reports.append(CaseReport(case.name, "failed", "\n".join(detail)))
            continue
        problem = None
        if post is not None:
            got, problem = post(got, case)
        wrong_kind = problem or (validate(got, case) if validate is not None else None)
        right = compare(got, case) if compare is not None else _same(got, case.expected)
        if wrong_kind is None and right:
            reports.append(CaseReport(case.name, "passed"))
            passed_cases.append(case)
            continue
        detail = inputs + [_block(f"expected {label}", case.expected), _block(f"got {label}", got)]
        candidates = [] if wrong_kind else _explanations(case, got)
        if len(candidates) > 1:  # decided once every case has run
            ambiguous.append((len(reports), case, candidates, detail))
            reports.append(None)
            continue
        evidence.update(_message(m) for m in (candidates[0] if candidates else ()))
        cause = wrong_kind or (_cause(candidates[0]) if candidates else None) or (
            explain(got, case) if explain is not None else None)
        if cause:
            detail.append(f"likely cause: {cause}")
        elif isinstance(case.expected, np.ndarray):
            detail.append(_explain_array_mismatch(got, case.expected, label))
        reports.append(CaseReport(case.name, "failed", "\n".join(detail)))
    for index, case, candidates, detail in ambiguous:
        chosen = _choose(candidates, case, passed_cases, evidence)
        reports[index] = CaseReport(case.name, "failed", "\n".join(detail + [f"likely cause: {_cause(chosen)}"]))
    run = [r for r in reports if r.status != "skipped"]
    if run and not_implemented == len(run) and not forbidden:
        return CheckResult(exercise, False, False, note=how_to)
    passed = bool(run) and all(r.status == "passed" for r in run)
    notes = []
    if not run:
        notes.append("no case could run: your function accepts none of the keywords the cases need.")
    if not_implemented:
        notes.append(f"{not_implemented} case(s) raised NotImplementedError (not implemented yet); "
                     f"the other cases were checked.")
    honesty = _honesty_note(forbidden, allowed, policy)
    if honesty:
        notes.insert(0, honesty)
    return CheckResult(exercise, passed, True, reports, "\n  ".join(notes))


# What "not attempted yet" tells the learner to do.
_STUB = ("Replace the `raise NotImplementedError` in your function with your code and run the cell again.")
