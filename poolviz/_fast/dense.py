"""Average pooling's sums and their adjoint for large inputs: contiguous passes over blocks of planes.

numpy's ufuncs pay ~30 ns for each row of a strided (H_out, W_out) view, and rows are short here (~30
elements), so these paths make every pass a contiguous one instead. A block of whole planes (about
half of ``block_bytes``, so that its passes read from the cache) is laid out as one or more flat row-phase
arrays (:class:`_DenseLayout`); adding the array moved back by one kernel offset's shift, for every
offset in row-major window order, leaves at each position ``p`` the sum of the window that would start
at ``p``. That computes sums where no window starts too (wasted, never read), but every pass is one
long contiguous loop. :func:`dense_spread` is the adjoint, for the backward.

The numbers added, and their order, are those of the per-offset loops in :mod:`poolviz.avg_pool`, so
float results are bit-identical to them (and to PyTorch's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..geometry import PoolGeometry
from ..windows import pad_to_windows

__all__ = ["dense_layout", "dense_spread", "dense_window_sum"]

#: The dense paths compute a window at every position of a row-phase array (see :class:`_DenseLayout`),
#: ``sh / split * sw`` times as many as there are windows: worth it up to this factor, as every pass is then
#: contiguous (a strided pass over rows of ``W_out`` elements costs numpy ~30 ns a row: at ``W_out`` ~ 30,
#: as much as 4-5 contiguous passes).
_DENSE_MAX_WASTE = 4
#: Splitting the rows into ``sh`` phase arrays costs about two contiguous passes (copying rows in or out)
#: and makes every other pass ``sh`` times shorter: worth it from this many kernel elements.
_SPLIT_MIN_KERNEL = 5


def _planes_per_block(n_planes: int, plane_bytes: int, block_bytes: int) -> int:
    """Whole planes per block, about ``block_bytes / 2`` (a dense path keeps about three arrays of that size in
    the cache): every pass over one block then reads it from the cache."""
    return max(1, min(n_planes, block_bytes // 2 // plane_bytes))


@dataclass(frozen=True)
class _DenseLayout:
    """How the dense paths lay out a block of b padded (Hp, Wp) planes: as ``split`` row-phase arrays.

    Phase array ``a`` holds the padded rows ``a, a + split, ...`` of every plane, ``rows`` rows a plane
    (zero rows fill the shorter phases), flattened: (b * rows * Wp,). ``split`` is 1 (the planes as they
    are) or ``sh``: then window row ``oh`` starts at row ``oh * sh / split`` of phase 0, and element
    ``(jh, jw)`` of every window lies in phase ``(jh*dh) % split``, :meth:`shift` positions further on.
    """

    geom: PoolGeometry
    split: int
    rows: int
    Hp: int
    Wp: int

    @classmethod
    def choose(cls, geom: PoolGeometry, rows: str = "auto") -> _DenseLayout | None:
        """The layout for ``geom``, or None where the dense paths do not pay (one kernel element, large strides).

        ``rows``: "auto" splits the rows by stride phase from ``_SPLIT_MIN_KERNEL`` kernel elements;
        "as they are" or "split" force the choice.
        """
        h, w = geom.h, geom.w
        if rows == "auto":
            rows = "split" if h.kernel * w.kernel >= _SPLIT_MIN_KERNEL else "as they are"
        split = h.stride if rows == "split" else 1
        if h.kernel * w.kernel == 1 or h.stride // split * w.stride > _DENSE_MAX_WASTE:
            return None
        (top, bottom), (left, right) = h.padded_extent, w.padded_extent
        Hp, Wp = h.length + top + bottom, w.length + left + right
        return cls(geom, split, -(-Hp // split), Hp, Wp)

    @property
    def plane_size(self) -> int:
        return self.rows * self.Wp

    def phase(self, jh: int) -> int:
        """The row-phase array of kernel row ``jh``."""
        return jh * self.geom.h.dilation % self.split

    def phase_rows(self, a: int) -> int:
        """How many padded rows of a plane phase ``a`` holds (``rows`` or one less)."""
        return len(range(a, self.Hp, self.split))

    def shift(self, jh: int, jw: int) -> int:
        """Distance from a window's start to its element (jh, jw), in positions of a phase array."""
        return jh * self.geom.h.dilation // self.split * self.Wp + jw * self.geom.w.dilation

    def window_starts(self, flat: np.ndarray, b: int) -> np.ndarray:
        """View (b, H_out, W_out) of the window starts in ``flat``, b planes of phase 0."""
        h, w = self.geom.h, self.geom.w
        row_step = h.stride // self.split
        planes = flat[: b * self.plane_size].reshape(b, self.rows, self.Wp)
        return planes[:, : (h.out - 1) * row_step + 1: row_step, : (w.out - 1) * w.stride + 1: w.stride]


