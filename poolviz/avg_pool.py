"""Average pooling and power-average (Lp) pooling, and their gradients, as in PyTorch.

Average pooling is linear: ``y = sum(window) / divisor``, so its gradient spreads each
output's gradient evenly, ``g / divisor``, over the window (the Jacobian is a constant
matrix). The divisor, as in ``torch.nn.functional.avg_pool2d``:

* ``divisor_override`` if given;
* else, with ``count_include_pad=True``, the window size clipped to the padded input
  (zero padding counts, but not the part of a ceil_mode window that runs past it);
* else the number of real (non-padding) elements in the window.

Shapes: ``x`` is ``(..., H, W)``, the output ``(..., H_out, W_out)`` (see :mod:`poolviz.geometry`).

Window elements are added in row-major window order and gradients in increasing output order, as
PyTorch's CPU kernels do, so float results match to the last bit. Larger inputs take faster paths
(:mod:`poolviz._fast.dense`, chosen as :mod:`poolviz.paths` says) that add the same numbers in the same
order. Dtypes follow :mod:`poolviz.checks`: integer inputs give float64 outputs, float32 stays float32,
float16 is summed in float32 and returned as float16; the float16 gradient is accumulated in float16,
as PyTorch does. Every backward returns grad_output's float dtype.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from . import _fast, paths
from .checks import check_array, check_grad_output, compute_dtype, result_dtype
from .geometry import PoolGeometry, pool_geometry
from .windows import offset_view, pad_to_windows, scatter_offsets

__all__ = [
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "lp_pool1d",
    "lp_pool1d_backward",
    "lp_pool2d",
    "lp_pool2d_backward",
]


def _float(x: np.ndarray) -> np.ndarray:
    """The array to compute with (:func:`poolviz.checks.compute_dtype`)."""
    return x.astype(compute_dtype(x.dtype), copy=False)


def window_sum(x: np.ndarray, geom: PoolGeometry, divisor=None) -> np.ndarray:
    """Sum of each window's elements (zero padding), added in row-major window order, shape (..., H_out, W_out).

    ``x`` is (..., H, W). If ``divisor`` (H_out, W_out) is given, returns the sums divided by it. The order
    of the additions is fixed, so float results are bit-identical whichever path runs: one strided view per
    kernel offset, or :func:`poolviz._fast.dense_window_sum`'s contiguous passes over blocks of planes.
    """
    setting = paths.current()
    if _fast.avg_compiled(x.size, setting, x.dtype, geom):
        return _fast.compiled.avg_window_sum(x, geom, divisor)
    layout = _fast.avg_layout(x.size, geom, setting)
    if layout is not None:
        return _fast.dense_window_sum(x, geom, layout, divisor, block_bytes=setting.block_bytes)
    total = _offset_window_sum(pad_to_windows(x, geom, 0), geom)
    return total if divisor is None else total / divisor


def _offset_window_sum(xp: np.ndarray, geom: PoolGeometry) -> np.ndarray:
    """Window sums of the padded planes ``xp`` (..., Hp, Wp), (..., H_out, W_out): one pass per kernel offset.

    Each sum starts at 0, as PyTorch's do: ``0 + x`` is ``x`` except for -0.0, so a window of -0.0s sums
    to +0.0, not -0.0. (Elsewhere the first two elements are added directly and the 0 is added at the
    end: the same result, as a sum that starts at +0.0 can never become -0.0.)
    """
    total = None
    with np.errstate(invalid="ignore", over="ignore"):  # inf + -inf is NaN, as in PyTorch, silently
        for jh, jw in geom.offsets():
            v = offset_view(xp, geom, jh, jw)
            total = np.add(v, 0) if total is None else np.add(total, v, out=total)
    return total


def spread_to_windows(per_window: np.ndarray, geom: PoolGeometry, weight=None, divisor=None) -> np.ndarray:
    """Send ``per_window`` (..., H_out, W_out) to every element of its window; overlaps add up.

    ``weight(jh, jw)``, if given, returns a factor (..., H_out, W_out) for offset (jh, jw).
    ``divisor`` (H_out, W_out), if given, divides ``per_window`` first.
    Returns an array of the input's shape (..., H, W); padding positions are dropped.
    Each input adds its contributions to 0 in increasing output order, as PyTorch does (see
    :func:`poolviz.windows.scatter_offsets`). Without ``weight``, larger inputs may go through
    :func:`poolviz._fast.dense_spread`, in contiguous passes over blocks of planes, or the compiled loop.
    """
    lead = per_window.shape[:-2]
    setting = paths.current()
    if weight is None and _fast.avg_compiled(math.prod(lead) * math.prod(geom.in_shape), setting, per_window.dtype,
                                             geom, backward=True):
        return _fast.compiled.avg_spread(per_window, geom, divisor)
    layout = None if weight is not None else _fast.avg_layout(math.prod(lead) * math.prod(geom.in_shape), geom,
                                                              setting)
    if layout is not None:
        return _fast.dense_spread(per_window, geom, layout, divisor, block_bytes=setting.block_bytes)
    if divisor is not None:
        per_window = per_window / divisor
    if weight is None:
        return scatter_offsets(lambda jh, jw: per_window, geom, lead, per_window.dtype)
    return scatter_offsets(lambda jh, jw: per_window * weight(jh, jw), geom, lead, per_window.dtype)


def _check_divisor(divisor_override):
    if divisor_override is None:
        return None
    if isinstance(divisor_override, (bool, np.bool_)) or not isinstance(divisor_override, numbers.Integral):
        raise TypeError(f"divisor_override must be an int or None, got {divisor_override!r}.")
    if divisor_override == 0:
        raise ValueError("divisor_override must not be zero (it divides every window sum); use None for the "
                         "default divisor.")
    return int(divisor_override)


def avg_divisor(geom: PoolGeometry, count_include_pad: bool, divisor_override, dtype=np.int64) -> np.ndarray:
    """The divisor of each window, shape (H_out, W_out), of ``dtype`` (see the module docstring); read-only."""
    return _divisor(geom, bool(count_include_pad), _check_divisor(divisor_override), np.dtype(dtype))


@functools.lru_cache(maxsize=256)
def _divisor(geom: PoolGeometry, count_include_pad: bool, divisor_override, dtype) -> np.ndarray:
    """:func:`avg_divisor`, cached: for small inputs, computing it cost as much as the pooling."""
    if divisor_override is not None:
        divisor = np.full(geom.out_shape, divisor_override, dtype=dtype)
    else:
        divisor = np.outer(geom.h.counts(count_include_pad), geom.w.counts(count_include_pad)).astype(dtype)
    divisor.setflags(write=False)
    return divisor


def _avg_geometry(x, kernel_size, stride, padding, ceil_mode, dims):
    return pool_geometry(x.shape[-dims:], kernel_size, stride, padding, 1, ceil_mode, dims=dims)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-d average pooling over the last two axes, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    x : array_like of shape (..., H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride`` defaults to ``kernel_size``; zero ``padding`` of at most ``kernel_size // 2``.
    ceil_mode : bool
    count_include_pad : bool
        Count zero padding in the divisor.
    divisor_override : int, optional
        Divide every window sum by this instead.

    Returns
    -------
    ndarray of shape (..., H_out, W_out)
    """
    x0 = check_array(x)
    x = _float(x0)
    geom = _avg_geometry(x, kernel_size, stride, padding, ceil_mode, 2)
    divisor = avg_divisor(geom, count_include_pad, divisor_override, x.dtype)
    return _signed_zeros(window_sum(x, geom, divisor), divisor_override).astype(result_dtype(x0.dtype), copy=False)


