"""Alternatives to max pooling that spread the gradient: LogSumExp, SoftPool, and stochastic pooling.

* ``logsumexp_pool2d``: the normalised smooth maximum
  ``y = (1/beta) * log(mean(exp(beta * window)))``. It tends to the window mean as
  ``beta -> 0`` and to the maximum as ``beta -> inf``; its gradient is
  ``softmax(beta * window)``, a soft version of max pooling's one-hot switch.
* ``soft_pool2d``: SoftPool (Stergiou, Poppe and Kalliatakis, "Refining activation
  downsampling with SoftPool", ICCV 2021): ``y = sum(softmax(window) * window)``.
* ``stochastic_pool2d``: stochastic pooling (Zeiler and Fergus, "Stochastic Pooling for
  Regularization of Deep Convolutional Neural Networks", ICLR 2013): sample one element per
  window with probability proportional to its (non-negative) value; the gradient goes to it.

All take ``x`` of shape (..., H, W), no padding, stride defaulting to the kernel, and return
(..., H_out, W_out). LogSumExp and SoftPool give float results (float64 for integers; float16 is
computed in float32); stochastic pooling returns elements of x, in x's dtype. Every backward returns
grad_output's float dtype.
"""
from __future__ import annotations

import numbers

import numpy as np

from .checks import check_array, check_grad_output, compute_dtype, result_dtype
from .geometry import pool_geometry
from .windows import check_own_windows, code_dtype, codes_to_indices, offset_view, route_indices, scatter_offsets

__all__ = [
    "logsumexp_pool2d",
    "logsumexp_pool2d_backward",
    "soft_pool2d",
    "soft_pool2d_backward",
    "stochastic_pool2d",
    "stochastic_pool2d_backward",
]


def _prepare(x, kernel_size, stride):
    """x as a float array to compute in (:func:`poolviz.checks.compute_dtype`), and its geometry."""
    x = check_array(x)
    x = x.astype(compute_dtype(x.dtype), copy=False)
    geom = pool_geometry(x.shape[-2:], kernel_size, stride, 0, 1, False)
    return x, geom


def _result_dtype(x) -> np.dtype:
    return result_dtype(np.asarray(x).dtype)


def _window_softmax(views, m, beta=1.0):
    """``softmax(beta * window)`` for every window at once: a list like ``views`` of (..., H_out, W_out) weights.

    Shifted by the window maximum ``m``, so nothing overflows. Infinities take their limits: a window
    whose maximum is +inf shares the weight among its +inf elements, and a window of only -inf (all
    equal) weighs them equally. A window holding NaN gives NaN weights.
    """
    finite = np.isfinite(m)
    shift = np.where(finite, m, 0)
    with np.errstate(over="ignore", invalid="ignore"):  # inf - 0 and exp(inf): replaced just below
        weights = [np.exp(beta * (v - shift)) for v in views]
    infinite = ~finite & ~np.isnan(m)
    if infinite.any():
        weights = [np.where(infinite, (v == m).astype(w.dtype), w) for v, w in zip(views, weights)]
    total = sum(weights[1:], weights[0].copy())
    return [w / total for w in weights]


def _views(x, geom):
    return [offset_view(x, geom, jh, jw) for jh, jw in geom.offsets()]


def _check_beta(beta) -> float:
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, numbers.Real):
        raise TypeError(f"beta must be a positive number, got {beta!r}.")
    if not (beta > 0 and np.isfinite(beta)):
        raise ValueError(f"beta must be positive and finite, got beta={beta}: small beta approaches average "
                         f"pooling, large beta approaches max pooling.")
    return float(beta)


def _window_max(views):
    m = views[0].copy()
    for v in views[1:]:
        np.maximum(m, v, out=m)
    return m


def _lse_parts(x, kernel_size, stride, beta):
    beta = _check_beta(beta)
    x, geom = _prepare(x, kernel_size, stride)
    views = _views(x, geom)
    m = _window_max(views)
    safe_m = np.where(np.isfinite(m), m, 0)  # an infinite maximum is handled after the sum
    return beta, x, geom, views, m, safe_m


