"""Strided window views over a padded array: the vectorised machinery behind every op.

A pooling op visits its ``kh * kw`` kernel offsets in row-major order. For offset
``(jh, jw)``, :func:`offset_view` is the ``(..., H_out, W_out)`` view of element
``(jh, jw)`` of every window at once, so one numpy pass per offset handles all windows
(small inputs of average pooling, the smooth pools, and every backward that spreads a
gradient over a window). Large inputs go in blocks of planes (``BLOCK_BYTES``) through faster
paths that add the same numbers in the same order: :mod:`poolviz._dense` for average pooling,
and max pooling's own two-stage forward in :mod:`poolviz.max_pool`; max pooling's backward
routes with :func:`route_indices`.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .geometry import PoolGeometry

#: Input bytes per block of planes for the large-input paths: every pass over one block then reads it
#: from the CPU's cache (2 MB of L2 per core on the machine the benchmarks ran on), not from memory.
BLOCK_BYTES = 1 << 20


def pad_to_windows(x: np.ndarray, geom: PoolGeometry, fill) -> np.ndarray:
    """Pad (or crop) the last two axes so that every window lies inside; element [..., 0, 0] is input (-ph, -pw).

    Returns ``x`` itself when no padding or cropping is needed.
    """
    (top, bottom), (left, right) = _padded_extents(geom)
    if bottom < 0:
        x = x[..., : x.shape[-2] + bottom, :]
        bottom = 0
    if right < 0:
        x = x[..., :, : x.shape[-1] + right]
        right = 0
    if top == bottom == left == right == 0:
        return x
    out = np.full(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right), fill, dtype=x.dtype)
    out[..., top: top + x.shape[-2], left: left + x.shape[-1]] = x
    return out


@functools.lru_cache(maxsize=256)
def _padded_extents(geom: PoolGeometry):
    return geom.h.padded_extent, geom.w.padded_extent


def offset_view(xp: np.ndarray, geom: PoolGeometry, jh: int, jw: int) -> np.ndarray:
    """View of element ``(jh, jw)`` of every window in the padded array ``xp``, shape (..., H_out, W_out)."""
    return xp[_offset_slices(geom)[jh][jw]]


@functools.lru_cache(maxsize=256)
def _offset_slices(geom: PoolGeometry):
    """``[jh][jw]``: the index of :func:`offset_view` (cached: small inputs are dominated by such overheads)."""
    h, w = geom.h, geom.w
    rows = [slice(jh * h.dilation, jh * h.dilation + h.stride * (h.out - 1) + 1, h.stride) for jh in range(h.kernel)]
    cols = [slice(jw * w.dilation, jw * w.dilation + w.stride * (w.out - 1) + 1, w.stride) for jw in range(w.kernel)]
    return [[(Ellipsis, r, c) for c in cols] for r in rows]


def code_dtype(geom: PoolGeometry):
    """Smallest dtype that holds a window offset code ``jh * kw + jw`` (unsigned up to 65536 codes)."""
    n = geom.h.kernel * geom.w.kernel
    return np.uint8 if n <= 256 else (np.uint16 if n <= 65536 else np.int64)


@functools.lru_cache(maxsize=256)
def window_tables(geom: PoolGeometry):
    """Per-geometry constants, cached (read-only arrays).

    Returns ``(base, table, first_code, gather, padding_slot, has_padding)``: ``base`` (H_out, W_out) flat index of each
    window's origin, ``table`` (kh*kw,) flat offset of each code, so that ``index = base + table[code]``;
    ``first_code`` (H_out, W_out) the code of each window's first non-padding element; ``gather``
    (H_out*W_out, kh*kw) flat index of every window element (``H*W`` for padding) and ``padding_slot``, its
    padding mask (and whether any window has padding), for the small-input path.
    """
    h, w = geom.h, geom.w
    H, W = geom.in_shape
    base = (h.starts[:, None] * W + w.starts[None, :]).astype(np.int64)
    jh, jw = np.divmod(np.arange(h.kernel * w.kernel), w.kernel)
    table = (jh * h.dilation * W + jw * w.dilation).astype(np.int64)
    first_code = h.inside().argmax(axis=1)[:, None] * w.kernel + w.inside().argmax(axis=1)[None, :]
    rows, cols = h.coords()[:, None, :, None], w.coords()[None, :, None, :]
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    gather = np.where(inside, rows * W + cols, H * W).reshape(h.out * w.out, -1)
    padding_slot = ~inside.reshape(h.out * w.out, -1)
    tables = (base, table, first_code.astype(code_dtype(geom)), gather, padding_slot)
    for t in tables:
        t.setflags(write=False)
    return tables + (bool(padding_slot.any()),)


def codes_to_indices(code: np.ndarray, geom: PoolGeometry) -> np.ndarray:
    """Flat input indices ``row * W + col`` (int64, unpadded coordinates) of each window's offset code."""
    base, table = window_tables(geom)[:2]
    flat = np.take(table, code)
    flat += base
    return flat


