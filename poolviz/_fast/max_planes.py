"""Max pooling of larger inputs, behind the wall: blocks of planes, stride-phase planes, switch indices.

:func:`max_by_planes` computes what :func:`poolviz.max_pool.max_by_offsets` does (the first maximum of
every window, NaN propagating) in far fewer numpy passes over memory:

* it takes the input in blocks of whole (H, W) planes of about ``block_bytes``, so that the 10-20 passes
  over one block read it from the CPU's cache rather than from memory;
* each pass is a contiguous one over a flat array (numpy pays ~30 ns for every row of a strided view, and
  rows here are ~30 elements): a window is computed at every position, including where none starts, and
  the window starts are picked at the end with one strided view;
* "first maximum" is found with cheap uint8 arithmetic on running codes (:func:`first_max`), not masked
  stores, which measured ~30x slower;
* windows that tile the input take a columns-first path (:mod:`poolviz._fast.max_tiles`).

The switch indices (``row * W + col``) are formed in uint16 where a plane's positions fit, then widened.
"""
from __future__ import annotations

import functools

import numpy as np

from ..geometry import PoolGeometry
from ..windows import index_tables, offset_view, pad_to_windows
from .first_max import first_max
from .max_tiles import max_by_tiles, tiles_apply

__all__ = ["max_by_planes"]


