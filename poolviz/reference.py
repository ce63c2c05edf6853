"""Readable loop implementations: the reference that the vectorised ops are tested against.

Each function pools one window at a time, exactly as the rule is written in words, over
any leading dimensions. They are slow (pure Python) and meant for small inputs: tests,
and a notebook that wants to show the loop. They assume valid arguments; the vectorised
ops do the checking.

Two pieces are shared by every loop here, by the tie policies of :mod:`poolviz.ties` and by the
exercise checkers' models of typical mistakes (:mod:`poolviz.exercises.mistakes`):

* :func:`window_positions` walks a window in row-major window order, the order that decides ties;
* :func:`max_winners` says which elements of a window receive its gradient under a tie rule.

Output size along one axis (PyTorch's rule, also in :mod:`poolviz.geometry`)::

    L_out = floor((L + 2p - d*(k-1) - 1 + (s-1 if ceil_mode else 0)) / s) + 1
    (with ceil_mode: one less if the last window would start at or beyond L + p)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "TIE_RULES",
    "avg_pool2d_backward_loop",
    "avg_pool2d_loop",
    "logsumexp_pool2d_loop",
    "lp_pool2d_loop",
    "max_pool2d_backward_loop",
    "max_pool2d_loop",
    "max_winners",
    "soft_pool2d_loop",
    "window_members",
    "window_positions",
]

#: Rules for a tied maximum: "first" (PyTorch's max pooling), "split" (equal shares: a subgradient),
#: "all" (the whole gradient to every tied maximum: wrong), "last" (the mistake of scanning with ``>=``).
TIE_RULES = ("first", "split", "all", "last")


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


def window_positions(oh, ow, kernel, stride, padding=(0, 0), dilation=(1, 1)):
    """Every position ``(r, c)`` of window ``(oh, ow)``, padding included, in row-major window order.

    ``kernel``, ``stride``, ``padding``, ``dilation`` are (rows, columns) pairs. A position outside
    ``0 <= r < H``, ``0 <= c < W`` is padding.
    """
    for jh in range(kernel[0]):
        for jw in range(kernel[1]):
            yield oh * stride[0] - padding[0] + jh * dilation[0], ow * stride[1] - padding[1] + jw * dilation[1]


def window_members(oh, ow, kernel, stride, padding, dilation, H, W):
    """The real (non-padding) positions of window ``(oh, ow)`` in an (H, W) input, in row-major window order."""
    return [(r, c) for r, c in window_positions(oh, ow, kernel, stride, padding, dilation) if 0 <= r < H and 0 <= c < W]


def max_winners(values, tie_rule="first"):
    """Which of a window's ``values`` (in row-major window order) receive its gradient, and how it is shared.

    Returns ``(winners, divisor)``: the places in ``values`` that receive the gradient, each ``g / divisor``.
    The scan is max pooling's forward: a strictly larger value (or a NaN) takes over, so the first maximum
    is found; then the tie rule (see :data:`TIE_RULES`) decides among the values equal to it:
    ``"first"`` -> ([first], 1); ``"last"`` -> ([last], 1); ``"split"`` -> (all t of them, t);
    ``"all"`` -> (all of them, 1). NaN propagates whatever the rule: the last NaN wins, alone, as in
    PyTorch's CPU kernel.
    """
    best, first = None, None
    for i, v in enumerate(values):
        if best is None or v > best or v != v:
            best, first = v, i
    if best != best or tie_rule == "first":
        return [first], 1
    tied = [i for i, v in enumerate(values) if v == best]
    if tie_rule == "last":
        return tied[-1:], 1
    if tie_rule == "split":
        return tied, len(tied)
    if tie_rule == "all":
        return tied, 1
    raise ValueError(f"tie_rule must be one of {', '.join(map(repr, TIE_RULES))}, got {tie_rule!r}.")


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
                members = window_members(oh, ow, k, s, p, d, H, W)
                (i,), _ = max_winners([plane[rc] for rc in members])
                r, c = members[i]
                y[lead + (oh, ow)] = plane[r, c]
                idx[lead + (oh, ow)] = r * W + c
    return y, idx


def max_pool2d_backward_loop(grad_output, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                             tie_rule="first"):
    """dL/dx of max pooling by loops: each output's gradient is added to its window's winner(s).

    ``tie_rule`` (see :func:`max_winners`): "first" is max pooling's own backward (PyTorch's); the others
    are what the course compares it with.
    """
    g = np.asarray(grad_output)
    g = g if g.dtype.kind == "f" else g.astype(np.float64)
    x = np.asarray(x)
    k, s, p, d, (Ho, Wo) = _args(x, kernel_size, stride, padding, dilation, ceil_mode)
    H, W = x.shape[-2:]
    dx = np.zeros(x.shape, dtype=g.dtype)
    for lead in np.ndindex(x.shape[:-2]):
        plane = x[lead]
        for oh in range(Ho):
            for ow in range(Wo):
                members = window_members(oh, ow, k, s, p, d, H, W)
                winners, divisor = max_winners([plane[rc] for rc in members], tie_rule)
                for i in winners:
                    dx[lead + members[i]] += g[lead + (oh, ow)] / divisor
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
                for r, c in window_members(oh, ow, k, s, p, d, H, W):
                    total += x[lead + (r, c)]
                div = _avg_divisor(oh, ow, k, s, p, H, W, ceil_mode, count_include_pad, divisor_override)
                # added to a zeroed output, as PyTorch does: 0 / (negative divisor) is -0.0, stored as +0.0
                y[lead + (oh, ow)] = x.dtype.type(0) + total / x.dtype.type(div)
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
        for r, c in window_members(oh, ow, k, s, p, d, H, W):
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
                values = [float(x[lead + rc]) for rc in window_members(oh, ow, k, s, p, d, H, W)]
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
