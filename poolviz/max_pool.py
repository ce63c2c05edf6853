"""Max pooling, its gradient, and max unpooling, with PyTorch's exact semantics.

The rule, in one place:

* Each window's output is its largest element. Padding is -inf (the smallest integer for
  integer inputs), so padding never wins.
* **Ties**: the *first* maximum in row-major window order wins and receives the whole
  gradient (PyTorch and TensorFlow CPU do the same). Other tied entries receive nothing.
* **NaN** propagates: a window holding a NaN outputs NaN and its index points at a NaN
  (the last one in window order, as in PyTorch's CPU kernel).
* **Overlapping windows** (stride < kernel) accumulate: an input that is the maximum of
  three windows receives the sum of their three gradients.
* **Indices** are int64, flattened per plane as ``row * W + col`` in unpadded coordinates.
* Where PyTorch returns garbage poolviz raises instead: a window that holds only padding
  (possible with dilation and padding) is refused with a ValueError.

Shapes: ``x`` is ``(..., H, W)`` with any leading dimensions; the output is
``(..., H_out, W_out)`` with the sizes given in :mod:`poolviz.geometry`.
"""
from __future__ import annotations

import functools
import math
import sys

import numpy as np

from ._windows import BLOCK_BYTES, offset_view, pad_to_windows, route_indices, window_tables
from .geometry import PoolGeometry, _as_ints, check_array, check_grad_output, pool_geometry

__all__ = [
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool2d",
]


_SMALL = 1 << 15  # up to this many window elements, one gather + argmax beats the per-pass path
_TILES = sys.byteorder == "little"  # the non-overlapping path reads two uint8 row codes as one uint16


