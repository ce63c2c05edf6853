"""Checker for notebook 08's exercise: a vectorised max-pool backward, with overlapping windows and ties.

A learner writes ``max_pool_backward_vectorised(grad_output, x, kernel_size, stride=None)`` (no padding): the
gradient of 2-d max pooling with PyTorch's rules (the first maximum in row-major window order wins a tie,
overlapping windows add up) and no Python loop over the output positions; a loop over the ``k * k`` kernel
offsets is fine. :func:`check_vectorised_max_pool_backward` checks two things.

* **Correctness**, case by case, as :func:`~poolviz.exercises.check_max_pool_backward` does (overlap, ties,
  non-square inputs, a size the kernel does not divide, a stride larger than the kernel), with the mistakes of
  vectorised code named in words: the buffered fancy-index ``+=`` that keeps one of several gradients (modelled
  by :mod:`.mistakes`' overwriting loop, which gives the same numbers), a mask ``==`` that marks every tied
  maximum, ``>=`` in a running maximum, windows at every position (the stride ignored), ``=`` instead of ``+=``
  in a per-offset scatter, argmax's offset used as an input index, a running maximum started at 0.
* **Structure**: no Python loop over the output positions. Nothing is timed (a timing depends on the machine
  and its load): the checker counts the Python lines that run while the function runs (:func:`sys.settrace`,
  restored in a ``finally``), on a small and a large input with the same kernel and stride. A loop over the
  ``k * k`` offsets runs as many lines on both; a loop over the output positions (or their rows), a list
  comprehension over windows, ``np.vectorize`` or ``np.apply_along_axis`` run more lines on the larger input.
  poolviz's own code is not counted.

Honesty: the function may call nothing of poolviz's pooling, not even the forward ``poolviz.max_pool2d``,
whose ``return_indices=True`` would hand over the switches: computing them without a loop over the windows
is half of this exercise (the other half is the scatter).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from ..geometry import output_size
from ..max_pool import max_pool2d_backward
from .honesty import Policy
from .mistakes import (
    _ALL_TIES,
    _KERNEL_STEP,
    _LAST_TIE,
    _NOT_TIMES_G,
    _SKIP_LAST,
    _SPLIT_TIES,
    _TRANSPOSED,
    Mistake,
    _max_backward_variant,
)
from .report import CaseReport, CheckResult
from .runner import _STUB, _accepted, _Case, _run

__all__ = ["check_vectorised_max_pool_backward"]

#: poolviz's folder: code under it is not the learner's, and its lines are not counted.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# --------------------------------------------------------------------------- the mistakes, in words

_BUFFERED = ("where one input is the switch of several overlapping windows, only one of their gradients survived. A "
             "buffered fancy-index `+=` (`dx[rows, cols] += g`, `dx.flat[index] += g`, `dx.ravel()[index] += g`) does "
             "this: numpy reads all the old values first, adds, then writes, so a repeated index keeps one addition "
             "(notebook 05); so does `=` instead of `+=` in a per-offset scatter. Use np.add.at, "
             "np.bincount(index, weights=..., minlength=x.size), or one `+=` per kernel offset on a strided slice of "
             "dx (notebook 08, section 5).")
_ALL_TIES_MASK = (_ALL_TIES + " A mask `view == y` (or `windows == windows.max(...)`) marks every tied maximum: take "
                  "argmax, or a running maximum that only a strictly larger value replaces.")
_LAST_TIE_RUNNING = _LAST_TIE + " In a running maximum over the offsets: `view > best`, not `view >= best`."
_STRIDE_1_VIEW = ("the stride is ignored: your windows start at every position (stride 1), as "
                  "sliding_window_view(x, (k, k)) gives them. Keep every stride-th window, view[::stride, ::stride], "
                  "so that window (i, j) starts at row i*stride, col j*stride.")
_ASSIGN_PER_OFFSET = ("in a per-offset scatter you assigned (`dx_view[...] = ...`) instead of adding (`+=`): each "
                      "offset's slice overwrote what the earlier offsets had put there, gradients included, with the "
                      "zeros of the windows this offset did not win. Add: `dx_view += np.where(code == c, g, 0)`.")
_CODE_AS_INDEX = ("the switch's place inside its window (argmax's offset code u*k + v, or the pair (u, v)) was used as "
                  "an input index, so every window's gradient landed in the top-left corner of x. Add the window's "
                  "start: row i*stride + u, col j*stride + v.")
_ZERO_START = ("your running maximum started at 0 (np.zeros) instead of -inf: in a window whose inputs are all "
               "negative no offset beats the start, so its gradient went to the window's first element whatever its "
               "maximum. Start from -np.inf (np.full(..., -np.inf)), or from the first offset's values.")

_LOOPS_OVER_OUTPUTS = (
    "likely cause: your function loops over the output positions in Python: the count of Python lines grows with "
    "their number (a for loop over the output indices (i, j) or over their rows, a list comprehension over windows, "
    "np.vectorize and np.apply_along_axis all run Python code for every window). Loop over the k*k kernel offsets "
    "instead (notebook 08, section 3), or take argmax over a window view (section 2): then the count is the same for "
    "every input size.")

#: When the function raises on a case: the likely cause, by what the case tests.
_ON_ERROR_OVERLAP = ("with overlapping windows (stride < kernel_size) the reshape trick does not apply (it needs "
                     "stride == kernel_size): use a window view (sliding_window_view, then [::stride, ::stride]) or a "
                     "loop over the k*k offsets.")
_ON_ERROR_GAPS = ("with stride > kernel_size, slice each offset's view to exactly H_out rows and W_out columns: "
                  "x[u : u + stride*(H_out - 1) + 1 : stride, ...]; x[u::stride] can hold one row too many.")
_ON_ERROR_SIZE = ("an off-by-one in the output size: H_out = (H - kernel_size) // stride + 1, so the last row and "
                  "column of a 5x5 input belong to no window of kernel 2; x.reshape(H // k, k, W // k, k) needs k to "
                  "divide H and W.")
_ON_ERROR_TRANSPOSED = "a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W)."


def _catalogue(k):
    """The modelled mistakes (loop models of :mod:`.mistakes`), in the order they are preferred."""
    return (
        Mistake(_NOT_TIMES_G, "times_g", {"times_g": False}),
        Mistake(_BUFFERED, "accumulate", {"accumulate": False}),  # buffered += keeps the last: an overwrite
        Mistake(_ALL_TIES_MASK, "ties", {"tie_rule": "all"}),
        Mistake(_SPLIT_TIES, "ties", {"tie_rule": "split"}),
        Mistake(_LAST_TIE_RUNNING, "ties", {"tie_rule": "last"}),
        Mistake(_SKIP_LAST, "count", {"skip_last": True}),
        Mistake(_STRIDE_1_VIEW, "step", {"place_stride": 1}),
        Mistake(_KERNEL_STEP, "step", {"place_stride": k}),
        Mistake(_TRANSPOSED, "transpose", {"transpose": True}),
    )


# --------------------------------------------------------------------------- mistakes of vectorised code


def _codes(x, k, s, start=-np.inf):
    """Each window's offset code ``u * k + v`` of its first maximum, (H_out, W_out): a running maximum from
    ``start``, replaced only by a strictly larger value; 0 where nothing beats ``start``. ``x`` (H, W)."""
    H_out, W_out = output_size(x.shape[0], k, s), output_size(x.shape[1], k, s)
    code = np.zeros((H_out, W_out), dtype=np.int64)
    for i in range(H_out):
        for j in range(W_out):
            best = start
            for c in range(k * k):
                value = x[i * s + c // k, j * s + c % k]
                if value > best:
                    best, code[i, j] = value, c
    return code


def _scatter_codes(g, code, k, s, shape, *, assign=None):
    """dx (H, W) with each window's gradient added at its code's input; ``assign`` ("forward" or "reverse"):
    the per-offset ``=`` mistake, offsets visited in that order."""
    dx = np.zeros(shape)
    H_out, W_out = g.shape
    order = range(k * k) if assign != "reverse" else reversed(range(k * k))
    for c in order:
        u, v = divmod(c, k)
        view = dx[u: u + s * (H_out - 1) + 1: s, v: v + s * (W_out - 1) + 1: s]
        if assign is None:
            view += np.where(code == c, g, 0.0)
        else:
            view[...] = np.where(code == c, g, 0.0)
    return dx


def _vectorised_mistakes(g, x, k, s):
    """What the mistakes only vectorised code makes return on this case: message -> value."""
    code = _codes(x, k, s)
    as_flat = np.zeros(x.size)
    np.add.at(as_flat, code.ravel(), g.ravel())
    as_pair = np.zeros(x.shape)
    np.add.at(as_pair, np.divmod(code, k), g)
    return {
        _ASSIGN_PER_OFFSET + " (Here with the offsets in row-major order.)":
            _scatter_codes(g, code, k, s, x.shape, assign="forward"),
        _ASSIGN_PER_OFFSET + " (Here with the offsets in reverse order.)":
            _scatter_codes(g, code, k, s, x.shape, assign="reverse"),
        _CODE_AS_INDEX + " (Here the code u*k + v, as a flat index into x.)": as_flat.reshape(x.shape),
        _CODE_AS_INDEX + " (Here the pair (u, v), as (row, col).)": as_pair,
        _ZERO_START: _scatter_codes(g, _codes(x, k, s, start=0.0), k, s, x.shape),
    }


# --------------------------------------------------------------------------- the cases


def _ints(rng, shape, low=-30, high=31):
    """Distinct integers from ``low`` to ``high - 1``, as floats: no tie unless a case puts one there."""
    return rng.choice(np.arange(low, high), size=int(np.prod(shape)), replace=False).reshape(shape).astype(float)


def _cases():
    rng = np.random.default_rng(8)
    cases = []

    def add(name, x, k, g=None, on_error="", **kw):
        x = np.asarray(x, dtype=float)
        s = kw.get("stride") or k
        shape = (output_size(x.shape[0], k, s), output_size(x.shape[1], k, s))
        # Powers of two: every sum of distinct gradients is unique, so no mistake passes by coincidence.
        g = 2.0 ** np.arange(np.prod(shape)).reshape(shape) if g is None else np.asarray(g, dtype=float)
        expected = max_pool2d_backward(g, x, k, **kw)

        def model(**flags):
            return _max_backward_variant(g, x, k, **{"stride": kw.get("stride"), "padding": 0, **flags})

        overwritten = model(accumulate=False)  # what a buffered += gives: named by the catalogue's message
        mistakes = {why: value for why, value in _vectorised_mistakes(g, x, k, s).items()
                    if not np.array_equal(value, overwritten)}
        show = {"x": x, "grad_output": g, "kernel_size": k, **kw}
        cases.append(_Case(name, (g, x, k), kw, expected, mistakes, on_error, show, model, _catalogue(k)))

    add("one 2x2 window", [[1, 3], [2, 0]], 2, g=[[5.0]])
    add("2x2 windows on a square 4x4 input", _ints(rng, (4, 4)), 2)
    add("2x2 windows on a 4x6 input (H != W)", _ints(rng, (4, 6)), 2, on_error=_ON_ERROR_TRANSPOSED)
    add("a tie: two equal maxima, and an all-zero window (as after a ReLU)", [[2, 2, 0, 0], [1, 0, 0, 0]], 2,
        g=[[3.0, 7.0]])
    add("input size not divisible by the kernel (5x5, kernel 2)", _ints(rng, (5, 5)), 2, on_error=_ON_ERROR_SIZE)
    peak = _ints(rng, (4, 4), -40, -20)
    peak[1, 2] = 9.0
    add("overlapping windows (kernel 3, stride 1): one input wins 4 windows", peak, 3, stride=1,
        on_error=_ON_ERROR_OVERLAP)
    relu = np.maximum(rng.integers(-3, 4, (7, 9)), 0).astype(float)  # zeros and repeated values: ties
    relu[2, 4] = 9.0  # the corner shared by four windows wins them all
    add("overlapping windows with ties (kernel 3, stride 2) on a 7x9 input after a ReLU", relu, 3, stride=2,
        on_error=_ON_ERROR_OVERLAP)
    add("all-negative inputs (kernel 3, stride 2): the maximum is rarely a window's first element",
        -1.0 - _ints(rng, (5, 7), 0, 40), 3, stride=2, on_error=_ON_ERROR_OVERLAP)
    add("stride larger than the kernel (kernel 2, stride 3) on a 7x8 input: gaps between the windows",
        _ints(rng, (7, 8)), 2, stride=3, on_error=_ON_ERROR_GAPS)
    return cases


# --------------------------------------------------------------------------- structure: counted, not timed

#: (kernel_size, stride keyword or None, small side, large side): square inputs with 4x4 and 32x32 windows.
_STRUCTURE = ((2, None, 8, 64), (3, 2, 9, 65))


def _python_lines(fn, args, kwargs) -> int:
    """The number of Python lines that run while ``fn(*args, **kwargs)`` runs, poolviz's own code left out.

    A :func:`sys.settrace` hook counts "line" events (one per line started, and one per loop iteration that jumps
    back). A call into poolviz (a helper the learner may use, or a forbidden op that the cases report) is not
    counted, nor is anything it calls in turn, until it returns: its internals may take other paths on larger
    inputs. The previous hook (normally none; a debugger's or a coverage tool's) is put back in a ``finally``.
    """
    count = 0
    shield = None  # the poolviz frame now running, if any

    def on_line(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return on_line

    def on_shielded(frame, event, arg):
        nonlocal shield
        if event == "return" and frame is shield:
            shield = None
        return on_shielded

    def on_call(frame, event, arg):
        nonlocal shield
        if shield is not None:
            return None
        if frame.f_code.co_filename.startswith(_ROOT):
            shield = frame
            return on_shielded
        return on_line

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return count


def _structure_report(fn) -> CaseReport:
    """Whether the number of Python lines ``fn`` runs grows with the number of output positions."""
    name = "no Python loop over the output positions (Python lines counted on a small and a large input)"
    accepted = _accepted(fn)
    rng = np.random.default_rng(80)
    findings = []
    for k, stride, small, large in _STRUCTURE:
        kw = {} if stride is None else {"stride": stride}
        if accepted is not None and any(key not in accepted for key in kw):
            continue
        s = stride or k
        counts, sizes = [], []
        for side in (small, large):
            x = rng.permutation(side * side).reshape(side, side).astype(float)
            n = output_size(side, k, s)
            g = rng.standard_normal((n, n))
            where = f"{side}x{side} input, kernel {k}" + (f", stride {stride}" if stride else "")
            try:
                counts.append(_python_lines(fn, (g, x, k), kw))
            except Exception as exc:  # the learner's bug: the cases above say more
                return CaseReport(name, "failed", f"could not count: your function raised {type(exc).__name__}: "
                                                  f"{exc} (on a {where}).")
            sizes.append((side, n))
        (side_a, n_a), (side_b, n_b) = sizes
        if counts[1] - counts[0] >= n_b - n_a:  # at least one more line per extra row of outputs
            findings.append(
                f"your function ran {counts[0]} Python lines on a {side_a}x{side_a} input ({n_a * n_a} output "
                f"positions) and {counts[1]} on a {side_b}x{side_b} input ({n_b * n_b} output positions), kernel {k}"
                + (f", stride {stride}" if stride else "") + ".")
    if findings:
        return CaseReport(name, "failed", "\n".join([*findings, _LOOPS_OVER_OUTPUTS]))
    return CaseReport(name, "passed")


# --------------------------------------------------------------------------- the checker

#: Nothing of poolviz's pooling: the switches, computed without a loop over the windows, are half the exercise.
_POLICY = Policy()


def check_vectorised_max_pool_backward(fn) -> CheckResult:
    """Check a learner's vectorised max-pool backward (notebook 08, exercise 1).

    Parameters
    ----------
    fn : callable or None
        ``fn(grad_output, x, kernel_size, stride=None)`` with ``x`` of shape (H, W) and ``grad_output`` of shape
        (H_out, W_out), returning ``dx`` of shape (H, W): each window's gradient added to its first maximum
        (row-major window order), no padding. A function without a ``stride`` keyword skips the cases that need
        one.

    Returns
    -------
    CheckResult
        Cases: one window; non-overlapping windows on square and non-square inputs; a tie and a window of zeros;
        an input size the kernel does not divide; overlapping windows (one input wins four windows; ties after a
        ReLU; all-negative inputs); a stride larger than the kernel. Then the structure check: the Python lines
        the function runs, counted with :func:`sys.settrace` on a small and a large input with the same kernel
        and stride, must not grow with the number of output positions. Nothing is timed.

    Notes
    -----
    Honesty: a case in which ``fn`` calls poolviz's pooling (the backward, the forward ``poolviz.max_pool2d``
    included, the window views, the reference loops) fails with that reason: the forward's switches would turn
    the exercise into one ``np.add.at``.
    """
    result = _run("check_vectorised_max_pool_backward", fn, _cases(), "dx", _STUB, policy=_POLICY)
    if not result.attempted:
        return result
    cases = result.cases + [_structure_report(fn)]
    run = [c for c in cases if c.status != "skipped"]
    passed = bool(run) and all(c.status == "passed" for c in run)
    return CheckResult(result.exercise, passed, True, cases, result.note)
