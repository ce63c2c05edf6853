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

:func:`max_by_offsets` is the rule written once for all windows; larger inputs take faster paths that
give the same bits (:mod:`poolviz._fast`, chosen as :mod:`poolviz.paths` says).

Shapes: ``x`` is ``(..., H, W)`` with any leading dimensions; the output is
``(..., H_out, W_out)`` with the sizes given in :mod:`poolviz.geometry`.
"""
from __future__ import annotations

import math

import numpy as np

from . import _fast, paths
from .checks import check_array, check_grad_output, check_index_range, check_indices
from .geometry import PoolGeometry, as_int_tuple, pool_geometry
from .windows import codes_to_indices, index_tables, offset_view, pad_to_windows, route_indices

__all__ = [
    "max_by_offsets",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool_switches",
    "max_unpool2d",
]


def _lowest(dtype) -> float | int:
    """The padding value: smaller than (or equal to) every element, so padding never wins."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def max_by_offsets(x: np.ndarray, geom: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """The rule, for every window at once: maxima and the flat index of each window's first maximum.

    Visit the kernel offsets in row-major window order with a running maximum that starts below every
    element (at the padding value) and is replaced only by a *strictly* larger element (so the first
    maximum wins a tie, with its own sign of zero) or by a NaN (so NaN propagates, the last one winning).
    A window whose real elements all equal the padding value (-inf) keeps pointing at its first real one.

    ``x`` is (..., H, W); returns ``(values, indices)``, both (..., H_out, W_out), indices int64.
    """
    lowest = _lowest(x.dtype)
    xp = pad_to_windows(x, geom, lowest)
    out_shape = x.shape[:-2] + geom.out_shape
    best = np.full(out_shape, lowest, dtype=x.dtype)
    code = np.array(np.broadcast_to(index_tables(geom)[2], out_shape))  # each window's first real element
    for c, (jh, jw) in enumerate(geom.offsets()):
        v = offset_view(xp, geom, jh, jw)
        wins = v > best
        if x.dtype.kind == "f":
            wins |= np.isnan(v)
        np.copyto(best, v, where=wins)
        code[wins] = c
    return best, codes_to_indices(code, geom)


def max_pool_switches(x: np.ndarray, geom: PoolGeometry, indices: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima and the flat index (``row * W + col``, int64) of each window's first maximum.

    The path that computes them (the same bits whichever it is) is chosen as :mod:`poolviz.paths` says.
    Returns ``(values, indices)``, both of shape (..., H_out, W_out); ``indices`` may be None when not
    asked for (on larger inputs they cost an int64 pass).
    """
    setting = paths.current()
    path = _fast.max_path(x.size, geom, setting, x.dtype)
    if path == "compiled":
        return _fast.compiled.max_switches(x, geom, _lowest(x.dtype), indices)
    if path == "gather":
        result = _fast.max_by_gather(x, geom, _lowest(x.dtype))
        if result is not None:
            return result
        path = "offsets"  # a window holds NaN: argmax would pick the first, the rule is the last
    if path == "offsets":
        return max_by_offsets(x, geom)
    return _fast.max_by_planes(x, geom, _lowest(x.dtype), setting.block_bytes, tiles=path == "tiles",
                               indices=indices)


def _backward(g: np.ndarray, x: np.ndarray, geom: PoolGeometry, indices) -> np.ndarray:
    """Each window's gradient ``g`` (..., H_out, W_out) added to its switch: the backward, (..., H, W).

    The switches are ``indices`` (checked for dtype and shape here, for range where they are used), or,
    if None, recomputed from ``x`` (..., H, W).
    """
    setting = paths.current()
    if indices is None:
        if _fast.max_path(x.size, geom, setting, x.dtype, g.dtype) == "compiled":
            # the switches found and used on the fly, never stored
            return _fast.compiled.max_backward_from_x(g, x, geom, _lowest(x.dtype))
        indices = max_pool_switches(x, geom)[1]
    indices = check_indices(indices, g.shape)
    if _fast.max_path(x.size, geom, setting, g.dtype, route=True) == "compiled":
        return _fast.compiled.max_route(g, indices, geom.in_shape)
    if setting.max_pool == "offsets":
        return route_indices(g, indices, geom.in_shape)
    return _fast.route(g, indices, geom.in_shape, setting.block_bytes)


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
    return _backward(g, x, geom, indices)


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
        indices = check_indices(indices, g.shape)[..., None, :]
    return _backward(g[..., None, :], x[..., None, :], geom, indices)[..., 0, :]


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
    idx = check_indices(indices, y.shape, against="y")
    k = as_int_tuple(kernel_size, "kernel_size", 2)
    s = k if stride is None else as_int_tuple(stride, "stride", 2)
    p = as_int_tuple(padding, "padding", 2)
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"kernel_size and stride must be positive and padding non-negative, got "
                         f"kernel_size={k}, stride={s}, padding={p}.")
    default = [(n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(y.shape[-2:], s, p, k)]
    if output_size is None:
        H, W = default
    else:
        if not isinstance(output_size, (tuple, list, np.ndarray)):
            raise TypeError(f"output_size must be a tuple (H, W) or a full shape, got {output_size!r}.")
        size = as_int_tuple(tuple(output_size), "output_size", len(tuple(output_size)))
        if len(size) not in (2, y.ndim):
            raise ValueError(f"output_size must be (H, W) or a full shape of {y.ndim} numbers, got {output_size}.")
        H, W = size[-2:]
        for n, d, si, name in zip((H, W), default, s, ("height", "width")):
            if not d - si < n < d + si:  # the sizes a pooling with this stride could have started from
                raise ValueError(f"output_size {name} {n} cannot have been pooled to {y.shape[-2:]} with "
                                 f"kernel_size={k}, stride={s}, padding={p}: it must lie in {d - si + 1}..{d + si - 1}.")
    if H < 1 or W < 1:
        raise ValueError(f"the unpooled output would be empty ({H} x {W}); check kernel_size, stride and padding.")
    check_index_range(idx, (H, W), "were they made by max_pool2d on an input of this size? If not, pass output_size")
    lead = y.shape[:-2]
    out = np.zeros(lead + (H * W,), dtype=y.dtype)
    planes = out.reshape(-1, H * W)
    n_out = math.prod(y.shape[-2:])
    np.put_along_axis(planes, idx.reshape(planes.shape[0], n_out), y.reshape(planes.shape[0], n_out), axis=1)
    return out.reshape(lead + (H, W))