def _lowest(dtype) -> float | int:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def max_pool_switches(x: np.ndarray, geom: PoolGeometry, indices: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima and the flat index (``row * W + col``, int64) of each window's first maximum.

    Ties go to the first maximum in row-major window order (a strict ``>``); a window whose real
    elements all equal the padding value (-inf) points at its first non-padding element; a NaN
    wins, the last one in window order, as in PyTorch's CPU kernel.

    Large inputs are processed in blocks of whole (H, W) planes of about ``BLOCK_BYTES`` each, so
    that the several passes over one block read it from the CPU cache rather than from memory.

    Returns ``(values, indices)``, both of shape (..., H_out, W_out); for large inputs ``indices``
    is None unless asked for (they cost an int64 pass).
    """
    lowest = _lowest(x.dtype)
    _, _, first_code, gather, padding_slot, has_padding = window_tables(geom)
    if x.size * gather.shape[1] <= _SMALL:
        result = _max_pool_small(x, geom, lowest, gather, padding_slot, has_padding)
        if result is not None:
            return result
    H, W = geom.in_shape
    out_shape = x.shape[:-2] + geom.out_shape
    planes = x.reshape((-1, H, W))
    values = np.empty((planes.shape[0],) + geom.out_shape, dtype=x.dtype)
    switches = np.empty(values.shape, dtype=np.int64) if indices else None
    step = max(1, BLOCK_BYTES // (H * W * x.dtype.itemsize))
    for start in range(0, planes.shape[0], step):
        block = slice(start, start + step)
        xp = pad_to_windows(planes[block], geom, lowest)
        if _TILES and _tiles_apply(geom):
            best, jh, jw = _nonoverlapping_max(planes[block], geom, out=values[block])
        else:
            best, jh, jw = _phase_plane_max(xp, geom, first_code)
            values[block] = best
        if x.dtype.kind == "f":
            nan_windows = np.isnan(values[block])
            if nan_windows.any():
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
               else window_tables(geom)[0].astype(small, copy=False))
    np.copyto(out, offset)
    return out


@functools.lru_cache(maxsize=16)
def _window_origins(geom: PoolGeometry, shape, dtype) -> np.ndarray:
    """Flat index of each window's first element, repeated to ``shape`` (..., H_out, W_out), of ``dtype``.

    Read-only and cached: a block's worth, for :func:`_switch_indices` (adding an array of the same
    shape and type measured twice as fast as broadcasting one plane's).
    """
    origins = np.ascontiguousarray(np.broadcast_to(window_tables(geom)[0].astype(dtype), shape))
    origins.setflags(write=False)
    return origins


@functools.lru_cache(maxsize=None)
def _max_keeps_second(dtype) -> bool:
    """Does ``np.maximum(a, b)`` return ``b`` when a == b (+0.0 against -0.0)?

    numpy does not promise either: 2.4 returns ``b`` for float32 and float64 but ``a`` for float16.
    Asked once per dtype, with arrays long enough to take the vectorised loops.
    """
    if dtype.kind != "f":
        return True  # equal integers are the same number
    a, b = np.zeros(64, dtype), np.full(64, -0.0, dtype)
    return bool(np.signbit(np.maximum(a, b)).all())


def _tie_max(a, b, out=None):
    """``maximum(a, b)`` that returns ``b``, the earlier value, on a tie (its sign of zero); NaN propagates."""
    return np.maximum(a, b, out=out) if _max_keeps_second(np.result_type(a, b)) else np.maximum(b, a, out=out)


def _first_max(views, code_type, carried=None):
    """Running first strict maximum over equally shaped ``views``.

    Returns ``(best, position, chosen)``: the maximum, the index ``j`` of the first view holding it
    (0 where nothing beats the first view), and ``carried[position]`` if ``carried`` (a list like
    ``views``) is given. Positions only grow along the sequence, so "set to j where better" is
    ``maximum(position, better * j)``, and "take the carried value where better" is
    ``c ^ ((c ^ r) * better)``: cheap uint8 arithmetic instead of masked stores, which are ~30x
    slower here. :func:`_tie_max` keeps the earlier value on a tie (0.0 against -0.0), so ``best`` is
    always the element at ``position``. With a single view, ``position`` is a
    broadcast 0.
    """
    best, position = views[0], None
    chosen = carried[0] if carried is not None else None
    for j in range(1, len(views)):
        v = views[j]
        better = np.greater(v, best).view(np.uint8)
        best = _tie_max(v, best, out=None if j == 1 else best)  # j == 1: a new array, views[0] untouched
        step = better * code_type(j) if j > 1 else better.astype(code_type, copy=False)
        position = step if position is None else np.maximum(position, step, out=position)
        if carried is not None:
            flip = np.bitwise_xor(chosen, carried[j])
            flip *= better
            chosen = np.bitwise_xor(chosen, flip, out=None if j == 1 else chosen)
    if position is None:
        position = np.broadcast_to(code_type(0), best.shape)
    return best, position, chosen


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
        row_max[r], cw[r], _ = _first_max(columns, code_type)
    length -= max(qh) * Wc
    rows = [row_max[rh[j]][qh[j] * Wc: qh[j] * Wc + length] for j in range(h.kernel)]
    cw_rows = [cw[rh[j]][qh[j] * Wc: qh[j] * Wc + length] for j in range(h.kernel)]
    best, jh, jw = _first_max(rows, code_type, cw_rows)

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


@functools.lru_cache(maxsize=256)
def _tiles_apply(geom: PoolGeometry) -> bool:
    """Does :func:`_nonoverlapping_max` handle this geometry?

    Windows must tile the input: stride equal to the kernel, no dilation, no padding, no partial
    (ceil_mode) window, and from 2 x 2 to 256 x 256 elements (row and column codes are uint8).
    """
    return all(a.stride == a.kernel >= 2 and a.dilation == 1 and a.padding == 0 and a.padded_extent[1] <= 0
               for a in (geom.h, geom.w)) and geom.h.kernel <= 256 and geom.w.kernel <= 256


def _nonoverlapping_max(xb, geom, out):
    """:func:`_phase_plane_max` for windows that tile the input, columns first; ``xb`` is (planes, H, W).

    Stage 1 takes the first maximum down each column segment of a window (``kh`` rows). It runs
    over the block as one flat array, comparing each element with the ones ``W``, ``2W``, ...
    after it: that also computes segments that start on rows no window starts on, which are
    thrown away, but the passes are contiguous, and numpy's per-row overhead on the short image
    rows cost more than the extra work. The segments of the window rows are then split by kernel
    column (one copy), and stage 2 picks the winning column: the larger segment maximum or, on
    equal maxima, the segment whose maximum lies in an earlier row (row-major order: row first).

    Writes the maxima into ``out`` (planes, H_out, W_out); returns ``(out, jh, jw)``.
    """
    kh, kw = geom.h.kernel, geom.w.kernel
    n, H, W = xb.shape
    h_out, w_out = geom.h.out, geom.w.out
    flat = xb.reshape(-1)
    length = flat.size - (kh - 1) * W  # segments starting at every element that has kh - 1 rows below it
    seg_max, seg_row, _ = _first_max([flat[j * W: j * W + length] for j in range(kh)], np.uint8)

    def window_rows(a):  # (planes, H_out, W_out * kw) view: the segments that start on a window's top row
        step = a.itemsize  # all inside ``a``: the last is at (n-1)*H*W + (h_out-1)*kh*W + w_out*kw - 1 < length
        return np.ndarray((n, h_out, w_out * kw), a.dtype, a, strides=(H * W * step, kh * W * step, step))

    seg_max, seg_row = window_rows(seg_max), window_rows(seg_row)
    # (kw, planes, H_out, W_out): kernel column j of every window, contiguous and ours to overwrite
    cols = np.moveaxis(seg_max.reshape(n, h_out, w_out, kw), -1, 0).copy()
    if kw == 2:  # each window's two row codes side by side, read as one uint16: low byte left, high byte right
        return _two_column_max(cols, seg_row.view(np.uint16), out)
    row_codes = np.moveaxis(seg_row.reshape(n, h_out, w_out, kw), -1, 0).copy()
    best, jh, jw = cols[0], row_codes[0], None
    for j in range(1, kw):
        better = np.greater(cols[j], best)
        tie = np.equal(cols[j], best)
        if tie.any():
            tie &= np.less(row_codes[j], jh)  # equal maxima: the earlier row comes first in row-major order
            if tie.any():
                better |= tie
                np.copyto(best, cols[j], where=tie)  # the winner's own value (its sign of zero)
        best = _tie_max(cols[j], best, out=out if j == kw - 1 else best)  # keeps ``best`` on a tie
        taken = better.view(np.uint8)
        flip = np.bitwise_xor(jh, row_codes[j])
        flip *= taken
        jh ^= flip
        step = taken * np.uint8(j) if j > 1 else taken
        jw = step if jw is None else np.maximum(jw, step, out=jw)
    return best, jh, jw


def _two_column_max(cols, row_pair, out):
    """Stage 2 of :func:`_nonoverlapping_max` for two kernel columns; ``row_pair`` holds both row codes."""
    left, right = cols
    better = np.greater(right, left)
    tie = np.equal(right, left)
    if tie.any():
        tie &= np.less(row_pair >> 8, row_pair & 0xFF)  # equal maxima: the earlier row wins
        if tie.any():
            better |= tie
            np.copyto(left, right, where=tie)  # the winner's own value (its sign of zero)
    best = _tie_max(right, left, out=out)  # keeps ``left`` on a tie
    jw = better.view(np.uint8)
    jh = np.right_shift(row_pair, np.left_shift(jw, 3, dtype=np.uint16))  # the winning column's row code
    jh &= 0xFF
    return best, jh, jw


def _max_pool_small(x, geom, lowest, gather, padding_slot, has_padding):
    """:func:`max_pool_switches` for small inputs: gather every window, then ``argmax`` (the first maximum).

    Returns None when a window holds NaN (argmax picks the first NaN; PyTorch's rule is the last).
    """
    H, W = geom.in_shape
    n_windows, size = gather.shape
    planes = x.reshape(-1, H * W)
    if has_padding:  # padding slots point one past the plane: put the -inf (or lowest integer) there
        padded = np.empty((planes.shape[0], H * W + 1), dtype=x.dtype)
        padded[:, :-1] = planes
        padded[:, -1] = lowest
        planes = padded
    # position of each window's first maximum in the flattened (planes, H_out*W_out, kh*kw) windows
    one_plane = planes.shape[0] == 1
    windows = planes[0][gather] if one_plane else planes[:, gather]
    chosen = windows.argmax(axis=-1)
    chosen += _window_list_starts(geom)
    if not one_plane:
        chosen_flat = chosen + np.arange(0, windows.size, n_windows * size)[:, None]
    values = windows.reshape(-1)[chosen if one_plane else chosen_flat]
    if x.dtype.kind == "f" and np.isnan(values).any():
        return None
    indices = gather.reshape(-1)[chosen]
    if has_padding:  # a window whose real elements all equal -inf may have "chosen" padding
        chose_padding = padding_slot.reshape(-1)[chosen]
        if chose_padding.any():
            first_real = gather[np.arange(n_windows), (~padding_slot).argmax(axis=1)]
            indices = np.where(chose_padding, first_real, indices)
    out_shape = x.shape[:-2] + geom.out_shape
    return values.reshape(out_shape), indices.reshape(out_shape)


@functools.lru_cache(maxsize=256)
def _window_list_starts(geom: PoolGeometry) -> np.ndarray:
    """Where each window's elements start in the flattened (H_out*W_out, kh*kw) window list (cached)."""
    n_windows, size = window_tables(geom)[3].shape
    starts = np.arange(0, n_windows * size, size)
    starts.setflags(write=False)
    return starts


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-d max pooling over the last two axes, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : array_like of shape (..., H, W)
        Real numbers (integers keep their dtype; float32 stays float32).
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        Implicit -inf padding on both sides, at most ``kernel_size // 2``.
    dilation : int or (int, int)
        Spacing between window elements.
    ceil_mode : bool
        Round the output size up: a last, partial window that starts inside the input is kept.
    return_indices : bool
        Also return where each maximum came from.

    Returns
    -------
    y : ndarray of shape (..., H_out, W_out)
    indices : ndarray of int64, shape (..., H_out, W_out), only if ``return_indices``
        Flat position ``row * W + col`` of the (first) maximum within its (H, W) plane.
    """
    x = check_array(x)
    geom = pool_geometry(x.shape[-2:], kernel_size, stride, padding, dilation, ceil_mode)
    y, indices = max_pool_switches(x, geom, indices=return_indices)
    if return_indices:
        return y, indices
    return y



def max_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                        indices=None):
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    Parameters
    ----------
    grad_output : array_like of shape (..., H_out, W_out)
        Upstream gradient dL/dy, the forward output's shape.
    x : array_like of shape (..., H, W)
        The forward input: the winners ("switches") are recomputed from it unless ``indices`` is given.
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`max_pool2d`.
    indices : array_like of int, shape (..., H_out, W_out), optional
        The switches saved by the forward, ``max_pool2d(..., return_indices=True)``, as PyTorch's
        backward reuses them; this skips recomputing the forward. Checked for shape and range only.

    Returns
    -------
    grad_x : ndarray of shape (..., H, W)
        dL/dx: each window's gradient goes, whole, to its first maximum; an input that wins
        several overlapping windows receives the sum; every other input receives 0.
        Float dtype of ``grad_output`` (float64 if it is an integer array).
    """
    x = check_array(x)
    geom = pool_geometry(x.shape[-2:], kernel_size, stride, padding, dilation, ceil_mode)
    g = check_grad_output(grad_output, x.shape[:-2] + geom.out_shape, "max_pool2d")
    if indices is not None:
        return route_indices(g, _checked_indices(indices, g.shape), geom.in_shape)
    return route_indices(g, max_pool_switches(x, geom)[1], geom.in_shape)


def _checked_indices(indices, shape) -> np.ndarray:
    """``indices`` as int64 after checking dtype and shape; :func:`route_indices` checks their range."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices must be an integer array, from max_pool(..., return_indices=True); got dtype {idx.dtype}.")
    if idx.shape != shape:
        raise ValueError(f"indices has shape {idx.shape}, but the forward output (and grad_output) has shape {shape}; "
                         f"pass the indices returned by the same forward call.")
    if idx.dtype == np.uint64 and idx.size and idx.max() > np.iinfo(np.int64).max:
        raise ValueError(f"indices must be flat positions in the input plane, found {int(idx.max())}; pass the indices "
                         f"returned by the forward call on this x.")
    return idx.astype(np.int64, copy=False)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-d max pooling over the last axis, as ``torch.nn.functional.max_pool1d``.

    ``x`` has shape (..., L); the output (..., L_out). Indices are positions along the last axis.
    Same rules as :func:`max_pool2d`.
    """
    x = check_array(x, min_ndim=1)
    geom = pool_geometry(x.shape[-1:], kernel_size, stride, padding, dilation, ceil_mode, dims=1)
    y, indices = max_pool_switches(x[..., None, :], geom, indices=return_indices)
    if return_indices:
        return y[..., 0, :], indices[..., 0, :]
    return y[..., 0, :]


def max_pool1d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                        indices=None):
    """Gradient of :func:`max_pool1d`: ``grad_output`` (..., L_out) -> ``grad_x`` (..., L).

    ``indices`` (..., L_out), from ``max_pool1d(..., return_indices=True)``, skips recomputing the winners.
    """
    x = check_array(x, min_ndim=1)
    geom = pool_geometry(x.shape[-1:], kernel_size, stride, padding, dilation, ceil_mode, dims=1)
    g = check_grad_output(grad_output, x.shape[:-1] + geom.out_shape[1:], "max_pool1d")
    if indices is not None:
        idx = _checked_indices(indices, g.shape)
        return route_indices(g[..., None, :], idx[..., None, :], geom.in_shape)[..., 0, :]
    indices = max_pool_switches(x[..., None, :], geom)[1]
    return route_indices(g[..., None, :], indices, geom.in_shape)[..., 0, :]


def max_unpool2d(y, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``.

    Each value of ``y`` is written at its ``indices`` position; everything else is 0.

    Parameters
    ----------
    y : array_like of shape (..., H_out, W_out)
    indices : array_like of int, shape (..., H_out, W_out)
        From ``max_pool2d(..., return_indices=True)``: flat ``row * W + col`` per plane.
    kernel_size, stride, padding
        Those of the pooling being undone; they set the default output size
        ``((H_out - 1) * stride - 2 * padding + kernel_size)`` per axis.
    output_size : (H, W) or a full shape ending in (H, W), optional
        Needed when the pooling dropped a remainder (e.g. H odd with kernel 2).

    Returns
    -------
    ndarray of shape (..., H, W)
    """
    y = check_array(y, "y")
    try:
        idx = np.asarray(indices)
    except Exception:
        idx = None
    if idx is None or idx.dtype.kind not in "iu":
        raise TypeError("indices must be an integer array, as returned by max_pool2d(..., return_indices=True).")
    if idx.shape != y.shape:
        raise ValueError(f"indices has shape {idx.shape} but y has shape {y.shape}; they must match "
                         f"(both come from the same max_pool2d call).")
    k = _as_ints(kernel_size, "kernel_size", 2)
    s = k if stride is None else _as_ints(stride, "stride", 2)
    p = _as_ints(padding, "padding", 2)
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"kernel_size and stride must be positive and padding non-negative, got "
                         f"kernel_size={k}, stride={s}, padding={p}.")
    default = [(n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(y.shape[-2:], s, p, k)]
    if output_size is None:
        H, W = default
    else:
        if not isinstance(output_size, (tuple, list, np.ndarray)):
            raise TypeError(f"output_size must be a tuple (H, W) or a full shape, got {output_size!r}.")
        size = _as_ints(tuple(output_size), "output_size", len(tuple(output_size)))
        if len(size) not in (2, y.ndim):
            raise ValueError(f"output_size must be (H, W) or a full shape of {y.ndim} numbers, got {output_size}.")
        H, W = size[-2:]
        for n, d, si, name in zip((H, W), default, s, ("height", "width")):
            if not d - si < n < d + si:  # the sizes a pooling with this stride could have started from
                raise ValueError(f"output_size {name} {n} cannot have been pooled to {y.shape[-2:]} with "
                                 f"kernel_size={k}, stride={s}, padding={p}: it must lie in {d - si + 1}..{d + si - 1}.")
    if H < 1 or W < 1:
        raise ValueError(f"the unpooled output would be empty ({H} x {W}); check kernel_size, stride and padding.")
    if idx.size and (idx.min() < 0 or idx.max() >= H * W):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise ValueError(f"indices must lie in 0..{H * W - 1} (flat positions in a {H} x {W} plane), found {bad}. "
                         f"Were they made by max_pool2d on an input of this size? If not, pass output_size.")
    lead = y.shape[:-2]
    out = np.zeros(lead + (H * W,), dtype=y.dtype)
    planes = out.reshape(-1, H * W)
    n_out = math.prod(y.shape[-2:])
    np.put_along_axis(planes, idx.reshape(planes.shape[0], n_out).astype(np.int64), y.reshape(planes.shape[0], n_out), axis=1)
    return out.reshape(lead + (H, W))
