"""Checkers for the course's exercises: run a learner's function on targeted cases, explain failures.

Every checker takes the learner's function (or None) and returns a :class:`CheckResult`:

* ``result.passed`` is a bool (``bool(result)`` too);
* ``str(result)`` is the explanation: for each failed case, which case it was, the input,
  what was expected, what came back, and the likely cause;
* in a notebook it displays as a short coloured report (``_repr_html_``), in IPython as text.

``None``, or a function that raises ``NotImplementedError`` on every case (the exercise
stub), gives "not attempted yet" instead of an error, so lesson notebooks run cleanly
with the exercises unsolved. A function that raises it on some cases only (a first
version without padding, say) is reported case by case: those cases fail as "not
implemented yet" and the cases it passes still count.

The learner's function may leave out keyword arguments it does not support (a first
version of ``max_pool_backward`` often has no ``padding``): the checker passes only the
keywords the function accepts, found with :func:`inspect.signature`, and skips, with a
note, the cases that need a keyword it lacks.

How a failure is diagnosed: for each case the checker also computes what a few common
mistakes would return (overwriting instead of accumulating where windows overlap, every
tied maximum receiving the gradient, zero padding instead of -inf, skipping the last
window, a transposed index, a stride that is ignored, ...). If the learner's answer equals one
of them, that mistake is named; otherwise the first differing position is shown. An answer of
the wrong kind (a tuple, a string, a ragged list, a float where a count is expected) is
explained in words, never with a traceback.
"""
from __future__ import annotations

import html
import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from .avg_pool import avg_pool2d, avg_pool2d_backward
from .geometry import output_size
from .max_pool import max_pool2d, max_pool2d_backward

__all__ = [
    "CaseReport",
    "CheckResult",
    "check_avg_pool_backward",
    "check_max_derivative",
    "check_max_pool_backward",
    "check_max_pool_forward",
    "check_output_size",
]


# --------------------------------------------------------------------------- results


@dataclass
class CaseReport:
    """The outcome of one case: ``status`` is "passed", "failed" or "skipped"; ``detail`` explains."""

    name: str
    status: str
    detail: str = ""


