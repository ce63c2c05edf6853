"""Models of typical mistakes: the pooling loops with deliberate mistakes switched on, and the messages naming them.

A checker runs the models on its case; when a learner's answer equals a model's (and the model's differs from
the right answer), the model's message is the likely cause. With every mistake switched off, each model is
:mod:`poolviz.reference`'s loop: they walk a window with the same
:func:`~poolviz.reference.window_positions` and choose a max window's winners with the same
:func:`~poolviz.reference.max_winners`. A mistake changes only what it names:

* where window (i, j) starts: the stride ignored (step 1), the kernel size used as the step, the padding not
  subtracted from the start, or the padding ignored altogether (the windows of an unpadded input);
* which positions take part in a window: zero padding (a padding position takes part with the value 0, may
  win, and then its gradient goes nowhere); a negative index that wraps around (a position with
  ``-H <= r < 0`` reads ``x[r]``, as numpy would); a window cut with a slice ``x[r0:r0 + k]`` whose negative
  start counts from the end (so the slice is empty); the last row and column of windows skipped;
* the tie rule ("last", "split", "all" instead of "first");
* where and how a winner's gradient lands: a transposed index, 1 instead of ``g``, ``=`` instead of ``+=``;
* for average pooling, the divisor.

Mistakes are switched on by keywords, so two can be switched on together: a learner's function often has two
(a missing bounds check and an overwrite, say), and their combination is named as such. Each
:class:`Mistake` of a checker's catalogue holds the keywords, a group (mistakes of one group exclude each
other: one tie rule, one window step) and the message.

The models take square kernels and one stride and padding for both axes, as the exercises do.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import output_size
from ..reference import max_winners, window_members, window_positions


@dataclass(frozen=True)
class Mistake:
    """One modelled mistake: the model's keywords that switch it on, its group, and the message naming it.

    Two mistakes of the same ``group`` cannot be made together (a window has one step, one tie rule).
    """

    message: str
    group: str
    flags: dict = field(default_factory=dict, hash=False, compare=False)


def _placement(H, W, k, s, p, Ho, Wo, *, place_stride=None, place_padding=None, ignore_padding=False):
    """Where the windows go under the placement mistakes: ``(step, offset, rows, cols)``.

    Window ``(i, j)`` starts at row ``i*step - offset``, for ``i < rows`` and ``j < cols``. Right: ``(s, p,
    Ho, Wo)``. ``place_stride`` replaces the step (1: the stride ignored; k: the kernel size used instead),
    ``place_padding`` the offset (0: padding not subtracted), and ``ignore_padding`` makes the windows those
    of the unpadded input (offset 0, and as many as ``output_size(H, k, s)``).
    """
    step = s if place_stride is None else place_stride
    offset = p if place_padding is None else place_padding
    if ignore_padding:
        offset, Ho, Wo = 0, min(Ho, output_size(H, k, s)), min(Wo, output_size(W, k, s))
    return step, offset, Ho, Wo


def _members(x, oh, ow, k, s, p, *, pad_value=None, wrap=False, slices=False):
    """The positions of window ``(oh, ow)`` over ``x`` of shape (H, W) that take part, and their values.

    Returns ``(positions, values)``, two lists in row-major window order (the order that breaks ties).
    Correctly, only the real positions take part: max pooling's -inf padding never wins, and average
    pooling sends padding no gradient. ``pad_value`` (the zero-padding mistake: 0.0) makes every padding
    position take part with that value, at position None (its gradient goes nowhere). ``wrap`` (no bounds
    check) makes a position with ``-H <= r < 0`` or ``-W <= c < 0`` read ``x[r, c]``, which numpy wraps to the
    far edge. ``slices`` cuts the window as ``x[r0:r0 + k, c0:c0 + k]``: a negative start counts from the
    end, so the slice is empty (or, on an input smaller than the kernel, wrapped), as Python's own slicing
    of ``range(H)`` shows.
    """
    H, W = x.shape
    if slices:
        r0, c0 = oh * s - p, ow * s - p
        positions = [(r, c) for r in range(H)[r0:r0 + k] for c in range(W)[c0:c0 + k]]
        return positions, [x[r, c] for r, c in positions]
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
                          transpose=False, times_g=True, skip_last=False, wrap=False, slices=False,
                          place_stride=None, place_padding=None, ignore_padding=False):
    """The max-pool backward with deliberate mistakes switched on (defaults: the correct rule).

    Parameters
    ----------
    g : ndarray of shape (H_out, W_out)
        The upstream gradient (grad_output); its shape sets the number of windows.
    x : ndarray of shape (H, W)
    k, stride, padding : int
        A square kernel, its stride (None: ``k``) and padding.
    tie_rule : {"first", "last", "split", "all"}
        Which tied maxima receive the gradient (:func:`poolviz.reference.max_winners`).
    accumulate : bool
        False: ``dx[r, c] = share`` (overwrite) instead of ``+=``.
    pad_value, wrap, slices
        Padding taking part with this value, wrapped negative indices, windows cut by slicing (see
        :func:`_members`).
    transpose : bool
        The gradient lands at ``(c, r)``.
    times_g : bool
        False: each winner receives 1 instead of ``g[oh, ow]``.
    skip_last : bool
        The last row and column of windows are never visited.
    place_stride, place_padding, ignore_padding
        Where the windows start (see :func:`_placement`).

    Returns
    -------
    ndarray of shape (H, W), or None when a mistake cannot be made on this input (a transposed index on a
    non-square ``x``).
    """
    if transpose and x.shape[0] != x.shape[1]:
        return None
    s = k if stride is None else stride
    step, offset, Ho, Wo = _placement(*x.shape, k, s, padding, *g.shape, place_stride=place_stride,
                                      place_padding=place_padding, ignore_padding=ignore_padding)
    dx = np.zeros(x.shape)
    for oh in range(Ho - skip_last):
        for ow in range(Wo - skip_last):
            positions, values = _members(x, oh, ow, k, step, offset, pad_value=pad_value, wrap=wrap, slices=slices)
            if not values:  # an empty window (a slice past the input): nothing to route
                continue
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


def _max_forward_variant(x, k, stride=None, padding=0, *, pad_value=None, skip_last=False, extra=0, transpose=False,
                         wrap=False, slices=False, place_stride=None, place_padding=None, ignore_padding=False):
    """The max-pool forward with deliberate mistakes switched on (defaults: the correct rule).

    ``x`` has shape (H, W); the result has shape (H_out + extra - skip_last, W_out + extra - skip_last), where
    ``extra=1`` is the off-by-one of rounding up (modelled without padding only: None otherwise).
    ``transpose`` pools ``x`` with rows and columns exchanged (a square ``x`` only, else None). The other
    keywords as in :func:`_max_backward_variant`. A window with no position taking part gives -inf, the -inf
    padding it holds.
    """
    if (transpose and x.shape[0] != x.shape[1]) or (extra and padding):
        return None
    s = k if stride is None else stride
    H, W = x.shape
    step, offset, Ho, Wo = _placement(H, W, k, s, padding, output_size(H, k, s, padding),
                                      output_size(W, k, s, padding), place_stride=place_stride,
                                      place_padding=place_padding, ignore_padding=ignore_padding)
    y = np.zeros((Ho + extra - skip_last, Wo + extra - skip_last))
    for oh in range(y.shape[0]):
        for ow in range(y.shape[1]):
            _, values = _members(x, oh, ow, k, step, offset, pad_value=pad_value, wrap=wrap, slices=slices)
            if values:
                (first,), _ = max_winners(values)
                y[oh, ow] = values[first]
            else:  # a window past the input holds only -inf padding
                y[oh, ow] = -np.inf
    return y.T.copy() if transpose else y


def _avg_backward_variant(g, x, k, stride=None, padding=0, *, divisor="k*k", accumulate=True, skip_last=False,
                          slices=False, place_stride=None, place_padding=None, ignore_padding=False):
    """The average-pool backward (zero padding counted in the divisor) with deliberate mistakes switched on.

    ``g`` has shape (H_out, W_out), ``x`` shape (H, W); returns ``dx`` of shape (H, W). Every real position
    of a window receives ``g[oh, ow] / d``, where ``divisor`` picks ``d``: "k*k" (right: every position of
    the window, padding included, as ``count_include_pad=True``), "k", "1", or "real" (the real positions
    only). ``accumulate``, ``skip_last``, ``slices`` and the placement keywords as in
    :func:`_max_backward_variant`.
    """
    s = k if stride is None else stride
    H, W = x.shape
    step, offset, Ho, Wo = _placement(H, W, k, s, padding, *g.shape, place_stride=place_stride,
                                      place_padding=place_padding, ignore_padding=ignore_padding)
    dx = np.zeros((H, W))
    for oh in range(Ho - skip_last):
        for ow in range(Wo - skip_last):
            walk = (oh, ow, (k, k), (step, step), (offset, offset), (1, 1))
            members = _members(x, oh, ow, k, step, offset, slices=True)[0] if slices else window_members(*walk, H, W)
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
_TRANSPOSED_FORWARD = ("a transposed index: y[i, j] must come from the window at rows i*stride - padding.. and "
                       "columns j*stride - padding.. (rows go with x.shape[0], H).")
_NOT_TIMES_G = ("each winner received 1 instead of the upstream gradient grad_output[i, j]: the chain rule "
                "multiplies the local derivative (1 for the winner) by the gradient arriving from above.")
_SKIP_LAST = ("an off-by-one in the output size: your output has one row and one column of windows too few, so the "
              "last windows were never visited. Count the window starts, the last one included.")
_ONE_TOO_MANY = ("an off-by-one in the output size: one window too many per axis. You rounded the division up (or "
                 "counted a start whose window runs past the end); windows must fit inside the padded input.")
_WRAPPED = ("negative index wrapped around: a padding position such as row -1 was read as x[-1, ...], the LAST row, "
            "and its value won the window. Padding positions must be skipped (treated as -inf): check "
            "0 <= r < H and 0 <= c < W before indexing x.")
_STRIDE_1 = ("stride ignored: the windows were placed with stride 1 (the window at output indices (i, j) starting "
             "at row i, col j). Window (i, j) starts at row i*stride - padding, col j*stride - padding.")
_STRIDE_1_SHAPE = ("stride ignored: the output size and the windows were computed with stride = 1. Windows start "
                   "every `stride` positions, so there are fewer of them than with stride 1; the window at output "
                   "indices (i, j) starts at row i*stride - padding, col j*stride - padding.")
_KERNEL_STEP = ("the window start used the kernel size instead of the stride: the window at output indices (i, j) "
                "was placed at row i*kernel_size, col j*kernel_size. The two agree only when stride == kernel_size (the default); in "
                "this case they differ. Window (i, j) starts at row i*stride - padding, col j*stride - padding.")
_PAD_NOT_SUBTRACTED = ("padding not subtracted from the window start: the window at output indices (i, j) was "
                       "placed at row i*stride, col j*stride, one padding width too far down and right. With padding the first window "
                       "starts in the padding, at row -padding: window (i, j) starts at row i*stride - padding, "
                       "col j*stride - padding.")
_PAD_IGNORED = ("padding accepted but ignored: your function behaves as if padding=0 (the windows of the unpadded "
                "input, fewer of them and not shifted). Padding adds `padding` rows and columns of {fill} on every "
                "side: count the windows over the padded size, and start window (i, j) at row i*stride - padding, "
                "col j*stride - padding.")
_NEGATIVE_SLICE = ("a negative slice start: with padding, window (0, 0) starts at row -padding, and in numpy x[-1:2] "
                   "is not rows -1, 0, 1 but x[H-1:2], counted from the end: an empty slice (a wrapped one if H < "
                   "kernel_size). {effect} Clip the start at 0, {fix}, or skip positions outside 0..H-1 in a loop.")
_NEGATIVE_SLICE_MAX = _NEGATIVE_SLICE.format(
    effect="Those windows came out empty (and max() of an empty slice fails).",
    fix="x[max(r0, 0):r0 + k], and count the winner's position from the clipped start")
_NEGATIVE_SLICE_AVG = _NEGATIVE_SLICE.format(
    effect="`dx[r0:r0 + k, c0:c0 + k] += ...` then adds to an empty slice: those windows' gradient is lost.",
    fix="dx[max(r0, 0):r0 + k, ...] (the divisor stays kernel_size**2)")
_NOT_DIVIDED = ("the gradient was not divided by the window size: y = sum(window) / k^2, so dy/dx = 1/k^2 for each "
                "element of the window.")
_DIVIDED_BY_K = "divided by kernel_size instead of kernel_size**2: a k x k window has k^2 elements."
_OVERWRITE_AVG = _OVERWRITE.replace("the maximum of several windows", "in several windows")
_REAL_COUNT = ("divided by the number of real (non-padding) elements: with count_include_pad=True (the default) the "
               "zero padding counts, so the divisor is kernel_size**2.")

# The catalogues: each checker's mistakes, in the order they are preferred when several explain an answer.

_PLACEMENT = (
    Mistake(_STRIDE_1, "step", {"place_stride": 1}),
    Mistake(_PAD_NOT_SUBTRACTED, "offset", {"place_padding": 0}),
)


def _kernel_step(k):
    return Mistake(_KERNEL_STEP, "step", {"place_stride": k})


def max_backward_mistakes(k):
    """The mistakes modelled by the max-pool backward's checker, for kernel size ``k``."""
    return (
        Mistake(_NOT_TIMES_G, "times_g", {"times_g": False}),
        Mistake(_OVERWRITE, "accumulate", {"accumulate": False}),
        Mistake(_ALL_TIES, "ties", {"tie_rule": "all"}),
        Mistake(_SPLIT_TIES, "ties", {"tie_rule": "split"}),
        Mistake(_LAST_TIE, "ties", {"tie_rule": "last"}),
        Mistake(_ZERO_PAD, "bounds", {"pad_value": 0.0}),
        Mistake(_SKIP_LAST, "count", {"skip_last": True}),
        Mistake(_WRAPPED, "bounds", {"wrap": True}),
        # No empty-slice model here: a backward that skips empty windows loses the same gradients as zero
        # padding on the padding case; one that does not skip raises, and that error is named (on_empty).
        *_PLACEMENT,
        _kernel_step(k),
        Mistake(_PAD_IGNORED.format(fill="-inf"), "offset", {"ignore_padding": True}),
        Mistake(_TRANSPOSED, "transpose", {"transpose": True}),
    )


