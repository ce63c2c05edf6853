"""Models of typical mistakes: the pooling loops with one deliberate mistake switched on, and the message naming it.

A checker runs each model on its case; when a learner's answer equals a model's (and the model's differs from
the right answer), the model's message is the likely cause. With every mistake switched off, each model is
:mod:`poolviz.reference`'s loop: they walk a window with the same
:func:`~poolviz.reference.window_positions` and choose a max window's winners with the same
:func:`~poolviz.reference.max_winners`. A mistake changes only what it names:

* which positions take part in a window: zero padding (a padding position takes part with the value 0, may
  win, and then its gradient goes nowhere); a negative index that wraps around (a position with
  ``-H <= r < 0`` reads ``x[r]``, as numpy would); the stride ignored (windows placed with step 1); the last
  row and column of windows skipped;
* the tie rule ("last", "split", "all" instead of "first");
* where and how a winner's gradient lands: a transposed index, 1 instead of ``g``, ``=`` instead of ``+=``;
* for average pooling, the divisor.

The models take square kernels and one stride and padding for both axes, as the exercises do.
"""
from __future__ import annotations

import numpy as np

from ..geometry import output_size
from ..reference import max_winners, window_members, window_positions


def _members(x, oh, ow, k, s, p, *, pad_value=None, wrap=False):
    """The positions of window ``(oh, ow)`` over ``x`` of shape (H, W) that take part, and their values.

    Returns ``(positions, values)``, two lists in row-major window order (the order that breaks ties).
    Correctly, only the real positions take part: max pooling's -inf padding never wins, and average
    pooling sends padding no gradient. ``pad_value`` (the zero-padding mistake: 0.0) makes every padding
    position take part with that value, at position None (its gradient goes nowhere). ``wrap`` (no bounds
    check) makes a position with ``-H <= r < 0`` or ``-W <= c < 0`` read ``x[r, c]``, which numpy wraps to the
    far edge.
    """
    H, W = x.shape
    positions, values = [], []
    for r, c in window_positions(oh, ow, (k, k), (s, s), (p, p), (1, 1)):
        if (0 <= r < H and 0 <= c < W) or (wrap and -H <= r < H and -W <= c < W):
            positions.append((r, c))
            values.append(x[r, c])
        elif pad_value is not None:
            positions.append(None)
            values.append(pad_value)
    return positions, values


def _max_backward_variant(g, x, k, stride=None, padding=0, *, tie_rule="first", accumulate=True, pad_value=None,
                          transpose=False, times_g=True, skip_last=False, wrap=False, place_stride=None):
    """The max-pool backward with one deliberate mistake switched on (defaults: the correct rule).

    Parameters
    ----------
    g : ndarray of shape (H_out, W_out)
        The upstream gradient; its shape sets the number of windows.
    x : ndarray of shape (H, W)
    k, stride, padding : int
        A square kernel, its stride (None: ``k``) and padding.
    tie_rule : {"first", "last", "split", "all"}
        Which tied maxima receive the gradient (:func:`poolviz.reference.max_winners`).
    accumulate : bool
        False: ``dx[r, c] = share`` (overwrite) instead of ``+=``.
    pad_value, wrap
        Padding taking part with this value, or wrapped negative indices (see :func:`_members`).
    transpose : bool
        The gradient lands at ``(c, r)`` (for a square x only).
    times_g : bool
        False: each winner receives 1 instead of ``g[oh, ow]``.
    skip_last : bool
        The last row and column of windows are never visited.
    place_stride : int, optional
        Windows placed with this step instead of ``stride`` (1: the stride ignored).

    Returns
    -------
    ndarray of shape (H, W)
    """
    s = (k if stride is None else stride) if place_stride is None else place_stride
    Ho, Wo = g.shape
    dx = np.zeros(x.shape)
    for oh in range(Ho - skip_last):
        for ow in range(Wo - skip_last):
            positions, values = _members(x, oh, ow, k, s, padding, pad_value=pad_value, wrap=wrap)
            winners, divisor = max_winners(values, tie_rule)
            share = (g[oh, ow] if times_g else 1.0) / divisor
            for i in winners:
                if positions[i] is None:  # padding won: its gradient goes nowhere
                    continue
                r, c = positions[i][::-1] if transpose else positions[i]
                if accumulate:
                    dx[r, c] += share
                else:
                    dx[r, c] = share
    return dx


def _max_forward_variant(x, k, stride=None, padding=0, *, pad_value=None, skip_last=False, Ho=None, Wo=None,
                         wrap=False, place_stride=None):
    """The max-pool forward with one deliberate mistake switched on (defaults: the correct rule).

    ``x`` has shape (H, W); the result has shape (Ho - skip_last, Wo - skip_last), where ``Ho``, ``Wo``
    default to the right output size (one more per axis: the off-by-one of rounding up). ``pad_value``,
    ``wrap``, ``skip_last``, ``place_stride`` as in :func:`_max_backward_variant`. A window with no position
    taking part (one past the input) gives -inf, the -inf padding it holds.
    """
    s = k if stride is None else stride
    H, W = x.shape
    Ho = output_size(H, k, s, padding) if Ho is None else Ho
    Wo = output_size(W, k, s, padding) if Wo is None else Wo
    s = s if place_stride is None else place_stride
    y = np.zeros((Ho - skip_last, Wo - skip_last))
    for oh in range(y.shape[0]):
        for ow in range(y.shape[1]):
            _, values = _members(x, oh, ow, k, s, padding, pad_value=pad_value, wrap=wrap)
            if values:
                (first,), _ = max_winners(values)
                y[oh, ow] = values[first]
            else:  # a window past the input holds only -inf padding
                y[oh, ow] = -np.inf
    return y


