"""Max pooling of small inputs: gather every window into a row, then ``argmax`` (which returns the first maximum).

For an 8x8 image the cost is a handful of numpy calls, so the per-geometry tables are built once and cached.
"""
from __future__ import annotations

import functools

import numpy as np

from ..geometry import PoolGeometry

__all__ = ["max_by_gather"]


@functools.lru_cache(maxsize=256)
def gather_tables(geom: PoolGeometry):
    """``(gather, padding_slot, has_padding, list_starts)``, cached and read-only.

    ``gather`` (H_out*W_out, kh*kw): the flat index of every window element in row-major window order, ``H*W``
    (one past the plane) for padding; ``padding_slot`` its padding mask; ``list_starts`` (H_out*W_out,) where
    each window's elements start in the flattened window list.
    """
    h, w = geom.h, geom.w
    H, W = geom.in_shape
    rows, cols = h.coords()[:, None, :, None], w.coords()[None, :, None, :]
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    gather = np.where(inside, rows * W + cols, H * W).reshape(h.out * w.out, -1)
    padding_slot = ~inside.reshape(h.out * w.out, -1)
    list_starts = np.arange(0, gather.size, gather.shape[1])
    for t in (gather, padding_slot, list_starts):
        t.setflags(write=False)
    return gather, padding_slot, bool(padding_slot.any()), list_starts


def max_by_gather(x: np.ndarray, geom: PoolGeometry, lowest):
    """Window maxima and the flat index of each window's first maximum, both (..., H_out, W_out).

    Returns None when a window holds NaN (``argmax`` picks the first NaN; PyTorch's rule is the last).
    """
    H, W = geom.in_shape
    gather, padding_slot, has_padding, list_starts = gather_tables(geom)
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
    chosen += list_starts
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