def logsumexp_pool2d(x, kernel_size, stride=None, beta=1.0):
    """Normalised LogSumExp pooling: ``y = (1/beta) * log(mean(exp(beta * window)))``.

    Computed stably as ``m + log1p(mean(expm1(beta * (window - m)))) / beta`` with ``m`` the
    window maximum, so it neither overflows for large ``beta * x`` nor loses digits as
    ``beta -> 0``. A window holding NaN gives NaN; one whose maximum is +-inf gives +-inf.

    Parameters
    ----------
    x : array_like of shape (..., H, W)
    kernel_size, stride : int or (int, int)
    beta : float > 0
        Sharpness: mean pooling as beta -> 0, max pooling as beta -> inf.

    Returns
    -------
    ndarray of shape (..., H_out, W_out)
    """
    x_in = x
    beta, x, geom, views, m, safe_m = _lse_parts(x, kernel_size, stride, beta)
    acc = np.zeros_like(m)
    for v in views:
        acc += np.expm1(beta * (v - safe_m))
    with np.errstate(invalid="ignore", divide="ignore"):  # an all -inf window: log1p(-1)
        y = safe_m + np.log1p(acc / len(views)) / beta
    return np.where(np.isinf(m), m, y).astype(_result_dtype(x_in), copy=False)


def logsumexp_pool2d_backward(grad_output, x, kernel_size, stride=None, beta=1.0):
    """Gradient of :func:`logsumexp_pool2d`: each window's ``g`` times ``softmax(beta * window)``.

    Parameters
    ----------
    grad_output : array_like of shape (..., H_out, W_out)
    x : array_like of shape (..., H, W)

    Returns
    -------
    ndarray of shape (..., H, W)
    """
    beta, x, geom, views, m, safe_m = _lse_parts(x, kernel_size, stride, beta)
    g = check_grad_output(grad_output, m.shape, "logsumexp_pool2d")
    weights = _window_softmax(views, m, beta)
    return _spread(geom, [w * g for w in weights], x.shape).astype(g.dtype, copy=False)


def _spread(geom, contributions, x_shape):
    """Add ``contributions[jh * kw + jw]`` (..., H_out, W_out) into the (..., H, W) gradient; overlaps add up."""
    kw = geom.w.kernel
    return scatter_offsets(lambda jh, jw: contributions[jh * kw + jw], geom, x_shape[:-2], contributions[0].dtype)


def _soft_parts(x, kernel_size, stride):
    x, geom = _prepare(x, kernel_size, stride)
    views = _views(x, geom)
    weights = _window_softmax(views, _window_max(views))
    # w * v, but 0 where w is 0: an element at -inf has no weight, and 0 * -inf would be NaN
    with np.errstate(invalid="ignore"):
        y = sum((np.where(w > 0, w * v, 0) for w, v in zip(weights, views)), np.zeros_like(weights[0]))
    return x, geom, views, weights, y


def soft_pool2d(x, kernel_size, stride=None):
    """SoftPool: ``y = sum(softmax(window) * window)``, a softmax-weighted average of each window.

    Parameters
    ----------
    x : array_like of shape (..., H, W)
    kernel_size, stride : int or (int, int)

    Returns
    -------
    ndarray of shape (..., H_out, W_out)
    """
    return _soft_parts(x, kernel_size, stride)[-1].astype(_result_dtype(x), copy=False)


def soft_pool2d_backward(grad_output, x, kernel_size, stride=None):
    """Gradient of :func:`soft_pool2d`: ``dy/dx_i = w_i * (1 + x_i - y)`` with ``w = softmax(window)``.

    Parameters
    ----------
    grad_output : array_like of shape (..., H_out, W_out)
    x : array_like of shape (..., H, W)

    Returns
    -------
    ndarray of shape (..., H, W)
    """
    x, geom, views, weights, y = _soft_parts(x, kernel_size, stride)
    g = check_grad_output(grad_output, y.shape, "soft_pool2d")
    # 1 + x_i - y, taken as 1 where x_i == y (so an infinite maximum does not give inf - inf)
    with np.errstate(invalid="ignore"):
        parts = [np.where(w > 0, g * w * np.where(v == y, 1, 1 + v - y), 0) for w, v in zip(weights, views)]
    return _spread(geom, parts, x.shape).astype(g.dtype, copy=False)


