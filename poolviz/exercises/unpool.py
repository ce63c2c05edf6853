"""Checker for notebook 10's exercise: max unpooling, written by the learner.

A learner writes ``max_unpool(values, switches, output_shape)`` for one plane: ``values`` and ``switches`` have
the pooled shape (H_out, W_out), each switch is the flat index ``row * W + col`` of a position in a plane of
``output_shape`` (H, W), and the answer is that plane, all zeros but for each value written at its switch, as
``torch.nn.functional.max_unpool2d`` does. Where overlapping windows share a switch, unpooling *writes*: the
pooled maxima of such windows are the same input's value, so the result is that value; with any other values
(a gradient, say) one of them is left there, and which one is not specified (PyTorch documents it as
nondeterministic), so any of them is accepted, but not their sum.

The cases are small planes whose switches and answers are computed here by plain loops, independently of
poolviz (``tests/test_exercises_unpool.py`` compares them with PyTorch). Each case carries what typical mistakes
would return (the switches read as (column, row), decoded with the height instead of the width, or with the width
2 * W_out of the default plane while the plane has output_shape's width, values added instead of written, an
integer output, a mask of ones, nearest-neighbour copying, output_shape ignored or read as (W, H)); an answer
equal to one of them is named, and an answer of the wrong shape is explained in words.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .honesty import Policy
from .report import CheckResult
from .runner import _STUB, _Case, _run

__all__ = ["check_max_unpool"]

# --------------------------------------------------------------------------- the mistakes, in words

_COL_ROW = ("the switches were read as (column, row): a switch s is row * W + col, so its row is s // W and its "
            "column s % W (divmod(s, W) gives them in that order, row first).")
_BY_HEIGHT = ("the switches were decoded with the plane's height: s = row * W + col, so divide by the width "
              "W = output_shape[1], not by the height H = output_shape[0].")
_COL_ROW_BY_HEIGHT = ("two mistakes together: (1) " + _COL_ROW + " (2) " + _BY_HEIGHT)
_BY_DEFAULT_WIDTH = ("the switches were decoded with the width of the default plane, 2 * W_out (twice the width of "
                     "values), while your plane has output_shape's width: a switch s = row * W + col was made in the "
                     "plane that was pooled, so divide by its width W = output_shape[1]. A pooling that left a column "
                     "uncovered, or used another kernel, makes W differ from 2 * W_out.")
_ADDED_POOLED = ("you added the values that share a switch (+= or np.add.at): unpooling writes each value at its "
                 "switch (=). The backward adds, since each window's gradient is a separate contribution; but "
                 "windows that share a switch pooled the same input, so their values are one number, and adding "
                 "multiplies it by the number of windows.")
_ADDED_OTHER = ("you added the values that share a switch (+= or np.add.at): unpooling writes (=), so one of them "
                "is left there (which one is not specified: PyTorch documents it as nondeterministic), never their "
                "sum. Adding is what max_pool2d_backward does, and is the one place where the two differ.")
_INTS = ("your output holds integers (made with np.zeros_like(switches), or dtype=int?): the values were cut to "
         "whole numbers. Make it with the values' dtype, e.g. np.zeros(output_shape, dtype=values.dtype).")
_ONES = ("you wrote 1 at each switch (a mask of the switches): write the value itself, values[i, j], at the "
         "switch of output indices (i, j).")
_NEAREST = ("you copied each value to its whole 2x2 window (nearest-neighbour upsampling): max unpooling writes "
            "each value at its switch only and leaves the other positions 0.")
_TWICE = ("you ignored output_shape and made the output twice the shape of values (as if every pooling were "
          "kernel 2, stride 2): use output_shape, the shape of the plane that was pooled, and decode the "
          "switches with its width, output_shape[1]. Another kernel, or a row or column that no window "
          "covered, gives another shape.")
_SHAPE_W_H = ("output_shape was read as (W, H): like numpy's shapes it is (H, W), rows first, so H, W = "
              "output_shape. Your plane came out transposed, and the switches were divided by H.")

# What to say when the learner's function raises, by case.
_ON_ERROR = ("a switch decoded to a position outside your plane: each switch is one integer s = row * W + col in a "
             "plane of output_shape (H, W), and divmod(s, W) gives (row, col). The plane has output_shape, not "
             "the shape of values, nor twice it.")
_ON_ERROR_WIDE = ("a switch decoded to a position outside the plane: this plane is wider than it is tall, so a "
                  "switch read as (column, row) puts its column, up to W - 1, on the row axis, and one divided by "
                  "H instead of W gets a row s // H that is too large. divmod(s, W) gives (row, col).")
_ON_ERROR_REMAINDER = ("a switch decoded to a position outside your plane: the plane has output_shape (5, 7). Its "
                       "last row and column belong to no window but still belong to the plane, so it is not twice "
                       "the shape of values, and its width, 7, is what the switches were made with.")


# --------------------------------------------------------------------------- the reference, written apart from poolviz


def _switches(x, k, s):
    """Max pooling's switches of ``x`` (H, W), no padding: for each window, the flat index row * W + col of its
    first maximum in row-major window order. Returns ``(values, switches)``, both (H_out, W_out)."""
    H, W = x.shape
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    values, switches = np.empty((Ho, Wo)), np.empty((Ho, Wo), dtype=np.int64)
    for i in range(Ho):
        for j in range(Wo):
            best = None
            for r in range(i * s, i * s + k):
                for c in range(j * s, j * s + k):
                    if best is None or x[r, c] > x[best]:  # strictly larger: the first maximum wins a tie
                        best = (r, c)
            values[i, j], switches[i, j] = x[best], best[0] * W + best[1]
    return values, switches


def _written(values, switches, shape, *, divide_by=None, col_row=False, add=False, dtype=None, ones=False):
    """The plane of ``shape`` with each value written (or, with a mistake switched on, misplaced) at its switch.

    Right with every switch off: start from zeros, write ``values[i, j]`` at ``divmod(switches[i, j], W)``
    in row-major order of the output indices (so the last one stays where switches repeat). ``divide_by``
    decodes with another width, ``col_row`` swaps row and column, ``add`` accumulates, ``dtype`` makes the
    plane of another dtype, ``ones`` writes 1. Returns None if a mistake puts a value outside the plane (the
    learner's function would raise there instead).
    """
    out = np.zeros(shape, dtype=values.dtype if dtype is None else dtype)
    width = shape[1] if divide_by is None else divide_by
    for (i, j), s in np.ndenumerate(switches):
        r, c = divmod(int(s), width)
        if col_row:
            r, c = c, r
        if not (0 <= r < shape[0] and 0 <= c < shape[1]):
            return None
        v = 1 if ones else values[i, j]
        if add:
            out[r, c] += v
        else:
            out[r, c] = v
    return out


def _mistakes(values, switches, shape):
    """What each typical mistake returns on this case: message -> value (left out where it cannot be made)."""
    H, W = shape
    Ho, Wo = values.shape
    candidates = {
        _COL_ROW: _written(values, switches, shape, col_row=True),
        _BY_HEIGHT: _written(values, switches, shape, divide_by=H),
        _COL_ROW_BY_HEIGHT: _written(values, switches, shape, divide_by=H, col_row=True),
        _BY_DEFAULT_WIDTH: _written(values, switches, shape, divide_by=2 * Wo),
        _INTS: _written(values, switches, shape, dtype=np.int64),
        _ONES: _written(values, switches, shape, ones=True),
        _TWICE: _written(values, switches, (2 * Ho, 2 * Wo)),
        _SHAPE_W_H: _written(values, switches, (W, H)),
    }
    if shape == (2 * Ho, 2 * Wo):
        candidates[_NEAREST] = np.kron(values, np.ones((2, 2)))
    return {why: value for why, value in candidates.items() if value is not None}


@dataclass
class _UnpoolCase(_Case):
    """A case whose plane may hold any one of several values at a switch that windows share.

    ``shared`` maps such a flat position to the values written there; the answer may hold any one of them.
    """

    shared: dict = field(default_factory=dict)


def _unpool_cases():
    cases = []

    def add(name, values, switches, shape, on_error=_ON_ERROR, adding=_ADDED_POOLED):
        values = np.asarray(values, dtype=float)
        switches = np.asarray(switches, dtype=np.int64)
        expected = _written(values, switches, shape)
        mistakes = _mistakes(values, switches, shape)
        repeated = [s for s in np.unique(switches) if np.count_nonzero(switches == s) > 1]
        shared = {int(s): sorted({float(v) for v in values[switches == s]}) for s in repeated}
        if repeated:
            mistakes = {adding: _written(values, switches, shape, add=True), **mistakes}
        show = {"values": values, "switches": switches.tolist(), "output_shape": shape}  # a list: printed as ints
        cases.append(_UnpoolCase(name, (values, switches, shape), {}, expected, mistakes, on_error, show,
                                 shared=shared))

    def pooled(name, x, k, s=None, **kw):
        x = np.asarray(x, dtype=float)
        values, switches = _switches(x, k, k if s is None else s)
        add(name, values, switches, x.shape, **kw)
        return switches

    rng = np.random.default_rng(10)

    def quarters(shape):
        """Distinct multiples of 1/4 with both signs: no ties, and an integer output would show."""
        return rng.choice(np.arange(-60, 61), size=int(np.prod(shape)), replace=False).reshape(shape) / 4

    pooled("one 2x2 window", [[1.5, 3.25], [2.0, 0.5]], 2)
    pooled("2x2 windows on a 4x6 plane (H != W)", quarters((4, 6)), 2, on_error=_ON_ERROR_WIDE)
    pooled("2x2 windows on a square 4x4 plane", quarters((4, 4)), 2)
    pooled("a 5x7 plane pooled with kernel 2: its last row and column belong to no window", quarters((5, 7)), 2,
           on_error=_ON_ERROR_REMAINDER)
    pooled("kernel 3, stride 3 on a 6x9 plane", quarters((6, 9)), 3)
    peaks = quarters((7, 7)) / 2  # everything below 7.5
    peaks[2, 2], peaks[4, 5] = 9.5, 8.75  # (2, 2) wins four windows, (4, 5) two
    shared = pooled("overlapping windows (kernel 3, stride 2): the pooled maxima, two switches shared", peaks, 3, 2)
    add("overlapping windows (kernel 3, stride 2) with other values, e.g. a gradient: at a shared switch any one "
        "of them is right", [[1.5, -2.25, 0.75], [3.5, 2.0, -1.25], [0.5, 4.25, -3.0]], shared, peaks.shape,
        adding=_ADDED_OTHER)
    return cases


def _compare(got, case) -> bool:
    """Right: ``case.expected`` everywhere, except that a shared switch may hold any one of its values."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    if got.shape != case.expected.shape:
        return False
    flat, expected = got.ravel(), case.expected.ravel()
    fixed = np.ones(flat.size, dtype=bool)
    fixed[list(case.shared)] = False
    if not np.allclose(flat[fixed], expected[fixed], rtol=1e-9, atol=1e-9):
        return False
    return all(np.isclose(flat[s], allowed, rtol=1e-9, atol=1e-9).any() for s, allowed in case.shared.items())


def _explain_shape(got, case):
    """Words for an answer of the wrong shape that no modelled mistake gives, else None."""
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    values = case.args[0]
    if got is None or arr.shape == case.expected.shape:
        return None
    if arr.shape == case.expected.shape[::-1]:
        return (f"your plane has the shape {arr.shape}, output_shape the other way round: it is (H, W), rows first, "
                f"like numpy's shapes, and a switch s is row * W + col. (Did you return the plane transposed?)")
    if arr.shape == (2 * values.shape[0], 2 * values.shape[1]):
        return _TWICE
    if arr.shape == values.shape:
        return (f"your output has the shape of values, {values.shape}: unpooling returns the plane before pooling, "
                f"of output_shape {case.expected.shape}, with each value written at its switch.")
    if arr.size == case.expected.size:
        return (f"your output has the right number of entries, {arr.size}, in the shape {arr.shape}: return the "
                f"plane of output_shape {case.expected.shape} (reshape a flat array with .reshape(output_shape)).")
    return None


#: The exercise is the whole of unpooling: no poolviz pooling, unpooling or backward inside it.
_UNPOOL_POLICY = Policy()


def check_max_unpool(fn) -> CheckResult:
    """Check a learner's ``max_unpool(values, switches, output_shape)`` for one 2-d plane.

    Parameters
    ----------
    fn : callable or None
        ``fn(values, switches, output_shape)`` with ``values`` of shape (H_out, W_out) (float), ``switches`` of
        the same shape (int64, flat indices ``row * W + col``, as ``max_pool2d(..., return_indices=True)``
        gives them) and ``output_shape`` a tuple (H, W). Returns the plane of shape (H, W): zeros, with
        ``values[i, j]`` written at the switch of output indices (i, j).

    Returns
    -------
    CheckResult
        Cases: one window; a plane wider than tall; a square plane; a plane with a row and column no window
        covered; kernel 3; overlapping windows sharing switches, with the pooled maxima (the value itself is
        right) and with other values (any one of the values that share a switch is right, not their sum).

    Honesty: a case in which ``fn`` calls poolviz's unpooling, backward, pooling or routing fails with that
    reason (none of them is needed: the switches are given).
    """
    return _run("check_max_unpool", fn, _unpool_cases(), "plane", _STUB, compare=_compare,
                explain=_explain_shape, policy=_UNPOOL_POLICY)
