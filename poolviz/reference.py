"""Readable loop implementations: the reference that the vectorised ops are tested against.

Each function pools one window at a time, exactly as the rule is written in words, over
any leading dimensions. They are slow (pure Python) and meant for small inputs: tests,
and a notebook that wants to show the loop. They assume valid arguments; the vectorised
ops do the checking.

Output size along one axis (PyTorch's rule, also in :mod:`poolviz.geometry`)::

    L_out = floor((L + 2p - d*(k-1) - 1 + (s-1 if ceil_mode else 0)) / s) + 1
    (with ceil_mode: one less if the last window would start at or beyond L + p)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "avg_pool2d_loop",
    "avg_pool2d_backward_loop",
    "logsumexp_pool2d_loop",
    "lp_pool2d_loop",
    "max_pool2d_loop",
    "max_pool2d_backward_loop",
    "soft_pool2d_loop",
]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_len(L, k, s, p, d, ceil_mode):
    n = L + 2 * p - d * (k - 1) - 1
    out = (math.ceil(n / s) if ceil_mode else math.floor(n / s)) + 1
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def _args(x, kernel_size, stride, padding, dilation, ceil_mode):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p, d = _pair(padding), _pair(dilation)
    H, W = x.shape[-2:]
    return k, s, p, d, (_out_len(H, k[0], s[0], p[0], d[0], ceil_mode), _out_len(W, k[1], s[1], p[1], d[1], ceil_mode))


def _window(oh, ow, k, s, p, d, H, W):
    """The real (non-padding) elements of window (oh, ow), in row-major window order."""
    for jh in range(k[0]):
        for jw in range(k[1]):
            r, c = oh * s[0] - p[0] + jh * d[0], ow * s[1] - p[1] + jw * d[1]
            if 0 <= r < H and 0 <= c < W:
                yield r, c


def max_pool2d_loop(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling by loops. Returns ``(y, indices)``, each (..., H_out, W_out).

    The first maximum in row-major window order wins; a NaN replaces the running maximum
    (so a window with NaN outputs NaN and points at its last NaN).
    """
    x = np.asarray(x)
    k, s, p, d, (Ho, Wo) = _args(x, kernel_size, stride, padding, dilation, ceil_mode)
    H, W = x.shape[-2:]
    y = np.empty(x.shape[:-2] + (Ho, Wo), dtype=x.dtype)
    idx = np.empty(y.shape, dtype=np.int64)
    for lead in np.ndindex(x.shape[:-2]):
        plane = x[lead]
        for oh in range(Ho):
            for ow in range(Wo):
                best, where = None, None
                for r, c in _window(oh, ow, k, s, p, d, H, W):
                    v = plane[r, c]
                    if best is None or v > best or v != v:
                        best, where = v, r * W + c
                y[lead + (oh, ow)] = best
                idx[lead + (oh, ow)] = where
    return y, idx


def max_pool2d_backward_loop(grad_output, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """dL/dx of max pooling by loops: each output's gradient is added to its window's winner."""
    g = np.asarray(grad_output)
    _, idx = max_pool2d_loop(x, kernel_size, stride, padding, dilation, ceil_mode)
    W = np.shape(x)[-1]
    dx = np.zeros(np.shape(x), dtype=g.dtype if g.dtype.kind == "f" else np.float64)
    for pos in np.ndindex(g.shape):
        r, c = divmod(int(idx[pos]), W)
        dx[pos[:-2] + (r, c)] += g[pos]
    return dx


def _avg_divisor(oh, ow, k, s, p, H, W, ceil_mode, count_include_pad, divisor_override):
    if divisor_override:
        return divisor_override
    h0, w0 = oh * s[0] - p[0], ow * s[1] - p[1]
    h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
    if count_include_pad:
        return (h1 - h0) * (w1 - w0)
    return (min(h1, H) - max(h0, 0)) * (min(w1, W) - max(w0, 0))


def avg_pool2d_loop(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                    divisor_override=None):
    """Average pooling by loops: the window's real elements summed in row-major order, over the divisor."""
    x = np.asarray(x)
    x = x if x.dtype.kind == "f" else x.astype(np.float64)
    k, s, p, d, (Ho, Wo) = _args(x, kernel_size, stride, padding, 1, ceil_mode)
    H, W = x.shape[-2:]
    y = np.empty(x.shape[:-2] + (Ho, Wo), dtype=x.dtype)
    for lead in np.ndindex(x.shape[:-2]):
        for oh in range(Ho):
            for ow in range(Wo):
                total = x.dtype.type(0)
                for r, c in _window(oh, ow, k, s, p, d, H, W):
                    total += x[lead + (r, c)]
                div = _avg_divisor(oh, ow, k, s, p, H, W, ceil_mode, count_include_pad, divisor_override)
                y[lead + (oh, ow)] = total / x.dtype.type(div)
    return y


def avg_pool2d_backward_loop(grad_output, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                             count_include_pad=True, divisor_override=None):
    """dL/dx of average pooling by loops: each output sends ``g / divisor`` to every real element of its window."""
    g = np.asarray(grad_output)
    g = g if g.dtype.kind == "f" else g.astype(np.float64)
    k, s, p, d, (Ho, Wo) = _args(np.asarray(x), kernel_size, stride, padding, 1, ceil_mode)
    H, W = np.shape(x)[-2:]
    dx = np.zeros(np.shape(x), dtype=g.dtype)
    for pos in np.ndindex(g.shape):
        lead, (oh, ow) = pos[:-2], pos[-2:]
        div = _avg_divisor(oh, ow, k, s, p, H, W, ceil_mode, count_include_pad, divisor_override)
        share = g[pos] / g.dtype.type(div)
        for r, c in _window(oh, ow, k, s, p, d, H, W):
            dx[lead + (r, c)] += share
    return dx


def _map_windows(x, kernel_size, stride, ceil_mode, reduce):
    x = np.asarray(x, dtype=np.float64)
    k, s, p, d, (Ho, Wo) = _args(x, kernel_size, stride, 0, 1, ceil_mode)
    H, W = x.shape[-2:]
    y = np.empty(x.shape[:-2] + (Ho, Wo))
    for lead in np.ndindex(x.shape[:-2]):
        for oh in range(Ho):
            for ow in range(Wo):
                values = [float(x[lead + rc]) for rc in _window(oh, ow, k, s, p, d, H, W)]
                y[lead + (oh, ow)] = reduce(values, k)
    return y


def lp_pool2d_loop(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum x**p)**(1/p)`` per window (a partial ceil_mode window of n elements scaled by kh*kw/n, as PyTorch)."""
    def reduce(values, k):
        return (k[0] * k[1] / len(values) * sum(v ** norm_type for v in values)) ** (1 / norm_type)
    return _map_windows(x, kernel_size, stride, ceil_mode, reduce)


def logsumexp_pool2d_loop(x, kernel_size, stride=None, beta=1.0):
    """``(1/beta) * log(mean(exp(beta * window)))``, shifted by the window maximum for stability."""
    def reduce(values, k):
        m = max(values)
        return m + math.log(sum(math.exp(beta * (v - m)) for v in values) / len(values)) / beta
    return _map_windows(x, kernel_size, stride, False, reduce)


def soft_pool2d_loop(x, kernel_size, stride=None):
    """SoftPool: ``sum(softmax(window) * window)``."""
    def reduce(values, k):
        m = max(values)
        w = [math.exp(v - m) for v in values]
        return sum(wi * v for wi, v in zip(w, values)) / sum(w)
    return _map_windows(x, kernel_size, stride, False, reduce)