def _signed_zeros(y: np.ndarray, divisor_override) -> np.ndarray:
    """``y`` (the window sums over their divisors) as PyTorch stores it: added to a zeroed output, so a zero sum over a
    negative ``divisor_override`` (+0.0 / -2 = -0.0) is +0.0. Nothing else changes (``v + 0 == v``, NaN stays NaN)."""
    if divisor_override is not None and divisor_override < 0:
        np.add(y, 0, out=y)
    return y


def avg_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of :func:`avg_pool2d` with respect to ``x``.

    Parameters
    ----------
    grad_output : array_like of shape (..., H_out, W_out)
    x : array_like of shape (..., H, W)
        Only its shape matters: average pooling is linear.

    Returns
    -------
    ndarray of shape (..., H, W)
        Each window's ``g / divisor`` added to every real element of the window.
    """
    x = check_array(x)
    geom = _avg_geometry(x, kernel_size, stride, padding, ceil_mode, 2)
    g = check_grad_output(grad_output, x.shape[:-2] + geom.out_shape, "avg_pool2d")
    return _spread_averages(g, geom, avg_divisor(geom, count_include_pad, divisor_override, compute_dtype(g.dtype)))


def _spread_averages(g: np.ndarray, geom: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    """``g / divisor`` (..., H_out, W_out) added to every element of its window, in ``g``'s dtype, as PyTorch does.

    float16 as in PyTorch too: ``Half / int64`` there first rounds the divisor to half (exact up to
    2048), and the gradient is accumulated in half.
    """
    if g.dtype == np.float16:
        return spread_to_windows(g / divisor.astype(np.float16), geom)
    return spread_to_windows(g, geom, divisor=divisor)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """1-d average pooling over the last axis, as ``torch.nn.functional.avg_pool1d``: (..., L) -> (..., L_out).

    ``divisor_override`` is an extension (PyTorch's avg_pool1d lacks it; avg_pool2d has it).
    """
    x0 = check_array(x, min_ndim=1)
    x = _float(x0)
    geom = _avg_geometry(x, kernel_size, stride, padding, ceil_mode, 1)
    divisor = avg_divisor(geom, count_include_pad, divisor_override, x.dtype)
    y = _signed_zeros(window_sum(x[..., None, :], geom, divisor), divisor_override)
    return y[..., 0, :].astype(result_dtype(x0.dtype), copy=False)


def avg_pool1d_backward(grad_output, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of :func:`avg_pool1d`: ``grad_output`` (..., L_out) -> (..., L)."""
    x = check_array(x, min_ndim=1)
    geom = _avg_geometry(x, kernel_size, stride, padding, ceil_mode, 1)
    g = check_grad_output(grad_output, x.shape[:-1] + geom.out_shape[1:], "avg_pool1d")
    divisor = avg_divisor(geom, count_include_pad, divisor_override, compute_dtype(g.dtype))
    return _spread_averages(g[..., None, :], geom, divisor)[..., 0, :]


# --- Lp (power-average) pooling ------------------------------------------------------------

def _check_norm(norm_type) -> float:
    if isinstance(norm_type, (bool, np.bool_)) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type must be a positive number, got {norm_type!r}.")
    p = float(norm_type)
    if not p > 0:
        raise ValueError(f"norm_type must be positive, got {norm_type}: norm_type=1 is sum pooling, 2 the "
                         f"Euclidean norm of the window, and large values approach max pooling.")
    if not np.isfinite(p):
        raise ValueError("norm_type=inf is max pooling: use max_pool2d for it.")
    return p


def _lp_parts(x, norm_type, kernel_size, stride, ceil_mode, dims):
    p = _check_norm(norm_type)
    x = _float(check_array(x, min_ndim=dims))
    xs = x if dims == 2 else x[..., None, :]
    geom = pool_geometry(x.shape[-dims:], kernel_size, stride, 0, 1, ceil_mode, dims=dims)
    # PyTorch computes avg_pool(x**p) * (kh*kw): a ceil_mode partial window of n elements is scaled by kh*kw/n.
    scale = (geom.h.kernel * geom.w.kernel) / avg_divisor(geom, True, None)
    return p, xs, geom, scale.astype(x.dtype)


def _lp_forward(p, xs, geom, scale):
    with np.errstate(invalid="ignore"):  # a negative x with a fractional p is NaN, as in PyTorch
        return (window_sum(xs ** p, geom) * scale) ** (1.0 / p)


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling, ``y = (sum over the window of x**p) ** (1/p)``, as ``torch.nn.functional.lp_pool2d``.

    ``p = norm_type``: 1 is sum pooling, large ``p`` approaches max pooling. No padding.
    With ``ceil_mode``, a partial window of ``n`` elements has its sum scaled by ``kh*kw/n``
    before the root, as PyTorch does (it computes ``avg_pool2d(x**p) * kh*kw``).
    Negative inputs with a non-integer ``p`` give NaN, as in PyTorch.

    Parameters
    ----------
    x : array_like of shape (..., H, W)
    norm_type : float > 0
    kernel_size, stride : int or (int, int)
    ceil_mode : bool

    Returns
    -------
    ndarray of shape (..., H_out, W_out)
    """
    p, xs, geom, scale = _lp_parts(x, norm_type, kernel_size, stride, ceil_mode, 2)
    return _lp_forward(p, xs, geom, scale).astype(result_dtype(np.asarray(x).dtype), copy=False)


def _lp_backward(grad_output, x, norm_type, kernel_size, stride, ceil_mode, dims):
    p, xs, geom, scale = _lp_parts(x, norm_type, kernel_size, stride, ceil_mode, dims)
    out_shape = xs.shape[:-2] + geom.out_shape
    g0 = check_grad_output(grad_output, out_shape if dims == 2 else out_shape[:-2] + out_shape[-1:],
                           f"lp_pool{dims}d")
    g = _float(g0)
    if dims == 1:
        g = g[..., None, :]
    y = _lp_forward(p, xs, geom, scale)
    # dy/dx_i = scale * x_i**(p-1) * y**(1-p); a window whose output is 0 gets 0, as in PyTorch
    with np.errstate(divide="ignore", invalid="ignore"):
        per_window = np.where(y == 0, 0, g * scale * y ** (1.0 - p)).astype(g.dtype)
    xpad = pad_to_windows(xs, geom, 0)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** (p - 1) for p < 1 is inf, as in PyTorch
        grad = spread_to_windows(per_window, geom, lambda jh, jw: offset_view(xpad, geom, jh, jw) ** (p - 1.0))
    return (grad if dims == 2 else grad[..., 0, :]).astype(g0.dtype, copy=False)


def lp_pool2d_backward(grad_output, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Gradient of :func:`lp_pool2d`.

    ``dy/dx_i = x_i**(p-1) * y**(1-p)`` (times ``kh*kw/n`` for a partial ceil_mode window);
    a window whose output is 0 sends 0 (PyTorch does the same).

    Parameters
    ----------
    grad_output : array_like of shape (..., H_out, W_out)
    x : array_like of shape (..., H, W)

    Returns
    -------
    ndarray of shape (..., H, W)
    """
    return _lp_backward(grad_output, x, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-d :func:`lp_pool2d` over the last axis, as ``torch.nn.functional.lp_pool1d``: (..., L) -> (..., L_out)."""
    p, xs, geom, scale = _lp_parts(x, norm_type, kernel_size, stride, ceil_mode, 1)
    return _lp_forward(p, xs, geom, scale)[..., 0, :].astype(result_dtype(np.asarray(x).dtype), copy=False)


def lp_pool1d_backward(grad_output, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Gradient of :func:`lp_pool1d`: ``grad_output`` (..., L_out) -> (..., L)."""
    return _lp_backward(grad_output, x, norm_type, kernel_size, stride, ceil_mode, 1)
