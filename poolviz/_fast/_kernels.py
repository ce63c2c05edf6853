"""The compiled loops themselves (numba): imported by :mod:`poolviz._fast.compiled` on first use only.

Every kernel takes a stack of ``n`` planes, runs the planes in parallel (``prange``: a plane's result
never depends on another's, so any thread count gives the same bits; :func:`max_route` and
:func:`max_special` run their planes one after another, and the caller splits the planes among threads), and walks each plane in the order the numpy paths and PyTorch use:

* a window's elements in row-major window order (ties, NaN and the order of a sum depend on it);
* an input's gradient contributions in increasing output order, added to a zero.

Inside a plane the loops run over one output row at a time, with the loop over its output columns
innermost, so that the compiler can keep it simple: padding is skipped by clipping that loop's range
rather than tested per element (adding a zero of padding to a sum that started at +0.0 changes nothing,
and -inf padding never wins a strict comparison).

Max pooling's common windows, ``(kernel, stride)`` in :data:`SPECIAL` (square, dilation 1), have kernels of
their own (:func:`max_special`): the window's size and stride are constants there, its loop unrolled, and the
loop over output columns reads memory at fixed offsets, which LLVM turns into vector instructions; a padded
plane is copied into a scratch padded with the lowest value first. These run their planes one after another:
compiled with ``parallel=True`` the same loops measured 1.5x slower on one thread (the planes' loop body,
outlined by numba, lost its vector instructions). :mod:`poolviz._fast.compiled` runs them on chunks of
planes in threads of its own instead (they release the GIL), as many as ``numba.get_num_threads()``.

Geometry arguments, per axis: kernel ``kh, kw``, stride ``sh, sw``, padding ``ph, pw``, dilation
``dh, dw``. Compiled on first call for each combination of dtypes, and cached on disk (``cache=True``).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange


__all__ = ["SPECIAL", "avg_backward", "avg_forward", "avg_special", "max_backward_from_x", "max_forward", "max_route",
           "max_special"]

_JIT = dict(cache=True, nogil=True)


@numba.njit(**_JIT)
def _columns(off, sw, W, Wo):
    """The output columns ``ow`` whose element at column ``ow * sw + off`` lies inside ``[0, W)``: a range."""
    lo = 0 if off >= 0 else (-off + sw - 1) // sw
    last = W - 1 - off
    hi = 0 if last < 0 else min(Wo, last // sw + 1)
    return lo, max(lo, hi)


@numba.njit(**_JIT)
def _row_max(xp, oh, kh, kw, sh, sw, ph, pw, dh, dw, lowest, best, where):
    """Maxima and flat switch positions of output row ``oh`` of the plane ``xp`` (H, W), into ``best``, ``where``.

    The rule of :func:`poolviz.max_pool.max_by_offsets`: start below every element, pointing at the
    window's first real element; in row-major window order, a strictly larger element or a NaN takes over.
    """
    H, W = xp.shape
    Wo = best.shape[0]
    r0 = oh * sh - ph
    while r0 < 0:  # the window's first real row (the geometry guarantees one)
        r0 += dh
    for ow in range(Wo):
        c0 = ow * sw - pw
        while c0 < 0:
            c0 += dw
        best[ow] = lowest
        where[ow] = r0 * W + c0
    for jh in range(kh):
        r = oh * sh - ph + jh * dh
        if r < 0 or r >= H:
            continue
        row = xp[r]
        for jw in range(kw):
            off = jw * dw - pw
            lo, hi = _columns(off, sw, W, Wo)
            base = r * W + off
            for ow in range(lo, hi):  # selects and unconditional stores, not branches: no mispredictions
                v = row[ow * sw + off]
                b = best[ow]
                take = (v > b) | (v != v)
                best[ow] = v if take else b
                where[ow] = base + ow * sw if take else where[ow]


@numba.njit(parallel=True, **_JIT)
def max_forward(x, kh, kw, sh, sw, ph, pw, dh, dw, lowest, y, idx, want_idx):
    """Max pooling of ``x`` (n, H, W) into ``y`` (n, Ho, Wo) and the switches into ``idx`` (n, Ho, Wo), int64.

    Without ``want_idx``, ``idx`` is a scratch (n, 1, Wo): one row per plane, overwritten.
    """
    n = x.shape[0]
    Ho = y.shape[1]
    for p in prange(n):
        for oh in range(Ho):
            _row_max(x[p], oh, kh, kw, sh, sw, ph, pw, dh, dw, lowest, y[p, oh], idx[p, oh if want_idx else 0])


@numba.njit(**_JIT)
def max_route(g, idx, dx):
    """Add ``g`` (n, No) at the flat positions ``idx`` (n, No) of ``dx`` (n, H*W), zeroed first, in output order.

    Returns how many indices lie outside ``0 .. H*W - 1`` (those are skipped; the caller reports them).
    One plane after another (no ``prange``: waking numba's threads measured slower than this memory-bound
    pass); the caller runs chunks of planes in threads for large inputs.
    """
    n, No = g.shape
    HW = dx.shape[1]
    bad = 0
    for p in range(n):
        d = dx[p]
        d[:] = 0
        gp = g[p]
        ip = idx[p]
        for o in range(No):
            i = ip[o]
            if i < 0 or i >= HW:
                bad += 1
            else:
                d[i] += gp[o]
    return bad


@numba.njit(parallel=True, **_JIT)
def max_backward_from_x(x, g, kh, kw, sh, sw, ph, pw, dh, dw, lowest, dx):
    """Max pooling's backward with the switches recomputed from ``x`` (n, H, W) and never stored.

    ``g`` (n, Ho, Wo) goes to each window's switch in ``dx`` (n, H*W), zeroed first, in output order.
    """
    n, Ho, Wo = g.shape
    for p in prange(n):
        best = np.empty(Wo, x.dtype)
        where = np.empty(Wo, np.int64)
        d = dx[p]
        d[:] = 0
        for oh in range(Ho):
            _row_max(x[p], oh, kh, kw, sh, sw, ph, pw, dh, dw, lowest, best, where)
            gr = g[p, oh]
            for ow in range(Wo):
                d[where[ow]] += gr[ow]


@numba.njit(parallel=True, **_JIT)
def avg_forward(x, kh, kw, sh, sw, ph, pw, dh, dw, divisor, divide, y):
    """Window sums of ``x`` (n, H, W) into ``y`` (n, Ho, Wo), each started at 0 and added in row-major window
    order, then (if ``divide``) divided by ``divisor`` (Ho, Wo), of x's dtype."""
    n, H, W = x.shape
    Ho, Wo = y.shape[1], y.shape[2]
    for p in prange(n):
        for oh in range(Ho):
            acc = y[p, oh]
            acc[:] = 0
            for jh in range(kh):
                r = oh * sh - ph + jh * dh
                if r < 0 or r >= H:
                    continue
                row = x[p, r]
                for jw in range(kw):
                    off = jw * dw - pw
                    lo, hi = _columns(off, sw, W, Wo)
                    for ow in range(lo, hi):
                        acc[ow] += row[ow * sw + off]
            if divide:
                dr = divisor[oh]
                for ow in range(Wo):
                    acc[ow] = acc[ow] / dr[ow]