@dataclass
class CheckResult:
    """What a checker found. ``passed`` is a bool; ``str(result)`` explains in words."""

    exercise: str
    passed: bool
    attempted: bool
    cases: list = field(default_factory=list)
    note: str = ""

    MAX_DETAILS = 3
    """Failed cases explained in full; the rest are listed by name (one mistake often fails many cases)."""

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failed_cases(self) -> list:
        return [c for c in self.cases if c.status == "failed"]

    def headline(self) -> str:
        if not self.attempted:
            return f"{self.exercise}: not attempted yet"
        run = [c for c in self.cases if c.status != "skipped"]
        skipped = len(self.cases) - len(run)
        if self.passed:
            return (f"{self.exercise}: PASSED all {len(run)} cases"
                    + (f" ({skipped} skipped: they need keywords your function does not take)" if skipped else ""))
        return f"{self.exercise}: FAILED {len(self.failed_cases)} of {len(run)} case(s)"

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.note:
            lines.append("  " + self.note)
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}
        shown = 0
        for case in self.cases:
            lines.append(f"  [{mark[case.status]}] {case.name}")
            if case.status == "failed" and shown >= self.MAX_DETAILS:
                continue
            if case.detail and case.status != "passed":
                lines.extend("         " + line for line in case.detail.splitlines())
                shown += case.status == "failed"
        hidden = len(self.failed_cases) - shown
        if hidden > 0:
            lines.append(f"  (details of {hidden} more failed case(s) left out: fix the first ones, then run again)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CheckResult {self.headline()}>"

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def _repr_html_(self) -> str:
        # Colour plus a word ("PASSED"/"FAILED"), so the verdict survives greyscale and colour blindness.
        colour = "#1a7f37" if self.passed else ("#6e7781" if not self.attempted else "#b35900")
        body = html.escape(str(self).split("\n", 1)[1]) if "\n" in str(self) else ""
        head = html.escape(self.headline())
        pre = f'<pre style="margin:0.3em 0 0 0">{body}</pre>' if body else ""
        return (f'<div style="border-left:4px solid {colour};padding:0.2em 0.6em">'
                f'<b style="color:{colour}">{head}</b>{pre}</div>')


# --------------------------------------------------------------------------- running cases


@dataclass
class _Case:
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


_STUB = ("Replace the `raise NotImplementedError` in your function with your code and run the cell again.")


# --------------------------------------------------------------------------- mistakes, as loops


def _window(oh, ow, k, s, p, H, W, pad_value, x, wrap=False):
    """(value, row, col, inside) for every element of window (oh, ow), in row-major window order.

    With ``wrap=True``, the bug of indexing x with a negative coordinate: numpy wraps it to the last
    row/column, so a padding position reads (and later writes) a real element at the far edge.
    """
    for jh in range(k):
        for jw in range(k):
            r, c = oh * s - p + jh, ow * s - p + jw
            inside = 0 <= r < H and 0 <= c < W
            if wrap and -H <= r < H and -W <= c < W:
                inside = True
            yield (x[r, c] if inside else pad_value), r, c, inside


def _max_backward_variant(g, x, k, stride=None, padding=0, *, tie="first", accumulate=True, pad_value=-np.inf,
                          transpose=False, times_g=True, skip_last=False, wrap=False, place_stride=None):
    """The max-pool backward with one deliberate mistake switched on (defaults: the correct rule).

    ``place_stride`` places the windows with a step other than ``stride`` (1: the stride ignored).
    """
    s = (k if stride is None else stride) if place_stride is None else place_stride
    H, W = x.shape
    Ho, Wo = g.shape
    dx = np.zeros((H, W))
    for oh in range(Ho - skip_last):
        for ow in range(Wo - skip_last):
            elems = list(_window(oh, ow, k, s, padding, H, W, pad_value, x, wrap))
            best = max(e[0] for e in elems)
            winners = [e for e in elems if e[0] == best]
            if tie == "first":
                winners = winners[:1]
            elif tie == "last":
                winners = winners[-1:]
            share = g[oh, ow] if times_g else 1.0
            if tie == "split":
                share = share / len(winners)
            for _, r, c, inside in winners:
                if not inside:  # padding won: its gradient goes nowhere
                    continue
                r, c = (c, r) if transpose else (r, c)
                if accumulate:
                    dx[r, c] += share
                else:
                    dx[r, c] = share
    return dx


def _max_forward_variant(x, k, stride=None, padding=0, *, pad_value=-np.inf, skip_last=False, Ho=None, Wo=None,
                         wrap=False, place_stride=None):
    s = k if stride is None else stride
    H, W = x.shape
    Ho = output_size(H, k, s, padding) if Ho is None else Ho
    Wo = output_size(W, k, s, padding) if Wo is None else Wo
    s = s if place_stride is None else place_stride
    y = np.zeros((Ho - skip_last, Wo - skip_last))
    for oh in range(y.shape[0]):
        for ow in range(y.shape[1]):
            y[oh, ow] = max(e[0] for e in _window(oh, ow, k, s, padding, H, W, pad_value, x, wrap))
    return y


def _avg_backward_variant(g, x, k, stride=None, padding=0, *, divisor="k*k", accumulate=True, skip_last=False,
                          place_stride=None):
    s = (k if stride is None else stride) if place_stride is None else place_stride
    H, W = x.shape
    Ho, Wo = g.shape
    dx = np.zeros((H, W))
    for oh in range(Ho - skip_last):
        for ow in range(Wo - skip_last):
            elems = [e for e in _window(oh, ow, k, s, padding, H, W, 0.0, x) if e[3]]
            d = {"k*k": k * k, "k": k, "1": 1, "real": len(elems)}[divisor]
            for _, r, c, _ in elems:
                if accumulate:
                    dx[r, c] += g[oh, ow] / d
                else:
                    dx[r, c] = g[oh, ow] / d
    return dx


_OVERWRITE = ("overwriting instead of accumulating: where windows overlap, an input that is the maximum of "
              "several windows must receive the SUM of their gradients. `dx[r, c] = g` and a buffered fancy-index "
              "`dx[rows, cols] += g` both keep only one of them; use `dx[r, c] += g` in the loop, or np.add.at.")
_ALL_TIES = ("every tied maximum received the gradient. The maximum is one value, so the window's gradient goes to "
             "ONE input: the first maximum in row-major window order (PyTorch's rule).")
_SPLIT_TIES = ("the gradient was split among the tied maxima (what central differences suggest). PyTorch's max "
               "pooling (the rule these exercises follow) gives the whole gradient to the first maximum in "
               "row-major window order; the others get 0.")
_LAST_TIE = ("the LAST tied maximum won (`>=` instead of `>` when scanning the window?). The first maximum in "
             "row-major window order wins: update the winner only on a strictly larger value.")
_ZERO_PAD = ("zero padding instead of -inf: with all-negative inputs a zero from the padding wins the window and the "
             "gradient is lost. Max pooling pads with -inf (padding never wins): skip coordinates outside the input.")
_TRANSPOSED = ("a transposed index: the gradient landed at (col, row) instead of (row, col). Rows go with x.shape[0] "
               "(H) and the first index of grad_output; columns with x.shape[1] (W).")
_NOT_TIMES_G = ("each winner received 1 instead of the upstream gradient grad_output[oh, ow]: the chain rule "
                "multiplies the local derivative (1 for the winner) by the gradient arriving from above.")
_SKIP_LAST = ("an off-by-one in the output size: your output has one row and one column of windows too few, so the "
              "last windows were never visited. Count the window starts, the last one included.")
_WRAPPED = ("negative index wrapped around: a padding position such as row -1 was read as x[-1, ...], the LAST row, "
            "and its value won the window. Padding positions must be skipped (treated as -inf): check "
            "0 <= r < H and 0 <= c < W before indexing x.")
_STRIDE_1 = ("stride ignored: the windows were placed with stride 1 (window (oh, ow) starting at row oh, col ow). "
             "Window (oh, ow) starts at row oh*stride - padding, col ow*stride - padding.")
_STRIDE_1_SHAPE = ("stride ignored: the output size and the windows were computed with stride = 1. Windows start "
                   "every `stride` positions, so there are fewer of them than with stride 1; window (oh, ow) starts "
                   "at row oh*stride - padding, col ow*stride - padding.")


def _ints(rng, shape, low=-30, high=31):
    """Distinct integers from ``low`` to ``high - 1``, as floats: no window has a tie unless a case puts one there."""
    return rng.choice(np.arange(low, high), size=int(np.prod(shape)), replace=False).reshape(shape).astype(float)


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
            _ALL_TIES: _max_backward_variant(g, x, k, **v, tie="all"),
            _SPLIT_TIES: _max_backward_variant(g, x, k, **v, tie="split"),
            _LAST_TIE: _max_backward_variant(g, x, k, **v, tie="last"),
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
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2,
        on_error="a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W).")
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