def crop_padding(xp: np.ndarray, geom: PoolGeometry) -> np.ndarray:
    """Inverse of :func:`pad_to_windows` for a gradient: the part of ``xp`` over the real input, zero-extended."""
    H, W = geom.in_shape
    top, left = geom.h.padding, geom.w.padding
    inner = xp[..., top: top + H, left: left + W]
    if inner.shape[-2:] == (H, W):
        return inner
    out = np.zeros(xp.shape[:-2] + (H, W), dtype=xp.dtype)  # the cropped tail received no gradient
    out[..., : inner.shape[-2], : inner.shape[-1]] = inner
    return out


@functools.lru_cache(maxsize=256)
def _phases(geom: PoolGeometry):
    """For each offset (jh, jw): its phase ``(rh, rw)`` and shift ``(qh, qw)``, and whether another offset shares the phase."""
    h, w = geom.h, geom.w
    phase = {}
    for jh, jw in geom.offsets():
        qh, rh = divmod(jh * h.dilation, h.stride)
        qw, rw = divmod(jw * w.dilation, w.stride)
        phase[jh, jw] = (rh, rw), (qh, qw)
    counts: dict = {}
    for key, _ in phase.values():
        counts[key] = counts.get(key, 0) + 1
    shared = {offset: counts[key] > 1 for offset, (key, _) in phase.items()}
    return phase, shared


class PhasePlanes:
    """Write targets for per-offset contributions, accumulated in contiguous stride-phase planes.

    With stride ``s``, kernel offset ``j`` touches padded positions ``o*s + j*d``: the phase
    ``(j*d) % s`` plane, shifted by ``(j*d) // s``. When several offsets share a phase (overlapping
    windows), accumulating in one contiguous plane makes each pass a fast contiguous one; a phase
    used by a single offset is written through a strided view instead.
    """

    def __init__(self, xp: np.ndarray, geom: PoolGeometry):
        self.xp, self.geom = xp, geom
        self.phase, self.shared_phase = _phases(geom)
        self.planes: dict = {}

    def shared(self, jh: int, jw: int) -> bool:
        """Does offset (jh, jw) share its phase plane with another offset?"""
        return self.shared_phase[jh, jw]

    def target(self, jh: int, jw: int) -> np.ndarray:
        """Where offset (jh, jw)'s contribution goes, (..., H_out, W_out); call :meth:`flush` when done."""
        if not self.shared(jh, jw):
            return offset_view(self.xp, self.geom, jh, jw)
        (rh, rw), (qh, qw) = self.phase[jh, jw]
        if (rh, rw) not in self.planes:
            self.planes[(rh, rw)] = np.zeros_like(self.xp[..., rh:: self.geom.h.stride, rw:: self.geom.w.stride])
        return self.planes[(rh, rw)][..., qh: qh + self.geom.h.out, qw: qw + self.geom.w.out]

    def flush(self) -> np.ndarray:
        """Write the contiguous planes back into the padded array and return it."""
        for (rh, rw), plane in self.planes.items():
            self.xp[..., rh:: self.geom.h.stride, rw:: self.geom.w.stride] = plane
        return self.xp


def scatter_offsets(values_for_offset, geom: PoolGeometry, lead_shape, dtype) -> np.ndarray:
    """Accumulate per-offset contributions into an input-shaped gradient.

    ``values_for_offset(jh, jw)`` returns the (..., H_out, W_out) contribution of offset (jh, jw).
    Offsets are visited in *reverse* row-major order so that each input
    receives its contributions in increasing output order, the order PyTorch's CPU kernels add
    them: float results are then bit-identical even where windows overlap.
    """
    (top, bottom), (left, right) = _padded_extents(geom)
    Hp, Wp = geom.h.length + top + bottom, geom.w.length + left + right
    planes = PhasePlanes(np.zeros(tuple(lead_shape) + (Hp, Wp), dtype=dtype), geom)
    zero = np.zeros((), dtype=dtype)
    for jh in reversed(range(geom.h.kernel)):
        for jw in reversed(range(geom.w.kernel)):
            contribution = values_for_offset(jh, jw)
            target = planes.target(jh, jw)
            if planes.shared(jh, jw):
                target += contribution
            else:  # the only offset in its phase: one contribution per position, added to zero as PyTorch
                np.add(contribution, zero, out=target)  # does, which turns a -0.0 into +0.0
    return crop_padding(planes.flush(), geom)