def _avg_backward_variant(g, x, k, stride=None, padding=0, *, divisor="k*k", accumulate=True, skip_last=False,
                          place_stride=None):
    """The average-pool backward (zero padding counted in the divisor) with one deliberate mistake switched on.

    ``g`` has shape (H_out, W_out), ``x`` shape (H, W); returns ``dx`` of shape (H, W). Every real position
    of a window receives ``g[oh, ow] / d``, where ``divisor`` picks ``d``: "k*k" (right: every position of
    the window, padding included, as ``count_include_pad=True``), "k", "1", or "real" (the real positions
    only). ``accumulate``, ``skip_last``, ``place_stride`` as in :func:`_max_backward_variant`.
    """
    s = (k if stride is None else stride) if place_stride is None else place_stride
    H, W = x.shape
    Ho, Wo = g.shape
    dx = np.zeros((H, W))
    for oh in range(Ho - skip_last):
        for ow in range(Wo - skip_last):
            walk = (oh, ow, (k, k), (s, s), (padding, padding), (1, 1))
            members = window_members(*walk, H, W)
            d = {"k*k": len(list(window_positions(*walk))), "k": k, "1": 1, "real": len(members)}[divisor]
            for r, c in members:
                if accumulate:
                    dx[r, c] += g[oh, ow] / d
                else:
                    dx[r, c] = g[oh, ow] / d
    return dx


# The messages naming each mistake, shown after "likely cause: ".

_OVERWRITE = ("overwriting instead of accumulating: where windows overlap, an input that is the maximum of "
              "several windows must receive the SUM of their gradients. `dx[r, c] = g` and a buffered fancy-index "
              "`dx[rows, cols] += g` both keep only one of them; use `dx[r, c] += g` in the loop, or np.add.at.")
_ALL_TIES = ("every tied maximum received the gradient. The maximum is one value, so the window's gradient goes to "
             "ONE input: the first maximum in row-major window order (PyTorch's rule).")
_SPLIT_TIES = ("the gradient was split among the tied maxima (what central differences suggest). PyTorch's max "
               "pooling (the rule these exercises follow) gives the whole gradient to the first maximum in "
               "row-major window order; the others get 0.")
_LAST_TIE = ("the LAST tied maximum won (`>=` instead of `>` when scanning the window?). The first maximum in "
             "row-major window order wins: update the winner only on a strictly larger value.")
_ZERO_PAD = ("zero padding instead of -inf: with all-negative inputs a zero from the padding wins the window and the "
             "gradient is lost. Max pooling pads with -inf (padding never wins): skip coordinates outside the input.")
_TRANSPOSED = ("a transposed index: the gradient landed at (col, row) instead of (row, col). Rows go with x.shape[0] "
               "(H) and the first index of grad_output; columns with x.shape[1] (W).")
_TRANSPOSED_FORWARD = "a transposed index: y[oh, ow] must come from rows oh*stride.. and columns ow*stride.."
_NOT_TIMES_G = ("each winner received 1 instead of the upstream gradient grad_output[oh, ow]: the chain rule "
                "multiplies the local derivative (1 for the winner) by the gradient arriving from above.")
_SKIP_LAST = ("an off-by-one in the output size: your output has one row and one column of windows too few, so the "
              "last windows were never visited. Count the window starts, the last one included.")
_ONE_TOO_MANY = ("an off-by-one in the output size: one window too many per axis. You rounded the division up (or "
                 "counted a start whose window runs past the end); windows must fit inside the padded input.")
_WRAPPED = ("negative index wrapped around: a padding position such as row -1 was read as x[-1, ...], the LAST row, "
            "and its value won the window. Padding positions must be skipped (treated as -inf): check "
            "0 <= r < H and 0 <= c < W before indexing x.")
_STRIDE_1 = ("stride ignored: the windows were placed with stride 1 (window (oh, ow) starting at row oh, col ow). "
             "Window (oh, ow) starts at row oh*stride - padding, col ow*stride - padding.")
_STRIDE_1_SHAPE = ("stride ignored: the output size and the windows were computed with stride = 1. Windows start "
                   "every `stride` positions, so there are fewer of them than with stride 1; window (oh, ow) starts "
                   "at row oh*stride - padding, col ow*stride - padding.")
_NOT_DIVIDED = ("the gradient was not divided by the window size: y = sum(window) / k^2, so dy/dx = 1/k^2 for each "
                "element of the window.")
_DIVIDED_BY_K = "divided by kernel_size instead of kernel_size**2: a k x k window has k^2 elements."
_OVERWRITE_AVG = _OVERWRITE.replace("the maximum of several windows", "in several windows")
_REAL_COUNT = ("divided by the number of real (non-padding) elements: with count_include_pad=True (the default) the "
               "zero padding counts, so the divisor is kernel_size**2.")
