"""Max pooling's rules for a tied maximum, compared: who receives a tied window's gradient.

``"first"`` is max pooling's own rule (PyTorch, TensorFlow on CPU): the whole gradient goes to the first
maximum in row-major window order. ``"split"`` shares it equally among the tied maxima: a valid
subgradient, what reductions like ``torch.amax`` do. ``"all"`` gives every tied maximum the full gradient:
**wrong**, as a window with ``t`` ties then hands back ``t`` times its gradient.

:func:`tie_policy_gradients` is the plain loop (:func:`poolviz.reference.max_pool2d_backward_loop`, whose
:func:`~poolviz.reference.max_winners` holds the rules); :func:`tie_policy_contributions` computes every
window's share at once, for the explorer's player and markers. A window holding NaN has no tie to break
(NaN equals nothing, not even itself): both refuse it, while max pooling itself propagates the NaN.
"""
from __future__ import annotations

import numpy as np

from .checks import check_array
from .geometry import pool_geometry
from .reference import max_pool2d_backward_loop

__all__ = ["TIE_POLICIES", "tie_policy_contributions", "tie_policy_gradients"]

#: Max pooling's rules for a tied maximum: "first" (PyTorch), "split" (a subgradient), "all" (wrong).
TIE_POLICIES = ("first", "split", "all")

_NAN_IN_WINDOW = ("window {where} contains NaN: tie rules compare values; a window with NaN has no tie to break: "
                  "max pooling propagates NaN (its index points at the last NaN). Use poolviz.max_pool2d_backward "
                  "for the op itself.")


def _window_values(x, geom):
    """Every window's values as (H_out, W_out, kh, kw), -inf at padding, and the (rows, cols, inside) of each slot."""
    H, W = x.shape
    r = geom.h.coords()[:, None, :, None]
    c = geom.w.coords()[None, :, None, :]
    inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)
    r, c = np.broadcast_arrays(r, c)
    return np.where(inside, x[np.clip(r, 0, H - 1), np.clip(c, 0, W - 1)], -np.inf), r, c, inside


def _tie_args(name, x, kernel_size, stride, padding, dilation, ceil_mode, policy, grad_output):
    """The checked ``(x, geometry, grad_output, window values)`` of a tie-rule function (grad_output: ones)."""
    if policy not in TIE_POLICIES:
        raise ValueError(f"policy must be one of {', '.join(map(repr, TIE_POLICIES))}, got {policy!r}.")
    x = check_array(x)
    if x.ndim != 2:
        raise ValueError(f"{name} needs a single 2-d input of shape (H, W), got shape {x.shape}.")
    geom = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    g = np.ones(geom.out_shape) if grad_output is None else np.asarray(grad_output, dtype=np.float64)
    if g.shape != geom.out_shape:
        raise ValueError(f"grad_output has shape {g.shape}, but max pooling's output has shape {geom.out_shape}.")
    windows = _window_values(x, geom)
    nan = np.isnan(windows[0]).any(axis=(2, 3))
    if nan.any():  # NaN == NaN is False: nothing would count as tied, and "split" would divide by zero
        raise ValueError(_NAN_IN_WINDOW.format(where=tuple(int(v) for v in np.argwhere(nan)[0])))
    return x, geom, g, windows


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
    x, geom, g, _ = _tie_args("tie_policy_gradients", x, kernel_size, stride, padding, dilation, ceil_mode, policy,
                              grad_output)
    return max_pool2d_backward_loop(g, x, kernel_size, stride, padding, dilation, ceil_mode, tie_rule=policy)


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
    x, geom, g, (vals, r, c, inside) = _tie_args("tie_policy_contributions", x, kernel_size, stride, padding,
                                                 dilation, ceil_mode, policy, grad_output)
    H, W = x.shape
    Ho, Wo = geom.out_shape
    tied = inside & (vals == vals.max(axis=(2, 3), keepdims=True))  # padding is never a maximum
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