def route_indices(g: np.ndarray, indices: np.ndarray, in_shape) -> np.ndarray:
    """Add each output's gradient ``g`` (..., H_out, W_out) at its flat ``indices`` (``row * W + col``).

    One ``np.add.at`` over the indices in output order: unbuffered, so repeated indices accumulate,
    and in the order PyTorch's CPU kernel adds them, so float32 sums match bit for bit. (A buffered
    ``dx.flat[idx] += g`` would keep only one of the repeated contributions.) This measured faster
    than one masked pass per kernel offset, even without overlaps. Large inputs go in blocks of
    planes (``BLOCK_BYTES``), so that a block's indices, read once for their range check, are still
    in the cache for the scatter.
    """
    H, W = in_shape
    lead = g.shape[:-2]
    n_planes, n_out = math.prod(lead), math.prod(g.shape[-2:])
    step = max(1, BLOCK_BYTES // (H * W * g.dtype.itemsize))
    dx = np.zeros(lead + (H, W), dtype=g.dtype)  # (zeroed by the OS or in one pass: faster than block by block)
    if n_planes <= step:  # one block: a single scatter, and few numpy calls for a small input
        flat = _checked_range(indices.reshape(n_planes, n_out), in_shape)
        if n_planes > 1:
            flat = flat + np.arange(0, n_planes * H * W, H * W, dtype=np.int64)[:, None]
        np.add.at(dx.reshape(-1), flat.reshape(-1), g.reshape(-1))
        return dx
    dx_planes, g_planes = dx.reshape(n_planes, H * W), g.reshape(n_planes, n_out)
    index_planes = indices.reshape(n_planes, n_out)
    plane_start = np.arange(min(step, n_planes), dtype=np.int64)[:, None] * (H * W)
    for start in range(0, n_planes, step):
        block = slice(start, start + step)
        target = dx_planes[block]
        flat = _checked_range(index_planes[block], in_shape) + plane_start[: target.shape[0]]
        np.add.at(target.reshape(-1), flat.reshape(-1), g_planes[block].reshape(-1))
    return dx


def _checked_range(indices: np.ndarray, in_shape) -> np.ndarray:
    """``indices`` (int64), after checking that each is a flat position ``0 <= i < H * W`` of the plane."""
    size = math.prod(in_shape)
    if indices.size and indices.view(np.uint64).max() >= size:  # one pass: a negative index is huge unsigned
        bad = int(indices.min()) if indices.min() < 0 else int(indices.max())
        raise ValueError(f"indices must lie in 0..{size - 1} (flat positions in a plane of shape {tuple(in_shape)}), "
                         f"found {bad}; pass the indices returned by the forward call on this x.")
    return indices


def indices_to_codes(indices, geom: PoolGeometry, lead_shape) -> np.ndarray:
    """Inverse of :func:`codes_to_indices`, checking that every index lies inside its own window."""
    idx = np.asarray(indices)
    expected = tuple(lead_shape) + geom.out_shape
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices must be an integer array (from the forward pass), got dtype {idx.dtype}.")
    if idx.shape != expected:
        raise ValueError(f"indices has shape {idx.shape}, but the forward output has shape {expected}; "
                         f"pass the indices returned by the same forward call.")
    h, w = geom.h, geom.w
    row, col = np.divmod(idx.astype(np.int64), w.length)
    jh, rh = np.divmod(row - h.starts[:, None], h.dilation)
    jw, rw = np.divmod(col - w.starts[None, :], w.dilation)
    ok = (rh == 0) & (rw == 0) & (jh >= 0) & (jh < h.kernel) & (jw >= 0) & (jw < w.kernel) & (idx >= 0)
    ok &= row < h.length
    if not ok.all():
        where = tuple(int(i) for i in np.argwhere(~ok)[0])
        raise ValueError(f"indices[{where}] = {int(idx[where])} does not point inside its own pooling window; "
                         f"pass the indices returned by the forward call with the same kernel_size and stride.")
    return (jh * w.kernel + jw).astype(code_dtype(geom))