def _per_plane(divisor: np.ndarray) -> np.ndarray:
    """``divisor`` (H_out, W_out) as an operand for planes flattened to (b, H_out * W_out): one number if all
    are equal (the usual case), else flattened. numpy broadcasts a (H_out, W_out) array over (b, H_out, W_out)
    one short row at a time, at ~30 ns a row: slower than the division itself."""
    flat = divisor.reshape(-1)
    return flat[0] if flat.size and (flat == flat[0]).all() else flat


def _divide(sums: np.ndarray, divisor, out: np.ndarray) -> np.ndarray:
    """``out = sums / divisor``, both (b, H_out, W_out), ``divisor`` from :func:`_per_plane` (None: a copy)."""
    if divisor is None:
        np.copyto(out, sums)
    elif np.ndim(divisor) == 0:
        np.divide(sums, divisor, out=out)
    else:
        flat = np.divide(np.ascontiguousarray(sums).reshape(sums.shape[0], -1), divisor)
        np.copyto(out, flat.reshape(sums.shape))
    return out


def _add_in_order(terms, out: np.ndarray) -> np.ndarray:
    """``out = ((terms[0] + terms[1]) + terms[2]) + ...``: equally shaped arrays, added left to right."""
    if len(terms) == 1:
        np.copyto(out, terms[0])
        return out
    np.add(terms[0], terms[1], out=out)
    for term in terms[2:]:
        out += term
    return out


def dense_layout(geom: PoolGeometry, rows: str = "auto"):
    """The layout the dense paths use for ``geom``, or None where they do not pay (one kernel element,
    large strides). ``rows``: "auto", "as they are" or "split" (by stride phase)."""
    return _DenseLayout.choose(geom, rows)


def dense_window_sum(x: np.ndarray, geom: PoolGeometry, layout: _DenseLayout, divisor=None, *,
                     block_bytes: int) -> np.ndarray:
    """Window sums of ``x`` (..., H, W), divided by ``divisor`` (H_out, W_out) if given: (..., H_out, W_out).

    Like a sum that starts at 0, as PyTorch's do: the first two elements are added directly, and the 0
    at the end (``0 + x`` is ``x`` except for -0.0, and a sum that starts at +0.0 never becomes -0.0),
    so a window of -0.0s sums to +0.0.
    """
    H, W = geom.in_shape
    planes = x.reshape((-1, H, W))
    out = np.empty((planes.shape[0],) + geom.out_shape, dtype=x.dtype)
    step = _planes_per_block(planes.shape[0], H * W * x.dtype.itemsize, block_bytes)
    phases = np.zeros((layout.split if layout.split > 1 else 0, step * layout.plane_size), dtype=x.dtype)
    sums = np.empty(step * layout.plane_size, dtype=x.dtype)
    divisor = None if divisor is None else _per_plane(divisor)
    # inf + -inf is NaN, as in PyTorch, silently (also where no window starts: those sums are dropped)
    with np.errstate(invalid="ignore", over="ignore"):
        for start in range(0, planes.shape[0], step):
            xp = pad_to_windows(planes[start: start + step], geom, 0)
            block = np.add(_dense_window_sum(xp, layout, phases, sums), 0, out=out[start: start + step])
            _divide(block, divisor, out=block)
    return out.reshape(x.shape[:-2] + geom.out_shape)