def max_by_planes(x: np.ndarray, geom: PoolGeometry, lowest, block_bytes: int, *, tiles: bool,
                  indices: bool = True):
    """Window maxima and, if ``indices``, the flat index (int64) of each window's first maximum.

    ``x`` is (..., H, W); both results are (..., H_out, W_out) (indices None if not asked for). ``tiles``
    allows the columns-first path where the windows tile the input. The rule is max pooling's own: the
    first maximum in row-major window order (its sign of zero too); a window whose real elements all equal
    the padding value (-inf) points at its first real element; NaN wins, the last one in window order.
    """
    H, W = geom.in_shape
    out_shape = x.shape[:-2] + geom.out_shape
    planes = x.reshape((-1, H, W))
    values = np.empty((planes.shape[0],) + geom.out_shape, dtype=x.dtype)
    switches = np.empty(values.shape, dtype=np.int64) if indices else None
    first_code = index_tables(geom)[2]
    use_tiles = tiles and tiles_apply(geom)
    step = max(1, block_bytes // (H * W * x.dtype.itemsize))
    for start in range(0, planes.shape[0], step):
        block = slice(start, start + step)
        xp = pad_to_windows(planes[block], geom, lowest)
        if use_tiles:
            best, jh, jw = max_by_tiles(planes[block], geom, out=values[block])
        else:
            best, jh, jw = _phase_plane_max(xp, geom, first_code)
            values[block] = best
        if x.dtype.kind == "f":
            nan_windows = np.isnan(values[block])
            if nan_windows.any():  # the last NaN in window order, as in PyTorch's CPU kernel
                jh, jw = np.array(jh), np.array(jw)  # writable copies (either may be a broadcast view)
                for row, col in geom.offsets():
                    hit = nan_windows & np.isnan(offset_view(xp, geom, row, col))
                    jh[hit], jw[hit] = row, col
        if indices:
            _switch_indices(jh, jw, geom, out=switches[block])
    return values.reshape(out_shape), None if switches is None else switches.reshape(out_shape)


def _switch_indices(jh, jw, geom: PoolGeometry, out: np.ndarray) -> np.ndarray:
    """Into ``out`` (int64): flat index ``row * W + col`` of each window's element at kernel row ``jh``, column ``jw``.

    The index is formed in the smallest integer type that holds every flat position of a plane
    (uint16 up to 256 x 256), as each window's origin plus ``jh*dh*W + jw*dw``, then widened to int64
    in one cast: int64 passes cost four times as much memory traffic.
    """
    H, W = geom.in_shape
    small = np.uint16 if H * W <= 1 << 16 else np.int64
    # In uint16 everything is computed modulo 2**16: origins may be negative (windows that start in the
    # padding) and a step may not fit (a large dilation), but the sums, positions inside the plane, come
    # out right.
    wrap = (1 << 16) if small is np.uint16 else None
    row_step, col_step = geom.h.dilation * W, geom.w.dilation
    if wrap:
        row_step, col_step = row_step % wrap, col_step % wrap
    offset = np.multiply(jh, row_step, dtype=small)
    offset += np.multiply(jw, col_step, dtype=small) if col_step != 1 else jw
    offset += (_window_origins(geom, offset.shape, small) if offset.size <= 1 << 18
               else index_tables(geom)[0].astype(small, copy=False))
    np.copyto(out, offset)
    return out


@functools.lru_cache(maxsize=16)
def _window_origins(geom: PoolGeometry, shape, dtype) -> np.ndarray:
    """Flat index of each window's first element, repeated to ``shape`` (..., H_out, W_out), of ``dtype``.

    Read-only and cached: a block's worth, for :func:`_switch_indices` (adding an array of the same
    shape and type measured twice as fast as broadcasting one plane's).
    """
    origins = np.ascontiguousarray(np.broadcast_to(index_tables(geom)[0].astype(dtype), shape))
    origins.setflags(write=False)
    return origins


def _phase_plane_max(xp, geom, first_code):
    """Maxima, and the kernel row ``jh`` and column ``jw`` of each window's first maximum, for ``xp`` (planes, Hp, Wp).

    Two stages, along the rows and then across them. Row-major "first maximum" is lexicographic in
    (jh, jw): the first kernel row holding the window's maximum, and the first column of that row.
    Stage 1 finds each row segment's first maximum (its column code ``cw``); stage 2 the first row
    whose segment maximum beats all rows before it, carrying that row's ``cw`` along.

    The padded block is split into its stride-phase planes ``xp[:, rh::sh, rw::sw]``, each copied
    into a buffer of one common shape (planes, Hc, Wc). Kernel offset (jh, jw) then reads phase
    (rh, rw) = (jh*dh % sh, jw*dw % sw) at a fixed shift (qh, qw) = (jh*dh // sh, jw*dw // sw), which in
    the flattened buffer is the fixed shift ``qh*Wc + qw``. So both stages run on flat slices of
    the buffers: contiguous passes, without numpy's overhead on each short image row. They also
    compute "windows" at positions where no window starts (the last columns and rows of a
    plane, across plane boundaries); those are never read. The window starts are picked at the
    end with strided views.

    Windows that overlap share their stage-1 segments. Returns ``(best, jh, jw)``, shape
    (planes, H_out, W_out) each (views into the work arrays).
    """
    h, w = geom.h, geom.w
    n, Hp, Wp = xp.shape
    Hc, Wc = -(-Hp // h.stride), -(-Wp // w.stride)
    qh, rh = zip(*(divmod(j * h.dilation, h.stride) for j in range(h.kernel)))  # shift, phase of kernel row j
    qw, rw = zip(*(divmod(j * w.dilation, w.stride) for j in range(w.kernel)))
    code_type = first_code.dtype.type
    size = n * Hc * Wc
    phases = [(r, c) for r in sorted(set(rh)) for c in sorted(set(rw))]
    if (h.stride, w.stride) == (1, 1):
        planes = {(0, 0): np.ascontiguousarray(xp).reshape(-1)}
    else:  # one buffer for all phases: separate arrays measured twice as slow to fill
        buffer = np.empty((len(phases), n, Hc, Wc), dtype=xp.dtype)
        buffer[:, :, -1, :] = 0  # cells no window reads (a phase may be a row or column short): set only
        buffer[:, :, :, -1] = 0  # so that nothing is uninitialised
        planes = {}
        for plane, (r, c) in zip(buffer, phases):
            source = xp[:, r:: h.stride, c:: w.stride]
            plane[:, : source.shape[1], : source.shape[2]] = source
            planes[r, c] = plane.reshape(-1)
    length = size - max(qw)
    row_max, cw = {}, {}
    for r in sorted(set(rh)):
        columns = [planes[r, rw[j]][qw[j]: qw[j] + length] for j in range(w.kernel)]
        row_max[r], cw[r], _ = first_max(columns, code_type)
    length -= max(qh) * Wc
    rows = [row_max[rh[j]][qh[j] * Wc: qh[j] * Wc + length] for j in range(h.kernel)]
    cw_rows = [cw[rh[j]][qh[j] * Wc: qh[j] * Wc + length] for j in range(h.kernel)]
    best, jh, jw = first_max(rows, code_type, cw_rows)

    def window_starts(a):  # (planes, H_out, W_out) view of the positions where windows start
        if a.strides == (0,):  # a one-element kernel axis: the code is 0 everywhere
            return np.zeros((n, h.out, w.out), dtype=a.dtype)
        step = a.itemsize
        return np.ndarray((n, h.out, w.out), a.dtype, a, strides=(Hc * Wc * step, Wc * step, step))

    best, jh, jw = window_starts(best), window_starts(jh), window_starts(jw)
    if first_code.any():  # windows starting in padding: nothing beats their first real element
        jh = np.maximum(jh, h.inside().argmax(axis=1).astype(code_type)[:, None])
        jw = np.maximum(jw, w.inside().argmax(axis=1).astype(code_type)[None, :])
    return best, jh, jw


