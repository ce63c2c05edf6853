"""Where the error signal goes: one entry point over every pooling op, Jacobians and route counts.

numpy-only (no matplotlib): the pictures in :mod:`poolviz.plots` and :mod:`poolviz.widgets` draw
what these functions compute, and tests check them against the ops.

Ops are named by short strings (``"max"``, ``"avg"``, ``"lse"``, ``"lp"``, ``"soft"``,
``"stochastic"``) or given as the poolviz forward function itself (``poolviz.max_pool2d``); each is
declared once, in :mod:`poolviz.ops`. Each op accepts only the options its PyTorch counterpart has;
asking for one it does not have (say ``dilation=2`` with average pooling) raises a ``ValueError``
that says so.

Max pooling's tie policies live in :mod:`poolviz.ties`, and the words the pictures use for what they
show (:func:`format_value`, :func:`gradient_sum_check`) in :mod:`poolviz.style`; both are importable
from here too.
"""
from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass

import numpy as np

from .checks import check_array
from .ops import NEUTRAL, OPS, PoolOp, get_op
from .style import format_value, gradient_sum_check
from .ties import TIE_POLICIES, tie_policy_contributions, tie_policy_gradients

__all__ = [
    "OP_LABELS",
    "PoolRun",
    "TIE_POLICIES",
    "contributions",
    "format_value",
    "fraction_reached",
    "gradient_sum_check",
    "jacobian",
    "op_name",
    "op_options",
    "route_counts",
    "run_pool",
    "tie_policy_contributions",
    "tie_policy_gradients",
]

#: Human-readable name of each op.
OP_LABELS = {name: op.label for name, op in OPS.items()}

_KNOWN_OPTIONS = sorted({key for op in OPS.values() for key in op.options})


def op_name(op) -> str:
    """Canonical short name of ``op`` (a name, an alias such as ``"average"``, or a poolviz forward function)."""
    return get_op(op).name


def op_options(op) -> dict:
    """The options ``op`` takes besides ``x``, ``kernel_size`` and ``stride``, with their defaults."""
    return get_op(op).defaults()


def _is_neutral(key: str, value) -> bool:
    """Is ``value`` what an op without option ``key`` does anyway (``padding=0`` or ``(0, 0)``, ...)?"""
    if value is None:
        return True
    if key not in NEUTRAL:
        return False
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    neutral = NEUTRAL[key]
    if isinstance(neutral, bool):
        return all(isinstance(v, (bool, np.bool_)) and bool(v) is neutral for v in items)
    return len(items) > 0 and all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
                                  and v == neutral for v in items)


def _split_options(op: PoolOp, options: dict) -> dict:
    """The op's options, defaults filled in, after refusing an option it lacks (unless set to a neutral value)."""
    chosen = op.defaults()
    takes = ", ".join(op.options) or "only kernel_size and stride"
    for key, value in options.items():
        if key in op.options:
            chosen[key] = value
            continue
        if key not in _KNOWN_OPTIONS:  # a typo such as paddin=None must not pass silently
            close = difflib.get_close_matches(key, _KNOWN_OPTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{key!r} is not an option of any pooling op{hint}; options {op.label} takes: {takes}.")
        if not _is_neutral(key, value):
            raise ValueError(f"{op.label} has no {key} option (its PyTorch counterpart has none); "
                             f"options it takes: {takes}.")
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
    spec = get_op(op)
    y, backward, indices = spec.forward_and_backward(x, kernel_size, stride, _split_options(spec, options))
    g = np.ones(np.shape(y)) if grad_output is None else np.asarray(grad_output)
    return PoolRun(spec.name, y, g, backward(g), indices)


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
    if first.indices is not None:  # an op that samples: replay the same sample for every cell
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
        if get_op(op).nonnegative:
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


def fraction_reached(dx) -> float:
    """Fraction of inputs that the error signal reaches (``dx != 0``), in [0, 1].

    A sparse error signal has a *small* fraction reached: 1/4 for 2x2 max pooling with stride 2, 1 for
    average pooling. (Sparsity, in its usual sense, is the other share: the fraction of zeros.)
    """
    dx = np.asarray(dx)
    return float(np.count_nonzero(dx)) / dx.size if dx.size else 0.0


def __getattr__(name):
    if name == "sparsity":
        raise AttributeError("poolviz.routing.sparsity was renamed fraction_reached: it returned the share of "
                             "inputs that receive a gradient, the opposite of what 'sparsity' usually means; "
                             "use fraction_reached(dx), or 1 - fraction_reached(dx) for the share of zeros")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