@numba.njit(parallel=True, **_JIT)
def avg_backward(g, kh, kw, sh, sw, ph, pw, dh, dw, divisor, divide, dx):
    """Spread ``g / divisor`` (n, Ho, Wo) over the windows into ``dx`` (n, H, W), zeroed first.

    Each input receives its contributions in increasing output order: output rows in order; within one,
    an input meets each window row through one kernel row only, and the kernel columns go from last to
    first, so that the output columns reaching one input arrive in increasing order.
    """
    n, Ho, Wo = g.shape
    H, W = dx.shape[1], dx.shape[2]
    for p in prange(n):
        v = np.empty(Wo, g.dtype)
        d = dx[p]
        d[:, :] = 0
        for oh in range(Ho):
            gr = g[p, oh]
            if divide:
                dr = divisor[oh]
                for ow in range(Wo):
                    v[ow] = gr[ow] / dr[ow]
            else:
                for ow in range(Wo):
                    v[ow] = gr[ow]
            for jh in range(kh):
                r = oh * sh - ph + jh * dh
                if r < 0 or r >= H:
                    continue
                row = d[r]
                for jw in range(kw - 1, -1, -1):
                    off = jw * dw - pw
                    lo, hi = _columns(off, sw, W, Wo)
                    for ow in range(lo, hi):
                        row[ow * sw + off] += v[ow]


# the common windows' own kernels live beside these (one room for the generic loops, one for the unrolled ones)
from ._special_kernels import SPECIAL, max_special  # noqa: E402,F401
from ._special_avg import avg_special  # noqa: E402,F401