def _largest_last(x):
    """x with its largest element moved to the bottom-right corner.

    A padded window that reads row or column -1 without a bounds check gets x[-1, ...] (numpy wraps a
    negative index): with the largest value there, the wrapped element wins and the bug shows.
    """
    x = x.copy()
    i = np.unravel_index(np.argmax(x), x.shape)
    x[i], x[-1, -1] = x[-1, -1], x[i]
    return x


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
            "an off-by-one in the output size: one window too many per axis. You rounded the division up (or "
            "counted a start whose window runs past the end); windows must fit inside the padded input.":
                _max_forward_variant(x, k, **v, Ho=Ho + 1, Wo=Wo + 1) if kw.get("padding", 0) == 0 else None,
        }
        if x.shape[0] == x.shape[1]:
            mistakes["a transposed index: y[oh, ow] must come from rows oh*stride.. and columns ow*stride.."] = \
                expected.T.copy()
        mistakes = {k_: v_ for k_, v_ in mistakes.items() if v_ is not None}
        show = {"x": x, "kernel_size": k, **kw}
        cases.append(_Case(name, (x, k), kw, expected, mistakes, on_error, show))

    def padded_on_error():
        return ("with padding, skip the coordinates outside 0..H-1 (they are -inf): a negative index wraps "
                "around in numpy.")

    add("one 2x2 window", [[1, 3], [2, 0]], 2)
    add("2x2 windows on a square 4x4 input", _ints(rng, (4, 4)), 2)
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2,
        on_error="a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W).")
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2,
        on_error="an off-by-one in the output size: a window must fit inside the input, so the last row and "
                 "column start no window.")
    add("overlapping windows (kernel 3, stride 1)", _ints(rng, (4, 5)), 3, stride=1)
    add("padding 1 with an all-negative input (kernel 3, stride 2)", _largest_last(-1.0 - _ints(rng, (4, 4), 0, 20)),
        3, stride=2, padding=1, on_error=padded_on_error())
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
            "the gradient was not divided by the window size: y = sum(window) / k^2, so dy/dx = 1/k^2 for each "
            "element of the window.": _avg_backward_variant(g, x, k, **v, divisor="1"),
            "divided by kernel_size instead of kernel_size**2: a k x k window has k^2 elements.":
                _avg_backward_variant(g, x, k, **v, divisor="k"),
            _OVERWRITE.replace("the maximum of several windows", "in several windows"):
                _avg_backward_variant(g, x, k, **v, accumulate=False),
            "divided by the number of real (non-padding) elements: with count_include_pad=True (the default) the "
            "zero padding counts, so the divisor is kernel_size**2.": _avg_backward_variant(g, x, k, **v,
                                                                                         divisor="real"),
            _SKIP_LAST: _avg_backward_variant(g, x, k, **v, skip_last=True),
            _STRIDE_1: _avg_backward_variant(g, x, k, **v, place_stride=1),
        }
        show = {"x": x, "grad_output": g, "kernel_size": k, **kw}
        cases.append(_Case(name, (g, x, k), kw, expected, mistakes, on_error, show))

    add("one 2x2 window", [[1, 3], [2, 0]], 2, g=[[8.0]])
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2,
        on_error="a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W).")
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2,
        on_error="an off-by-one in the output size: a window must fit inside the input, so the last row and "
                 "column start no window.")
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