def max_forward_mistakes(k):
    """The mistakes modelled by the max-pool forward's checker, for kernel size ``k``."""
    return (
        Mistake(_ZERO_PAD, "bounds", {"pad_value": 0.0}),
        Mistake(_SKIP_LAST, "count", {"skip_last": True}),
        Mistake(_WRAPPED, "bounds", {"wrap": True}),
        Mistake(_NEGATIVE_SLICE_MAX, "bounds", {"slices": True}),
        *_PLACEMENT,
        Mistake(_STRIDE_1_SHAPE, "step", {"stride": 1}),
        _kernel_step(k),
        Mistake(_PAD_IGNORED.format(fill="-inf"), "offset", {"ignore_padding": True}),
        Mistake(_ONE_TOO_MANY, "count", {"extra": 1}),
        Mistake(_TRANSPOSED_FORWARD, "transpose", {"transpose": True}),
    )


def avg_backward_mistakes(k):
    """The mistakes modelled by the average-pool backward's checker, for kernel size ``k``."""
    return (
        Mistake(_NOT_DIVIDED, "divisor", {"divisor": "1"}),
        Mistake(_DIVIDED_BY_K, "divisor", {"divisor": "k"}),
        Mistake(_OVERWRITE_AVG, "accumulate", {"accumulate": False}),
        Mistake(_REAL_COUNT, "divisor", {"divisor": "real"}),
        Mistake(_SKIP_LAST, "count", {"skip_last": True}),
        *_PLACEMENT,
        _kernel_step(k),
        Mistake(_PAD_IGNORED.format(fill="zeros"), "offset", {"ignore_padding": True}),
        Mistake(_NEGATIVE_SLICE_AVG, "bounds", {"slices": True}),
    )
