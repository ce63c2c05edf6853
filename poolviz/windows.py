"""Every window at once: strided views of a padded array, one per kernel offset, and their adjoints.

A pooling op visits its ``kh * kw`` kernel offsets in row-major order. For offset ``(jh, jw)``,
:func:`offset_view` is the ``(..., H_out, W_out)`` view of element ``(jh, jw)`` of every window, so one
numpy pass per offset handles all windows: the readable vectorised form of every op in this package.
:func:`scatter_offsets` is its adjoint (a gradient spread back over the windows) and
:func:`route_indices` sends each window's gradient to one input, as max pooling's backward does.

A window element is named by its *code* ``jh * kw + jw`` (its place in row-major window order); its
input position is ``row * W + col`` in unpadded coordinates (:func:`codes_to_indices`).

The faster paths of :mod:`poolviz._fast` compute the same numbers in the same order.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .checks import check_index_range, check_indices
from .geometry import PoolGeometry

__all__ = [
    "check_own_windows",
    "code_dtype",
    "codes_to_indices",
    "crop_padding",
    "index_tables",
    "offset_view",
    "pad_to_windows",
    "padded_extents",
    "route_indices",
    "scatter_offsets",
]


@functools.lru_cache(maxsize=256)
def padded_extents(geom: PoolGeometry):
    """``((top, bottom), (left, right))``: the padding the windows reach; bottom or right < 0 is an unused tail."""
    return geom.h.padded_extent, geom.w.padded_extent


def pad_to_windows(x: np.ndarray, geom: PoolGeometry, fill) -> np.ndarray:
    """Pad (or crop) the last two axes so that every window lies inside; element [..., 0, 0] is input (-ph, -pw).

    Returns ``x`` itself when no padding or cropping is needed.
    """
    (top, bottom), (left, right) = padded_extents(geom)
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


def scatter_offsets(values_for_offset, geom: PoolGeometry, lead_shape, dtype) -> np.ndarray:
    """Accumulate per-offset contributions into an input-shaped gradient (..., H, W).

    ``values_for_offset(jh, jw)`` returns the (..., H_out, W_out) contribution of offset (jh, jw); it is
    added into the offset's view of a zero gradient (one view never holds a position twice, so ``+=`` is
    safe). Offsets are visited in *reverse* row-major order, so each input receives its contributions in
    increasing output order, the order PyTorch's CPU kernels add them: float results are then
    bit-identical even where windows overlap (and a lone -0.0 becomes +0.0, added to a zero as there).
    """
    (top, bottom), (left, right) = padded_extents(geom)
    grad = np.zeros(tuple(lead_shape) + (geom.h.length + top + bottom, geom.w.length + left + right), dtype=dtype)
    for jh in reversed(range(geom.h.kernel)):
        for jw in reversed(range(geom.w.kernel)):
            offset_view(grad, geom, jh, jw)[...] += values_for_offset(jh, jw)
    return crop_padding(grad, geom)


def route_indices(g: np.ndarray, indices: np.ndarray, in_shape) -> np.ndarray:
    """Add each output's gradient ``g`` (..., H_out, W_out) at its flat ``indices`` (``row * W + col``): (..., H, W).

    One ``np.add.at`` over the indices in output order: unbuffered, so repeated indices accumulate, and in
    the order PyTorch's CPU kernel adds them, so float sums match bit for bit. (A buffered
    ``dx.flat[idx] += g`` would keep only one of the repeated contributions.) Checks the indices' range.
    """
    H, W = in_shape
    lead = g.shape[:-2]
    n_planes = math.prod(lead)
    flat = check_index_range(indices, in_shape).reshape(n_planes, math.prod(g.shape[-2:]))
    if n_planes > 1:
        flat = flat + np.arange(0, n_planes * H * W, H * W, dtype=np.int64)[:, None]  # each plane's own positions
    dx = np.zeros(lead + (H, W), dtype=g.dtype)
    np.add.at(dx.reshape(-1), flat.reshape(-1), g.reshape(-1))
    return dx


def code_dtype(geom: PoolGeometry):
    """Smallest dtype that holds a window offset code ``jh * kw + jw`` (unsigned up to 65536 codes)."""
    n = geom.h.kernel * geom.w.kernel
    return np.uint8 if n <= 256 else (np.uint16 if n <= 65536 else np.int64)


@functools.lru_cache(maxsize=256)
def index_tables(geom: PoolGeometry):
    """Per-geometry constants for turning codes into input positions, cached (read-only arrays).

    Returns ``(origins, steps, first_code)``: ``origins`` (H_out, W_out) the flat index of each window's
    first position (padding included, so it may be negative), ``steps`` (kh*kw,) the flat distance of each
    code from it, so that ``index = origins + steps[code]``; ``first_code`` (H_out, W_out) the code of each
    window's first real (non-padding) element.
    """
    h, w = geom.h, geom.w
    W = w.length
    origins = (h.starts[:, None] * W + w.starts[None, :]).astype(np.int64)
    jh, jw = np.divmod(np.arange(h.kernel * w.kernel), w.kernel)
    steps = (jh * h.dilation * W + jw * w.dilation).astype(np.int64)
    first_code = h.inside().argmax(axis=1)[:, None] * w.kernel + w.inside().argmax(axis=1)[None, :]
    tables = (origins, steps, first_code.astype(code_dtype(geom)))
    for t in tables:
        t.setflags(write=False)
    return tables


def codes_to_indices(code: np.ndarray, geom: PoolGeometry) -> np.ndarray:
    """Flat input indices ``row * W + col`` (int64, unpadded coordinates) of each window's offset code."""
    origins, steps, _ = index_tables(geom)
    flat = np.take(steps, code)
    flat += origins
    return flat


def check_own_windows(indices, geom: PoolGeometry, lead_shape) -> np.ndarray:
    """``indices`` (..., H_out, W_out) as int64, after checking that each lies inside its own window.

    (A sampled position, as stochastic pooling draws one, must be a real element of its window; the
    dtype and shape are checked first, by :func:`poolviz.checks.check_indices`.)
    """
    idx = check_indices(indices, tuple(lead_shape) + geom.out_shape, against="the forward output")
    h, w = geom.h, geom.w
    row, col = np.divmod(idx, w.length)
    jh, rh = np.divmod(row - h.starts[:, None], h.dilation)
    jw, rw = np.divmod(col - w.starts[None, :], w.dilation)
    ok = (rh == 0) & (rw == 0) & (jh >= 0) & (jh < h.kernel) & (jw >= 0) & (jw < w.kernel) & (idx >= 0)
    ok &= row < h.length
    if not ok.all():
        where = tuple(int(i) for i in np.argwhere(~ok)[0])
        raise ValueError(f"indices[{where}] = {int(idx[where])} does not point inside its own pooling window; "
                         f"pass the indices returned by the forward call with the same kernel_size and stride.")
    return idx