def check_output_size(fn) -> CheckResult:
    """Check a learner's ``fn(L, kernel_size, stride, padding=0, dilation=1, ceil_mode=False) -> int``.

    Compared with :func:`poolviz.output_size` (PyTorch's rule) on cases that each test one term. The
    answer must be an int (a numpy integer will do): a float or a string fails with the reason.
    """
    return _run("check_output_size", fn, _output_size_cases(), "L_out", _STUB, validate=_count_of_windows)


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


def _derivative_pair_problem(got, case):
    """Why ``got`` cannot be the answer: not a pair, or (at the tie) not a subgradient; None if it may be."""
    pair = _pair(got)
    if pair is None:
        return _not_a_pair(got)
    if isinstance(case.expected, _AnySubgradient) and not _is_subgradient(*pair):
        return ("both tied inputs received the full derivative: but increasing both a and b by h increases max "
                "by h, not 2h, so da + db must be 1." if sum(pair) > 1 else
                "the derivatives must add up to 1 (moving both inputs by h moves max by h), each in [0, 1].")
    return None


def _derivative_matches(got, case) -> bool:
    if isinstance(case.expected, _AnySubgradient):  # _derivative_pair_problem has checked it already
        return True
    return _same(_pair(got), case.expected)


def check_max_derivative(fn) -> CheckResult:
    """Check ``fn(a, b) -> (dmax/da, dmax/db)`` for ``max(a, b)`` of two floats.

    Away from a tie the partials are indicators: (1, 0) if a > b, (0, 1) if a < b. At a tie ``a == b``
    any subgradient ``(t, 1 - t)`` with ``0 <= t <= 1`` is accepted ((1, 0), first wins, is PyTorch's
    max-pool rule; (0.5, 0.5) is what central differences give); the two must add up to 1.
    """
    return _run("check_max_derivative", fn, _max_derivative_cases(), "(da, db)", _STUB,
                validate=_derivative_pair_problem, compare=_derivative_matches)
