"""Where the error signal goes: one entry point over every pooling op, Jacobians, and tie policies.

Also the words the pictures use for what they show: :func:`format_value` (a number in a cell or title)
and :func:`gradient_sum_check` (a gradient's sum against the upstream sum).

numpy-only (no matplotlib): the pictures in :mod:`poolviz.plots` and :mod:`poolviz.widgets` draw
what these functions compute, and tests check them against the ops.

Ops are named by short strings (``"max"``, ``"avg"``, ``"lse"``, ``"lp"``, ``"soft"``,
``"stochastic"``) or given as the poolviz forward function itself (``poolviz.max_pool2d``).
Each op accepts only the options its PyTorch counterpart has; asking for one it does not have
(say ``dilation=2`` with average pooling) raises a ``ValueError`` that says so.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from . import avg_pool as _avg
from . import max_pool as _max
from . import smooth_pool as _smooth
from .windows import indices_to_codes
from .geometry import check_array, pool_geometry

__all__ = [
    "OP_LABELS",
    "PoolRun",
    "TIE_POLICIES",
    "contributions",
    "format_value",
    "gradient_sum_check",
    "jacobian",
    "op_name",
    "op_options",
    "route_counts",
    "run_pool",
    "sparsity",
    "tie_policy_contributions",
    "tie_policy_gradients",
]

#: Human-readable name of each op.
OP_LABELS = {
    "max": "max pooling",
    "avg": "average pooling",
    "lse": "LogSumExp pooling",
    "lp": "Lp pooling",
    "soft": "SoftPool",
    "stochastic": "stochastic pooling",
}

# Options each op takes besides x, kernel_size and stride, with their defaults.
_OPTIONS = {
    "max": {"padding": 0, "dilation": 1, "ceil_mode": False},
    "avg": {"padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None},
    "lse": {"beta": 1.0},
    "lp": {"norm_type": 2.0, "ceil_mode": False},
    "soft": {},
    "stochastic": {"rng": None, "indices": None},
}
_ALIASES = {
    "average": "avg", "mean": "avg", "logsumexp": "lse", "smooth": "lse", "softpool": "soft",
    _max.max_pool2d: "max", _avg.avg_pool2d: "avg", _smooth.logsumexp_pool2d: "lse", _avg.lp_pool2d: "lp",
    _smooth.soft_pool2d: "soft", _smooth.stochastic_pool2d: "stochastic",
}


def op_name(op) -> str:
    """Canonical short name of ``op`` (a name, an alias such as ``"average"``, or a poolviz forward function)."""
    try:
        name = _ALIASES.get(op, op)
    except TypeError:  # unhashable
        name = op
    if isinstance(name, str) and name in _OPTIONS:
        return name
    raise ValueError(f"unknown pooling op {op!r}; choose one of {', '.join(map(repr, _OPTIONS))} "
                     f"(or pass a poolviz forward function such as poolviz.max_pool2d).")


def op_options(op) -> dict:
    """The options ``op`` takes besides ``x``, ``kernel_size`` and ``stride``, with their defaults."""
    return dict(_OPTIONS[op_name(op)])


_KNOWN_OPTIONS = sorted({key for opts in _OPTIONS.values() for key in opts})


def _split_options(name: str, options: dict) -> dict:
    allowed = _OPTIONS[name]
    chosen = dict(allowed)
    for key, value in options.items():
        if key in allowed:
            chosen[key] = value
            continue
        if key not in _KNOWN_OPTIONS:  # a typo such as paddin=None must not pass silently
            close = difflib.get_close_matches(key, _KNOWN_OPTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{key!r} is not an option of any pooling op{hint}; options "
                             f"{OP_LABELS[name]} takes: {', '.join(allowed) or 'only kernel_size and stride'}.")
        neutral = {"padding": 0, "dilation": 1, "ceil_mode": False}.get(key, object())
        if value is None or (not isinstance(value, (tuple, list)) and value == neutral):
            continue  # a neutral setting of an option the op lacks is harmless
        raise ValueError(f"{OP_LABELS[name]} has no {key} option (its PyTorch counterpart has none); "
                         f"options it takes: {', '.join(allowed) or 'only kernel_size and stride'}.")
    return chosen


@dataclass(frozen=True)
class PoolRun:
    """One forward and backward pass of a 2-d pooling op.

    Attributes
    ----------
    op : str
        Canonical op name.
    y : ndarray of shape (..., H_out, W_out)
        The forward output.
    grad_output : ndarray of shape (..., H_out, W_out)
        The upstream gradient that was routed back.
    dx : ndarray of shape (..., H, W)
        The op's backward: the gradient each input receives.
    indices : ndarray of int64, shape (..., H_out, W_out), or None
        The sampled positions (stochastic pooling only).
    """

    op: str
    y: np.ndarray
    grad_output: np.ndarray
    dx: np.ndarray
    indices: np.ndarray | None = None


def run_pool(op, x, kernel_size, stride=None, *, grad_output=None, **options) -> PoolRun:
    """Forward and backward of ``op`` on ``x``, through the poolviz ops themselves.

    Parameters
    ----------
    op : str or poolviz forward function
    x : array_like of shape (..., H, W)
    kernel_size, stride : int or (int, int)
    grad_output : array_like of shape (..., H_out, W_out), optional
        Defaults to all ones (the gradient of ``y.sum()``).
    **options
        The op's own options (see :func:`op_options`): ``padding``, ``dilation``, ``ceil_mode`` (max);
        ``padding``, ``ceil_mode``, ``count_include_pad``, ``divisor_override`` (avg); ``beta`` (lse);
        ``norm_type``, ``ceil_mode`` (lp); ``rng`` or ``indices`` (stochastic: pass ``indices`` to reuse a
        sample).

    Returns
    -------
    PoolRun

    Raises
    ------
    ValueError, TypeError
        The op's own message for invalid arguments.
    """
    name = op_name(op)
    o = _split_options(name, options)
    indices = None
    if name == "max":
        y = _max.max_pool2d(x, kernel_size, stride, o["padding"], o["dilation"], o["ceil_mode"])
        back = lambda g: _max.max_pool2d_backward(g, x, kernel_size, stride, o["padding"], o["dilation"],  # noqa: E731
                                                  o["ceil_mode"])
    elif name == "avg":
        args = (kernel_size, stride, o["padding"], o["ceil_mode"], o["count_include_pad"], o["divisor_override"])
        y = _avg.avg_pool2d(x, *args)
        back = lambda g: _avg.avg_pool2d_backward(g, x, *args)  # noqa: E731
    elif name == "lse":
        y = _smooth.logsumexp_pool2d(x, kernel_size, stride, o["beta"])
        back = lambda g: _smooth.logsumexp_pool2d_backward(g, x, kernel_size, stride, o["beta"])  # noqa: E731
    elif name == "lp":
        y = _avg.lp_pool2d(x, o["norm_type"], kernel_size, stride, o["ceil_mode"])
        back = lambda g: _avg.lp_pool2d_backward(g, x, o["norm_type"], kernel_size, stride, o["ceil_mode"])  # noqa: E731
    elif name == "soft":
        y = _smooth.soft_pool2d(x, kernel_size, stride)
        back = lambda g: _smooth.soft_pool2d_backward(g, x, kernel_size, stride)  # noqa: E731
    else:
        if o["indices"] is None:
            y, indices = _smooth.stochastic_pool2d(x, kernel_size, stride, o["rng"])
        else:
            x = check_array(x)
            indices = np.asarray(o["indices"])
            # the backward's own checks, before gathering: a bad index must not escape as a raw IndexError
            indices_to_codes(indices, pool_geometry(x.shape[-2:], kernel_size, stride, 0, 1, False), x.shape[:-2])
            flat = x.reshape(x.shape[:-2] + (-1,))
            y = np.take_along_axis(flat, indices.reshape(indices.shape[:-2] + (-1,)), axis=-1).reshape(indices.shape)
        back = lambda g: _smooth.stochastic_pool2d_backward(g, x, indices, kernel_size, stride)  # noqa: E731
    g = np.ones(np.shape(y)) if grad_output is None else np.asarray(grad_output)
    return PoolRun(name, y, g, back(g), indices)


def contributions(op, x, kernel_size, stride=None, *, grad_output=None, **options) -> np.ndarray:
    """What each output cell's gradient adds to ``dx``: one backward per output cell, batched.

    Parameters
    ----------
    op, x, kernel_size, stride, **options
        As in :func:`run_pool`; ``x`` of shape (H, W) (a single 2-d input).
    grad_output : array_like of shape (H_out, W_out), optional
        Defaults to all ones.

    Returns
    -------
    ndarray of shape (H_out * W_out, H, W)
        Row ``k`` (output cell ``divmod(k, W_out)``, row-major) is the backward of ``grad_output``
        restricted to that one cell. The rows sum to ``run_pool(...).dx`` (up to float rounding).
    """
    x = check_array(x)
    if x.ndim != 2:
        raise ValueError(f"contributions needs a single 2-d input of shape (H, W), got shape {x.shape}.")
    first = run_pool(op, x, kernel_size, stride, grad_output=grad_output, **options)
    Ho, Wo = first.y.shape
    n = Ho * Wo
    onehot = (np.eye(n) * first.grad_output.reshape(-1)).reshape(n, Ho, Wo)
    xs = np.broadcast_to(x, (n,) + x.shape)
    if first.op == "stochastic":
        options = dict(options, indices=np.broadcast_to(first.indices, (n, Ho, Wo)))
    return run_pool(op, xs, kernel_size, stride, grad_output=onehot, **options).dx


def jacobian(op, x, kernel_size, stride=None, **options) -> np.ndarray:
    """The Jacobian ``d y / d x`` of a pooling layer as a matrix: rows outputs, columns inputs (both row-major).

    Parameters
    ----------
    op, kernel_size, stride, **options
        As in :func:`run_pool`.
    x : array_like of shape (H, W), or a shape tuple (H, W)
        Max and the smooth ops depend on the values; given a shape, ``x`` is drawn from a seeded
        normal distribution (``np.random.default_rng(0)``; non-negative for stochastic pooling).

    Returns
    -------
    ndarray of shape (H_out * W_out, H * W)
        For max pooling a 0/1 selection matrix (one 1 per row); for average pooling a banded matrix
        with ``1/k^2`` in each window.
    """
    if isinstance(x, tuple) and all(isinstance(v, (int, np.integer)) for v in x):
        x = np.random.default_rng(0).standard_normal(x)
        if op_name(op) == "stochastic":
            x = np.abs(x)
    c = contributions(op, x, kernel_size, stride, **options)
    return c.reshape(c.shape[0], -1)


def route_counts(op, x, kernel_size, stride=None, **options) -> np.ndarray:
    """How many output cells send gradient to each input (nonzero Jacobian entries per column).

    Returns
    -------
    ndarray of int, shape (H, W)
        For max pooling with overlapping windows, a 2 marks an input that is the maximum of two windows.
    """
    c = contributions(op, x, kernel_size, stride, **options)
    return np.count_nonzero(c, axis=0)


def sparsity(dx) -> float:
    """Fraction of inputs that receive any gradient (``dx != 0``), in [0, 1]."""
    dx = np.asarray(dx)
    return float(np.count_nonzero(dx)) / dx.size if dx.size else 0.0


def format_value(v) -> str:
    """Short text for a number in a cell or a title.

    Integers without decimals (``"3"``), else two decimals (``"0.33"``); tiny values with one significant
    digit (``"1e-4"``); large ones (``|v| >= 1e4``) with three significant digits (``"1e+05"``), so a
    label stays narrow enough for its cell.
    """
    v = float(v)
    if not np.isfinite(v):
        return "-inf" if v == -np.inf else ("inf" if v > 0 else "nan")
    if v == 0:
        return "0"
    if abs(v) >= 1e4:
        return f"{v:.3g}"
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v)))
    if abs(v) < 0.005:
        return f"{v:.0e}".replace("e-0", "e-")
    return f"{v:.2f}"


def gradient_sum_check(dx, grad_output) -> tuple[str, bool]:
    """Compare the gradient's sum with the upstream sum; say whether a max-pooling ``dx`` can be a gradient.

    Max pooling hands each window's gradient back whole (first maximum) or in equal shares (split among
    tied maxima), so ``dx.sum()`` equals ``grad_output.sum()``. Any other sum, larger or smaller (with a
    negative upstream gradient, giving every tied maximum the full gradient makes the sum *smaller*),
    means the rule is wrong. Use it for max pooling only: average pooling with padding legitimately
    hands back less (the padding's share is dropped).

    Parameters
    ----------
    dx : array_like of shape (..., H, W)
    grad_output : array_like of shape (..., H_out, W_out)

    Returns
    -------
    text : str
        ``"sum of dx = 1 = upstream 1"``, or ``"sum of dx = 4 > upstream 1: not a gradient"`` (``<`` when
        the sum falls short).
    is_gradient : bool
        Whether the two sums agree (up to float rounding).
    """
    a, b = float(np.sum(dx)), float(np.sum(grad_output))
    fa, fb = format_value(a), format_value(b)
    if np.isclose(a, b):
        return f"sum of dx = {fa} = upstream {fb}", True
    return f"sum of dx = {fa} {'>' if a > b else '<'} upstream {fb}: not a gradient", False


#: Max pooling's rules for a tied maximum: "first" (PyTorch), "split" (a subgradient), "all" (wrong).
TIE_POLICIES = ("first", "split", "all")

_NAN_IN_WINDOW = ("window {where} contains NaN: tie rules compare values; a window with NaN has no tie to break: "
                  "max pooling propagates NaN (its index points at the last NaN). Use poolviz.max_pool2d_backward "
                  "for the op itself.")


def _tie_args(name, x, kernel_size, stride, padding, dilation, ceil_mode, policy, grad_output):
    """The checked ``(x, geometry, grad_output)`` of a tie-rule function (grad_output defaults to ones)."""
    if policy not in TIE_POLICIES:
        raise ValueError(f"policy must be one of {', '.join(map(repr, TIE_POLICIES))}, got {policy!r}.")
    x = check_array(x)
    if x.ndim != 2:
        raise ValueError(f"{name} needs a single 2-d input of shape (H, W), got shape {x.shape}.")
    geom = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    g = np.ones(geom.out_shape) if grad_output is None else np.asarray(grad_output, dtype=np.float64)
    if g.shape != geom.out_shape:
        raise ValueError(f"grad_output has shape {g.shape}, but max pooling's output has shape {geom.out_shape}.")
    return x, geom, g


def tie_policy_gradients(x, kernel_size, stride=None, policy="first", grad_output=None, padding=0, dilation=1,
                         ceil_mode=False) -> np.ndarray:
    """Max-pooling input gradient under three rules for a tied maximum, by a plain loop over windows.

    Parameters
    ----------
    x : array_like of shape (H, W)
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`poolviz.max_pool2d`.
    policy : {"first", "split", "all"}
        ``"first"``: the whole gradient goes to the first maximum in row-major window order (PyTorch,
        TensorFlow on CPU; equals :func:`poolviz.max_pool2d_backward`).
        ``"split"``: shared equally among the tied maxima (a valid subgradient; what reductions like
        ``torch.amax`` do).
        ``"all"``: every tied maximum receives the full gradient. This is **wrong**: with ``t`` ties a
        window hands back ``t`` times its gradient, so ``dx.sum()`` exceeds ``grad_output.sum()``.
    grad_output : array_like of shape (H_out, W_out), optional
        Defaults to all ones.

    Returns
    -------
    ndarray of shape (H, W)

    Raises
    ------
    ValueError
        For an unknown policy, or a window that contains NaN (NaN equals nothing, not even itself, so a
        tie rule has nothing to compare; max pooling itself propagates the NaN).
    """
    x, geom, g = _tie_args("tie_policy_gradients", x, kernel_size, stride, padding, dilation, ceil_mode, policy,
                           grad_output)
    H, W = x.shape
    dx = np.zeros((H, W))
    rows, cols = geom.h.coords(), geom.w.coords()
    for oh in range(geom.h.out):
        for ow in range(geom.w.out):
            # window members in row-major order (the order that decides "first"); padding is never a maximum
            members = [(r, c) for r in rows[oh] for c in cols[ow] if 0 <= r < H and 0 <= c < W]
            if any(np.isnan(x[rc]) for rc in members):
                raise ValueError(_NAN_IN_WINDOW.format(where=(oh, ow)))
            best = max(x[r, c] for r, c in members)
            tied = [(r, c) for r, c in members if x[r, c] == best]
            if policy == "first":
                dx[tied[0]] += g[oh, ow]
            elif policy == "split":
                for rc in tied:
                    dx[rc] += g[oh, ow] / len(tied)
            else:
                for rc in tied:
                    dx[rc] += g[oh, ow]
    return dx


def tie_policy_contributions(x, kernel_size, stride=None, policy="first", grad_output=None, padding=0, dilation=1,
                             ceil_mode=False) -> np.ndarray:
    """What each output cell's gradient adds to ``dx`` under a tie policy: :func:`tie_policy_gradients`, one
    window at a time, vectorised (the explorer's player and markers need every window's share).

    Parameters
    ----------
    x, kernel_size, stride, policy, padding, dilation, ceil_mode
        As in :func:`tie_policy_gradients`.
    grad_output : array_like of shape (H_out, W_out), optional
        Defaults to all ones (then row ``k`` says which inputs window ``k`` reaches, and with what share).

    Returns
    -------
    ndarray of shape (H_out * W_out, H, W)
        Row ``k`` (output cell ``divmod(k, W_out)``, row-major) holds ``grad_output[k]`` at the first
        maximum (``"first"``), ``grad_output[k] / t`` at each of the ``t`` tied maxima (``"split"``), or
        ``grad_output[k]`` at each of them (``"all"``). The rows sum to :func:`tie_policy_gradients`
        (up to float rounding).

    Raises
    ------
    ValueError
        As in :func:`tie_policy_gradients` (a window with NaN has no tie to break).
    """
    x, geom, g = _tie_args("tie_policy_contributions", x, kernel_size, stride, padding, dilation, ceil_mode, policy,
                           grad_output)
    H, W = x.shape
    Ho, Wo = geom.out_shape
    # window members as (H_out, W_out, kh, kw) row and column indices; padding is never a maximum
    r = geom.h.coords()[:, None, :, None]
    c = geom.w.coords()[None, :, None, :]
    inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)
    r, c = np.broadcast_arrays(r, c)
    vals = np.where(inside, x[np.clip(r, 0, H - 1), np.clip(c, 0, W - 1)], -np.inf)
    nan = np.isnan(vals).any(axis=(2, 3))
    if nan.any():  # NaN == NaN is False: nothing would count as tied, and "split" would divide by zero
        raise ValueError(_NAN_IN_WINDOW.format(where=tuple(int(v) for v in np.argwhere(nan)[0])))
    tied = inside & (vals == vals.max(axis=(2, 3), keepdims=True))
    if policy == "first":  # argmax of a boolean is its first True: row-major window order, as in the loop
        flat = tied.reshape(Ho, Wo, -1)
        first = np.zeros_like(flat)
        np.put_along_axis(first, flat.argmax(axis=-1)[..., None], True, axis=-1)
        tied = first.reshape(tied.shape) & tied  # argmax of an all-False window would pick slot 0
    # every window has a real maximum (pool_geometry refuses all-padding windows), and padding is never chosen:
    # a padding slot at row or column -1 would wrap to the last input
    assert tied.any(axis=(2, 3)).all() and not (tied & ~inside).any(), "a window chose a padding slot"
    share = g / tied.sum(axis=(2, 3)) if policy == "split" else g
    oh, ow, i, j = np.nonzero(tied)
    out = np.zeros((Ho, Wo, H, W))
    out[oh, ow, r[oh, ow, i, j], c[oh, ow, i, j]] = share[oh, ow]  # members of one window are distinct inputs
    return out.reshape(Ho * Wo, H, W)
