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

import numpy as np

from ._windows import PhasePlanes, code_dtype, codes_to_indices, offset_view, pad_to_windows, route_codes, window_tables
from .geometry import PoolGeometry, _as_ints, check_array, check_grad_output, pool_geometry

__all__ = [
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool2d",
]


def _lowest(dtype) -> float | int:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def max_pool_codes(x: np.ndarray, geom: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima and the offset code ``jh * kw + jw`` of the winning element.

    One vectorised pass per kernel offset, in row-major order, keeping the first maximum
    with a strict ``>``. The code starts at each window's first non-padding element, which
    is what wins when every real element equals the padding value (-inf).

    Returns ``(values, codes)``, both of shape (..., H_out, W_out).
    """
    lowest = _lowest(x.dtype)
    _, _, first_code, gather, padding_slot = window_tables(geom)
    if x.size * gather.shape[1] <= _SMALL:
        result = _max_pool_codes_small(x, geom, lowest, first_code, gather, padding_slot)
        if result is not None:
            return result
    xp = pad_to_windows(x, geom, lowest)
    best, codes = _separable_max(xp, geom, first_code)
    if x.dtype.kind == "f":
        nan_windows = np.isnan(best)
        if nan_windows.any():
            # PyTorch's kernel also takes a NaN as the new maximum: the last NaN in window order wins.
            for c, (jh, jw) in enumerate(geom.offsets()):
                hit = nan_windows & np.isnan(offset_view(xp, geom, jh, jw))
                codes[hit] = c
    return best, codes


def _first_max_update(v, best, position, j, better, step):
    """One step of a running first-strict-maximum: where ``v > best``, take ``v`` and position ``j``.

    Positions only grow along the sequence, so "set to j where better" is ``maximum(position,
    better * j)``: cheap uint8 arithmetic instead of a masked store (``np.copyto(..., where=...)``
    is ~30x slower). ``np.maximum(v, best)`` keeps the earlier value on a tie (0.0 vs -0.0).
    """
    np.greater(v, best, out=better)
    np.multiply(better.view(np.uint8), position.dtype.type(j), out=step)
    np.maximum(position, step, out=position)
    np.maximum(v, best, out=best)


def _separable_max(xp, geom, first_code):
    """Window maxima and codes in two stages: along each row (strided), then across rows (contiguous).

    Row-major "first maximum" is lexicographic in (jh, jw): the first row holding the window's
    maximum, and the first column of that row. Stage 1 finds each row segment's first maximum
    (column code ``cw``); stage 2 the first row whose segment maximum beats all rows before it,
    carrying that row's ``cw`` along. About twice as fast as one pass per kernel offset.
    Each stage starts from its first element: padding there (-inf) loses to any later real value,
    and the initial position (the first non-padding element) wins when nothing beats it.
    """
    h, w = geom.h, geom.w
    code_type = first_code.dtype.type
    row_span, col_span = w.stride * (w.out - 1) + 1, h.stride * (h.out - 1) + 1

    def column(jw):
        return xp[..., jw * w.dilation: jw * w.dilation + row_span: w.stride]

    row_max = column(0).copy()
    cw = np.empty(row_max.shape, dtype=code_type)
    cw[...] = w.inside().argmax(axis=1)
    better, step = np.empty(row_max.shape, dtype=bool), np.empty(row_max.shape, dtype=code_type)
    for jw in range(1, w.kernel):
        _first_max_update(column(jw), row_max, cw, jw, better, step)

    def row(a, jh):
        return a[..., jh * h.dilation: jh * h.dilation + col_span: h.stride, :]

    best, chosen_cw = row(row_max, 0).copy(), row(cw, 0).copy()
    position = np.empty(best.shape, dtype=code_type)
    position[...] = h.inside().argmax(axis=1)[:, None]
    better, step, flip = (np.empty(best.shape, dtype=t) for t in (bool, code_type, code_type))
    for jh in range(1, h.kernel):
        _first_max_update(row(row_max, jh), best, position, jh, better, step)
        # chosen_cw = where(better, cw of this row, chosen_cw), as arithmetic: c ^ ((c ^ r) * better)
        np.bitwise_xor(chosen_cw, row(cw, jh), out=flip)
        np.multiply(flip, better.view(np.uint8), out=flip)
        np.bitwise_xor(chosen_cw, flip, out=chosen_cw)
    position *= code_type(w.kernel)
    position += chosen_cw
    return best, position


_SMALL = 1 << 15  # window elements below which one gather + argmax beats per-offset passes


def _max_pool_codes_small(x, geom, lowest, first_code, gather, padding_slot):
    """:func:`max_pool_codes` for small inputs: gather every window, then ``argmax`` (which keeps the first maximum).

    Returns None when a window holds NaN (argmax picks the first NaN; PyTorch's rule is the last).
    """
    H, W = geom.in_shape
    planes = x.reshape(-1, H * W)
    has_padding = gather.shape[0] and padding_slot.any()
    if has_padding:  # padding slots point one past the plane: append the -inf (or lowest integer) there
        padded = np.empty((planes.shape[0], H * W + 1), dtype=x.dtype)
        padded[:, :-1] = planes
        padded[:, -1] = lowest
    else:
        padded = planes
    windows = padded[:, gather]  # (planes, H_out*W_out, kh*kw)
    codes = windows.argmax(axis=-1)
    values = windows.reshape(-1, windows.shape[-1])[np.arange(codes.size), codes.reshape(-1)].reshape(codes.shape)
    if x.dtype.kind == "f" and np.isnan(values).any():
        return None
    if has_padding:  # a window whose real elements all equal -inf may have "chosen" padding
        chose_padding = np.take_along_axis(padding_slot[None], codes[..., None], axis=-1)[..., 0]
        codes = np.where(chose_padding, first_code.reshape(1, -1), codes)
    out_shape = x.shape[:-2] + geom.out_shape
    return values.reshape(out_shape), codes.astype(first_code.dtype).reshape(out_shape)


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
    y, codes = max_pool_codes(x, geom)
    if return_indices:
        return y, codes_to_indices(codes, geom)
    return y


def _grad_dtype(g: np.ndarray):
    return g.dtype if g.dtype.kind == "f" else np.dtype(np.float64)


def max_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    Parameters
    ----------
    grad_output : array_like of shape (..., H_out, W_out)
        Upstream gradient dL/dy, the forward output's shape.
    x : array_like of shape (..., H, W)
        The forward input (the winners are recomputed from it).
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`max_pool2d`.

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
    g = g.astype(_grad_dtype(g), copy=False)
    _, codes = max_pool_codes(x, geom)
    return route_codes(g, codes, geom)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-d max pooling over the last axis, as ``torch.nn.functional.max_pool1d``.

    ``x`` has shape (..., L); the output (..., L_out). Indices are positions along the last axis.
    Same rules as :func:`max_pool2d`.
    """
    x = check_array(x, min_ndim=1)
    geom = pool_geometry(x.shape[-1:], kernel_size, stride, padding, dilation, ceil_mode, dims=1)
    y, codes = max_pool_codes(x[..., None, :], geom)
    if return_indices:
        return y[..., 0, :], codes_to_indices(codes, geom)[..., 0, :]
    return y[..., 0, :]


def max_pool1d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Gradient of :func:`max_pool1d`: ``grad_output`` (..., L_out) -> ``grad_x`` (..., L)."""
    x = check_array(x, min_ndim=1)
    geom = pool_geometry(x.shape[-1:], kernel_size, stride, padding, dilation, ceil_mode, dims=1)
    g = check_grad_output(grad_output, x.shape[:-1] + geom.out_shape[1:], "max_pool1d")
    g = g.astype(_grad_dtype(g), copy=False)
    _, codes = max_pool_codes(x[..., None, :], geom)
    return route_codes(g[..., None, :], codes, geom)[..., 0, :]


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
    np.put_along_axis(planes, idx.reshape(planes.shape[0], -1).astype(np.int64), y.reshape(planes.shape[0], -1), axis=1)
    return out.reshape(lead + (H, W))
