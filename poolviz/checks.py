"""Checks of the arrays an op is given, and the one rule for the dtype it computes in.

Every check raises ``TypeError`` (a wrong kind of thing) or ``ValueError`` (a wrong shape or value) with
a message that names the argument, what was wrong, and what to do instead. The pooling arguments
themselves (kernel, stride, padding, ...) are checked where the windows are laid out, in
:mod:`poolviz.geometry`.

The dtype rule, as PyTorch applies it to the ops here:

* an op that averages or weighs (average, Lp, LogSumExp, SoftPool) computes in :func:`compute_dtype`:
  float32 and float64 stay as they are, float16 is widened to float32 (PyTorch accumulates half in
  float), integers become float64;
* its result, and every gradient, has :func:`result_dtype`: the input's own float dtype, float64 for
  integers. Max pooling and stochastic pooling return elements of ``x``, so they keep x's dtype.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "check_array",
    "check_grad_output",
    "check_index_range",
    "check_indices",
    "compute_dtype",
    "result_dtype",
]


def compute_dtype(dtype) -> np.dtype:
    """The dtype an averaging op computes in: float16 -> float32, integers -> float64, else unchanged."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return np.dtype(np.float64)
    return np.dtype(np.float32) if dtype.itemsize < 4 else dtype


def result_dtype(dtype) -> np.dtype:
    """The dtype of an averaging op's result and of every gradient: x's float dtype, float64 for integers."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def check_array(x, name: str = "x", *, min_ndim: int = 2, allow_int: bool = True) -> np.ndarray:
    """Return ``x`` as an ndarray after checking its dtype and number of dimensions."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, and could not be converted ({exc}).") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} is complex ({arr.dtype}); pooling compares values, so it needs real numbers.")
    if kind == "b":
        raise TypeError(f"{name} is boolean; convert it first, e.g. {name}.astype(float).")
    if kind not in "iuf" or (kind in "iu" and not allow_int):
        need = "a floating-point" if not allow_int else "a real numeric"
        raise TypeError(f"{name} must be {need} array, got dtype {arr.dtype}"
                        + (f"; convert it first, e.g. {name}.astype(float)." if kind in "iu" else "."))
    if arr.ndim < min_ndim:
        shape = "(..., H, W)" if min_ndim == 2 else "(..., L)"
        raise ValueError(f"{name} must have shape {shape}: at least {min_ndim} dimension"
                         f"{'s' if min_ndim > 1 else ''}, got shape {arr.shape}.")
    return arr


def check_grad_output(grad_output, expected_shape: tuple[int, ...], op: str) -> np.ndarray:
    """Return ``grad_output`` as a float ndarray (integers become float64) after checking it has the forward output's shape."""
    g = check_array(grad_output, "grad_output", min_ndim=0)
    g = g.astype(result_dtype(g.dtype), copy=False)
    if g.shape != tuple(expected_shape):
        raise ValueError(
            f"grad_output has shape {g.shape}, but {op}'s output for this x and these arguments has shape "
            f"{tuple(expected_shape)}; grad_output must have exactly the forward output's shape."
        )
    return g


_FROM_FORWARD = "pass the indices returned by the forward call on this x"


def check_indices(indices, shape, in_shape=None, *, against="the forward output (and grad_output)",
                  hint: str = _FROM_FORWARD) -> np.ndarray:
    """Saved switch indices as int64, after checking their dtype, their shape and (with ``in_shape``) their range.

    Parameters
    ----------
    indices : array_like of int, shape ``shape`` (..., H_out, W_out)
        Flat positions ``row * W + col`` in an input plane, as ``max_pool2d(..., return_indices=True)`` returns.
    shape : tuple of int
        The shape they must have: that of ``against``.
    in_shape : (H, W), optional
        The input plane; its positions are ``0 .. H*W - 1``. Without it the range is left to the caller
        (the fast backward checks it block by block, while the block is in the cache).
    against, hint : str
        Words for the messages: what ``shape`` is the shape of, and what to do about a bad index.
    """
    try:
        idx = np.asarray(indices)
    except Exception:  # ragged lists and the like
        idx = None
    if idx is None or idx.dtype.kind not in "iu":
        got = "something that is not an array" if idx is None else f"dtype {idx.dtype}"
        raise TypeError(f"indices must be an integer array, as returned by max_pool2d(..., return_indices=True); "
                        f"got {got}.")
    if idx.shape != tuple(shape):
        raise ValueError(f"indices has shape {idx.shape}, but {against} has shape {tuple(shape)}; "
                         f"pass the indices returned by the same forward call.")
    if in_shape is not None:
        check_index_range(idx, in_shape, hint)
    elif idx.dtype == np.uint64 and idx.size and idx.max() > np.iinfo(np.int64).max:
        # it would wrap to a negative int64 (the plane's size is checked later, block by block): report it as given
        raise ValueError(f"indices must be flat positions row * W + col in an input plane; found {int(idx.max())}, "
                         f"larger than any plane; {hint}.")
    return idx.astype(np.int64, copy=False)


def check_index_range(indices: np.ndarray, in_shape, hint: str = _FROM_FORWARD) -> np.ndarray:
    """``indices``, after checking that each is a flat position ``0 <= i < H * W`` of an (H, W) plane."""
    size = math.prod(in_shape)
    if not indices.size:
        return indices
    if indices.dtype.kind == "u":
        bad = indices.max() >= size
    elif indices.dtype.itemsize == 8:  # one pass: a negative index is a huge unsigned one
        bad = indices.view(np.uint64).max() >= size
    else:
        bad = indices.min() < 0 or indices.max() >= size
    if bad:
        worst = int(indices.min()) if indices.dtype.kind == "i" and indices.min() < 0 else int(indices.max())
        raise ValueError(f"indices must lie in 0..{size - 1} (flat positions row * W + col in a plane of shape "
                         f"{tuple(in_shape)}), found {worst}; {hint}.")
    return indices