def _dense_window_sum(xp: np.ndarray, layout: _DenseLayout, phases: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Window sums of the padded planes ``xp`` (b, Hp, Wp), as a (b, H_out, W_out) view into ``sums``.

    numpy pays ~30 ns for each row of a strided (H_out, W_out) view, so instead every pass is a contiguous
    one over a phase array: for each kernel offset, in row-major window order, add the array of that
    offset moved back by its :meth:`~_DenseLayout.shift`. Position ``p`` of phase 0 then holds the sum of
    the window that would start at ``p``, for every ``p`` (those that run off a row or a plane are garbage,
    never read); the window starts are one strided view at the end.

    ``phases`` (split, >= b * rows * Wp) receives the row phases when ``split > 1`` (its zero rows stay
    zero); ``sums`` is 1-d, at least b * rows * Wp long. Both of xp's dtype.
    """
    b = xp.shape[0]
    size = b * layout.plane_size
    geom = layout.geom
    if layout.split == 1:
        arrays = [np.ascontiguousarray(xp).reshape(-1)]
    else:
        arrays = [phases[a, :size] for a in range(layout.split)]
        for a in {layout.phase(jh) for jh in range(geom.h.kernel)}:
            arrays[a].reshape(b, layout.rows, layout.Wp)[:, : layout.phase_rows(a)] = xp[:, a:: layout.split]
    terms = [(arrays[layout.phase(jh)], layout.shift(jh, jw)) for jh, jw in geom.offsets()]
    n = size - terms[-1][1]  # the last offset moves furthest
    _add_in_order([array[shift: shift + n] for array, shift in terms], out=sums[:n])
    return layout.window_starts(sums, b)


def dense_spread(per_window: np.ndarray, geom: PoolGeometry, layout: _DenseLayout, divisor=None, *,
                 block_bytes: int) -> np.ndarray:
    """``per_window / divisor`` (..., H_out, W_out) added to every element of its window: (..., H, W).

    Each input adds its contributions to 0 in increasing output order, as PyTorch does.
    """
    H, W = geom.in_shape
    windows = per_window.reshape((-1,) + geom.out_shape)
    dx = np.empty((windows.shape[0], H, W), dtype=per_window.dtype)
    step = _planes_per_block(windows.shape[0], H * W * dx.dtype.itemsize, block_bytes)
    buffers = _SpreadBuffers(layout, step, dx.dtype)
    divisor = None if divisor is None else _per_plane(divisor)
    for start in range(0, windows.shape[0], step):
        _dense_spread(windows[start: start + step], divisor, buffers, out=dx[start: start + step])
    return dx.reshape(per_window.shape[:-2] + (H, W))


class _SpreadPlan(NamedTuple):
    """The views :func:`_dense_spread` works with, for blocks of ``b`` planes (built once per block size).

    ``starts`` (b, H_out, W_out) is where the gradients go; ``row_sum`` is formed by adding ``row_terms``
    in order. Each phase is ``(terms, target, rows, index)``: its terms are added in order into ``target``
    (None for a single term), then ``out[index] = rows``, the part of ``target`` (or of the single term)
    on the input. With one phase that is the input itself, ``index`` is None and the terms are added
    straight into ``out``. ``fill``: zero ``out`` first, as some inputs get no gradient.
    """

    starts: np.ndarray
    row_terms: list
    row_sum: np.ndarray
    phases: list
    fill: bool


class _SpreadBuffers:
    """Work arrays for :func:`_dense_spread`: blocks of up to ``b`` planes in ``layout``, flattened.

    Each has a margin of leading zeros, so that moving it on by up to the margin is a plain slice:

    * ``starts``: the gradients at their window starts, zero elsewhere; margin: the largest shift. Only
      the window starts are written, so the zeros stay zero block after block.
    * ``row_sum``: ``starts`` summed over the kernel columns; margin: the largest shift of a kernel row.

    ``phases`` (split, b * rows * Wp) receives each row phase's gradient (or, with one phase, the padded
    gradient) when it must be copied into the input's rows; None when it is the input itself.

    ``zero_added_first``: every input's sum begins with ``row_sum``'s first addition, of two ``starts``
    ``dw`` apart, which cannot both be window starts when ``sw`` does not divide ``dw``: each gradient is
    then added to a +0.0 of the zero fill before anything else, and a -0.0 becomes +0.0, as in PyTorch
    (which adds every gradient to a zero). Otherwise the gradients are made +0.0-or-nonzero beforehand.
    """

    def __init__(self, layout: _DenseLayout, b: int, dtype):
        geom = layout.geom
        size = b * layout.plane_size
        self.layout = layout
        self.starts_margin = layout.shift(geom.h.kernel - 1, geom.w.kernel - 1)
        self.row_margin = layout.shift(geom.h.kernel - 1, 0)
        self.starts = np.zeros(self.starts_margin + size, dtype=dtype)
        self.row_sum = np.zeros(self.row_margin + size, dtype=dtype)
        in_place = layout.split == 1 and (layout.Hp, layout.Wp) == geom.in_shape and not (
            geom.h.padding or geom.w.padding)
        self.phases = None if in_place else np.empty((layout.split, size), dtype=dtype)
        self.zero_added_first = geom.w.kernel > 1 and geom.w.dilation % geom.w.stride != 0
        self._plans: dict = {}

    def shifted_starts(self, shift: int, n: int) -> np.ndarray:
        """``starts`` moved on by ``shift``: element ``p`` is the gradient of the window starting at ``p - shift``."""
        return self.starts[self.starts_margin - shift:][:n]

    def shifted_row_sum(self, shift: int, n: int) -> np.ndarray:
        """``row_sum`` moved on by ``shift``."""
        return self.row_sum[self.row_margin - shift:][:n]

    def plan(self, b: int) -> _SpreadPlan:
        """The views for a block of ``b`` planes; see :func:`_dense_spread` for the order of the terms."""
        if b not in self._plans:
            self._plans[b] = self._make_plan(b)
        return self._plans[b]

    def _make_plan(self, b: int) -> _SpreadPlan:
        layout = self.layout
        h, w = layout.geom.h, layout.geom.w
        n = b * layout.plane_size
        row_terms = [self.shifted_starts(jw * w.dilation, n) for jw in reversed(range(w.kernel))]
        terms: dict = {}  # phase -> its terms, in the order they are added
        rows_seen = set()
        for jh in reversed(range(h.kernel)):
            phase_terms = terms.setdefault(layout.phase(jh), [])
            if jh * h.dilation % h.stride not in rows_seen:
                rows_seen.add(jh * h.dilation % h.stride)
                phase_terms.append(self.shifted_row_sum(layout.shift(jh, 0), n))
            else:
                phase_terms += [self.shifted_starts(layout.shift(jh, jw), n) for jw in reversed(range(w.kernel))]
        phases = []
        for a, phase_terms in terms.items():
            if self.phases is None:  # one phase, the padded planes are the input's: add straight into out
                phases.append((phase_terms, None, None, None))
                continue
            target = None if len(phase_terms) == 1 else self.phases[a, :n]
            rows = (phase_terms[0] if target is None else target).reshape(b, layout.rows, layout.Wp)
            phases.append((phase_terms, target) + _unpadded_rows(rows, a, layout))
        starts = layout.window_starts(self.starts[self.starts_margin:], b)
        fill = self.phases is not None and not _covers_input(layout, terms)
        return _SpreadPlan(starts, row_terms, self.row_sum[self.row_margin:][:n], phases, fill)


def _dense_spread(g: np.ndarray, divisor, buffers: _SpreadBuffers, out: np.ndarray) -> np.ndarray:
    """Spread ``v = g / divisor`` (b, H_out, W_out) over its windows into ``out`` (b, H, W), in contiguous passes.

    The adjoint of :func:`_dense_window_sum`: with ``v`` at the window starts, zero elsewhere, an input
    receives, for every kernel offset, the value one shift before it; added for offsets in reverse
    row-major order, that is in increasing output order, as PyTorch adds them. The zeros in between add
    nothing, as no sum is -0.0 (see ``zero_added_first`` in :class:`_SpreadBuffers`).

    Fewer passes: a kernel row ``jh`` whose input rows ``oh*sh + jh*dh`` no larger (earlier visited) kernel
    row touches (its row phase ``jh*dh % sh`` is new) brings each of them all of one window row's
    contributions before any other's: one pass of ``row_sum``, the kernel columns' shifts summed once.
    A kernel row that shares its input rows adds its kernel columns one by one.
    """
    plan = buffers.plan(g.shape[0])
    if buffers.zero_added_first:
        _divide(g, divisor, out=plan.starts)
    else:  # PyTorch adds each gradient to a zero, which turns -0.0 into +0.0
        np.add(_divide(g, divisor, out=np.empty_like(g)), 0, out=plan.starts)
    _add_in_order(plan.row_terms, out=plan.row_sum)
    if plan.fill:
        out.fill(0)
    for terms, target, rows, index in plan.phases:
        if index is None:
            _add_in_order(terms, out=out.reshape(-1))
            continue
        if target is not None:
            _add_in_order(terms, out=target)
        if rows is not None:
            out[index] = rows
    return out


def _unpadded_rows(phase: np.ndarray, a: int, layout: _DenseLayout) -> tuple:
    """``(rows, index)``: the part of phase ``a`` (b, rows, Wp), the padded rows ``a, a + split, ...``, that
    lies on the input, and where it goes in the input-shaped (b, H, W) gradient; rows is None if nothing does."""
    H, W = layout.geom.in_shape
    step, top, left = layout.split, layout.geom.h.padding, layout.geom.w.padding
    skip = -(-max(0, top - a) // step)  # rows in the top padding
    y0 = a + skip * step - top
    count = min(layout.phase_rows(a) - skip, len(range(y0, H, step)))
    width = min(layout.Wp - left, W)
    if count <= 0:
        return None, ()
    index = (slice(None), slice(y0, y0 + (count - 1) * step + 1, step), slice(0, width))
    return phase[:, skip: skip + count, left: left + width], index


def _covers_input(layout: _DenseLayout, terms: dict) -> bool:
    """Do the phases cover every input element: a term in every phase, no unused tail of rows or columns?"""
    geom = layout.geom
    return (len(terms) == layout.split and layout.Hp - geom.h.padding >= geom.h.length
            and layout.Wp - geom.w.padding >= geom.w.length)