def _as_rng(rng) -> np.random.Generator:
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be None, an int seed, or a numpy Generator, got the bool {rng!r}.")
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"rng must be None, an int seed, or a numpy Generator (np.random.default_rng(seed)), "
                    f"got {type(rng).__name__}.")


def stochastic_pool2d(x, kernel_size, stride=None, rng=None):
    """Stochastic pooling (training mode): sample one element per window, with probability ``x_i / sum(window)``.

    A window of zeros outputs 0 and picks its first element.

    Parameters
    ----------
    x : array_like of shape (..., H, W)
        Non-negative (e.g. after a ReLU); NaN is refused.
    kernel_size, stride : int or (int, int)
    rng : None, int or numpy.random.Generator
        Source of randomness; pass a seed or a Generator for reproducible samples.

    Returns
    -------
    values : ndarray of shape (..., H_out, W_out)
        The sampled elements (x's dtype).
    indices : ndarray of int64, shape (..., H_out, W_out)
        Their flat positions ``row * W + col``, as in :func:`poolviz.max_pool2d`.
    """
    x = check_array(x)
    geom = pool_geometry(x.shape[-2:], kernel_size, stride, 0, 1, False)
    rng = _as_rng(rng)
    if x.size and (not np.isfinite(x).all() or (x < 0).any()):
        raise ValueError("stochastic_pool2d samples with probability proportional to the values, so they must be "
                         "non-negative and finite (no NaN or inf); apply a ReLU first (np.maximum(x, 0)).")
    views = _views(x.astype(np.float64, copy=False), geom)
    total = sum(views[1:], views[0].copy())
    target = rng.random(total.shape) * total
    codes = np.zeros(total.shape, dtype=code_dtype(geom))
    running = np.zeros_like(total)
    chosen = np.zeros(total.shape, dtype=bool)
    last_positive = np.zeros_like(codes)
    for c, v in enumerate(views):
        running += v
        pick = ~chosen & (running > target) & (v > 0)  # the first element whose running sum passes the target
        codes[pick] = c
        chosen |= pick
        last_positive[v > 0] = c
    rounded = ~chosen & (total > 0)  # target rounded up to the total: the last positive element is the one
    codes[rounded] = last_positive[rounded]
    indices = codes_to_indices(codes, geom)
    return _values_at(x, indices), indices


def _values_at(x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The elements of ``x`` (..., H, W) at the flat per-plane ``indices`` (..., H_out, W_out)."""
    flat = x.reshape(x.shape[:-2] + (x.shape[-2] * x.shape[-1],))
    flat_indices = indices.reshape(indices.shape[:-2] + (indices.shape[-2] * indices.shape[-1],))
    return np.take_along_axis(flat, flat_indices, axis=-1).reshape(indices.shape)


def stochastic_pool2d_at(x, indices, kernel_size, stride=None):
    """Stochastic pooling with a sample already drawn: the elements of ``x`` at ``indices``.

    For replaying a sample (the explorer's player, :func:`poolviz.routing.contributions`). ``indices``
    (..., H_out, W_out) must each lie inside their own window, as :func:`stochastic_pool2d` returns them.
    """
    x = check_array(x)
    geom = pool_geometry(x.shape[-2:], kernel_size, stride, 0, 1, False)
    return _values_at(x, check_own_windows(indices, geom, x.shape[:-2]))  # checked first: no raw IndexError


def stochastic_pool2d_backward(grad_output, x, indices, kernel_size, stride=None):
    """Gradient of :func:`stochastic_pool2d`: each window's gradient goes, whole, to the sampled element.

    Parameters
    ----------
    grad_output : array_like of shape (..., H_out, W_out)
    x : array_like of shape (..., H, W)
    indices : array_like of int, shape (..., H_out, W_out)
        The indices returned by the forward call.

    Returns
    -------
    ndarray of shape (..., H, W)
    """
    x = check_array(x)
    geom = pool_geometry(x.shape[-2:], kernel_size, stride, 0, 1, False)
    g = check_grad_output(grad_output, x.shape[:-2] + geom.out_shape, "stochastic_pool2d")
    return route_indices(g, check_own_windows(indices, geom, x.shape[:-2]), geom.in_shape)
