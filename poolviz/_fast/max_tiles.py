"""Max pooling for windows that tile the input (stride = kernel, no padding or dilation): columns first.

Used by :func:`poolviz._fast.max_planes.max_by_planes` on larger inputs, block by block.
"""
from __future__ import annotations

import functools
import sys

import numpy as np

from ..geometry import PoolGeometry
from .first_max import first_max, tie_max

__all__ = ["max_by_tiles", "tiles_apply"]

_LITTLE_ENDIAN = sys.byteorder == "little"  # two uint8 row codes are read as one uint16, low byte first


@functools.lru_cache(maxsize=256)
def tiles_apply(geom: PoolGeometry) -> bool:
    """Does :func:`max_by_tiles` handle this geometry?

    Windows must tile the input: stride equal to the kernel, no dilation, no padding, no partial
    (ceil_mode) window, and from 2 x 2 to 256 x 256 elements (row and column codes are uint8); and a
    little-endian machine.
    """
    return _LITTLE_ENDIAN and all(a.stride == a.kernel >= 2 and a.dilation == 1 and a.padding == 0 and a.padded_extent[1] <= 0
               for a in (geom.h, geom.w)) and geom.h.kernel <= 256 and geom.w.kernel <= 256


def max_by_tiles(xb, geom, out):
    """The maxima of windows that tile ``xb`` (planes, H, W), and the kernel row ``jh`` and column ``jw`` of each
    window's first maximum: columns first.

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
    seg_max, seg_row, _ = first_max([flat[j * W: j * W + length] for j in range(kh)], np.uint8)

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
        best = tie_max(cols[j], best, out=out if j == kw - 1 else best)  # keeps ``best`` on a tie
        taken = better.view(np.uint8)
        flip = np.bitwise_xor(jh, row_codes[j])
        flip *= taken
        jh ^= flip
        step = taken * np.uint8(j) if j > 1 else taken
        jw = step if jw is None else np.maximum(jw, step, out=jw)
    return best, jh, jw


def _two_column_max(cols, row_pair, out):
    """Stage 2 of :func:`max_by_tiles` for two kernel columns; ``row_pair`` holds both row codes."""
    left, right = cols
    better = np.greater(right, left)
    tie = np.equal(right, left)
    if tie.any():
        tie &= np.less(row_pair >> 8, row_pair & 0xFF)  # equal maxima: the earlier row wins
        if tie.any():
            better |= tie
            np.copyto(left, right, where=tie)  # the winner's own value (its sign of zero)
    best = tie_max(right, left, out=out)  # keeps ``left`` on a tie
    jw = better.view(np.uint8)
    jh = np.right_shift(row_pair, np.left_shift(jw, 3, dtype=np.uint16))  # the winning column's row code
    jh &= 0xFF
    return best, jh, jw


