"""Max pooling's common windows, compiled with their size and stride as constants (numba): see :mod:`._kernels`.

``(kernel, stride)`` in :data:`SPECIAL` (square, dilation 1) get kernels of their own (:func:`max_special`),
made by a factory per pair so that the window's loop unrolls and the loop over output columns reads memory at
fixed offsets, which LLVM turns into vector instructions; the border outputs (padding, ceil_mode) go through
the generic row loop of :mod:`._kernels`, one output at a time. Imported on first use only, like
:mod:`._kernels`.
"""
from __future__ import annotations

import numba
import numpy as np

from ._kernels import _JIT, _row_max
from .compiled import SPECIAL_MAX

__all__ = ["SPECIAL", "max_special"]


#: ``(kernel, stride)`` pairs (the same on both axes, dilation 1) with kernels of their own: :func:`max_special`.
SPECIAL = SPECIAL_MAX


@numba.njit(**_JIT)
def _inside(n_out, k, s, p, n):
    """The outputs ``lo .. hi - 1`` whose window (size ``k``, dilation 1) lies wholly in ``[0, n)``: a range."""
    lo = min(n_out, (p + s - 1) // s)
    hi = min(n_out, (n - k + p) // s + 1) if n - k + p >= 0 else 0
    return lo, max(lo, hi)


@numba.njit(**_JIT)
def _one_max(xp, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, lowest):
    """Maximum and flat switch position of the one output ``(oh, ow)`` of the plane ``xp`` (H, W): the rule of
    :func:`_row_max`, for the border outputs of the special kernels."""
    H, W = xp.shape
    r0 = oh * sh - ph
    while r0 < 0:
        r0 += dh
    c0 = ow * sw - pw
    while c0 < 0:
        c0 += dw
    best = lowest
    where = r0 * W + c0
    for jh in range(kh):
        r = oh * sh - ph + jh * dh
        if r < 0 or r >= H:
            continue
        for jw in range(kw):
            c = ow * sw - pw + jw * dw
            if c < 0 or c >= W:
                continue
            v = xp[r, c]
            if v > best or v != v:
                best = v
                where = r * W + c
    return best, where


@numba.njit(**_JIT)
def _u(i):
    """``i`` as an unsigned index."""
    return np.uint64(i)


def _make_special(K, S):
    """The kernel of one ``(K, S)`` in :data:`SPECIAL`, as :func:`max_special` says.

    ``K`` and ``S`` are constants of the generated code (closure variables), so that numba compiles one
    kernel per pair, with the window loops unrolled by LLVM. Inside a plane, the outputs whose window lies
    wholly in the input (the interior) take a loop without tests, in one of three forms:

    * stride 1: the interior computed as one loop over the plane's flat positions, as if every output row
      were ``W`` wide (the ``K - 1`` extra columns of each row are computed and dropped), so that the loop
      is long and its reads contiguous; then copied into the output rows;
    * kernel 2, stride 2: one loop per output row, reading each window's 2x2 elements directly (LLVM
      de-interleaves the even and odd columns itself);
    * kernel 3, stride 2: in two steps. Each input row's maxima over the three columns of each window
      (the row split into even and odd columns first, for contiguous reads: read directly, the third
      column is a gather), once per input row, kept in a ring of three rows; then, per output row, the
      three rows' maxima combined in row order. The same result as one scan in row-major window order:
      a row's scan ends on its first maximum, or its last NaN; the next row's result takes over exactly
      when it is strictly larger or NaN, which is when one of its elements would have taken over in the
      single scan (and the last to do so is that row's own winner).

    Every form keeps the rule of :func:`_row_max`: the window's first element, then in row-major window
    order, a strictly larger element or a NaN takes over. (Starting from the first element rather than
    below every value gives the same result: the first element wins that first comparison unless it equals
    the start, and then the switch already points at it.) The switch is kept as its offset in the window
    (int32, the width of a float32 lane) and added to the window's flat position at the end.
    """
    KK = K * K

    @numba.njit(**_JIT)
    def kernel(x, ph, pw, lowest, y, idx, mode, g, dx):
        """The planes of ``x`` (n, H, W), pooled one by one; ``mode`` says what is kept:

        * 0: the maxima into ``y`` and the switches into ``idx``, both (n, Ho, Wo);
        * 1: the maxima into ``y`` (``idx`` unused: each plane has a scratch);
        * 2: max pooling's backward: ``g`` (n, Ho, Wo) added at each plane's switches into ``dx`` (n, H*W),
          zeroed first, in output order (``y`` and ``idx`` unused: each plane has scratches).

        One function for the three (not one per use calling a shared one): numba's disk cache keys a
        generated function on its closure's values, which must be plain constants (a jitted function
        there missed the cache in every new process).
        """
        n = x.shape[0]
        Ho, Wo = (y.shape[1], y.shape[2]) if mode < 2 else (g.shape[1], g.shape[2])
        for p in range(n):
            xp = x[p]
            yp = y[p] if mode < 2 else np.empty((Ho, Wo), x.dtype)
            ip = idx[p] if mode == 0 else np.empty((Ho, Wo), np.int64)
            H, W = xp.shape
            hlo, hhi = _inside(Ho, K, S, ph, H)
            wlo, whi = _inside(Wo, K, S, pw, W)
            for oh in range(Ho):  # the border: generic, one row or one output at a time
                if oh < hlo or oh >= hhi:
                    _row_max(xp, oh, K, K, S, S, ph, pw, 1, 1, lowest, yp[oh], ip[oh])
                else:
                    for ow in range(wlo):
                        yp[oh, ow], ip[oh, ow] = _one_max(xp, oh, ow, K, K, S, S, ph, pw, 1, 1, lowest)
                    for ow in range(whi, Wo):
                        yp[oh, ow], ip[oh, ow] = _one_max(xp, oh, ow, K, K, S, S, ph, pw, 1, 1, lowest)
            m = whi - wlo
            if hhi > hlo and m > 0:
                xf = xp.reshape(H * W)
                yf = yp.reshape(Ho * Wo)
                i_f = ip.reshape(Ho * Wo)
                # flat indices as unsigned (_u): numba then drops its negative-index wraparound, which would
                # stop LLVM from vectorising
                if S == 1:
                    base = (hlo - ph) * W + wlo - pw
                    n_flat = (hhi - hlo - 1) * W + m
                    tv = np.empty(n_flat, xp.dtype)
                    tw = np.empty(n_flat, np.int32)
                    for i in range(n_flat):
                        q = base + i
                        b = xf[_u(q)]
                        w = np.int32(0)
                        for j in range(1, KK):
                            v = xf[_u(q + (j // K) * W + j % K)]
                            t = (v > b) | (v != v)
                            b = v if t else b
                            w = np.int32(j // K) * np.int32(W) + np.int32(j % K) if t else w
                        tv[_u(i)] = b
                        tw[_u(i)] = w
                    for oh in range(hlo, hhi):
                        t0 = (oh - hlo) * W
                        o0 = oh * Wo + wlo
                        q0 = base + t0
                        for i in range(m):
                            yf[_u(o0 + i)] = tv[_u(t0 + i)]
                            i_f[_u(o0 + i)] = q0 + i + tw[_u(t0 + i)]
                elif K == 2:
                    for oh in range(hlo, hhi):
                        base = (oh * S - ph) * W + wlo * S - pw
                        o0 = oh * Wo + wlo
                        for i in range(m):
                            q = base + i * S
                            b = xf[_u(q)]
                            w = np.int32(0)
                            for j in range(1, KK):
                                v = xf[_u(q + (j // K) * W + j % K)]
                                t = (v > b) | (v != v)
                                b = v if t else b
                                w = np.int32(j // K) * np.int32(W) + np.int32(j % K) if t else w
                            yf[_u(o0 + i)] = b
                            i_f[_u(o0 + i)] = q + w
                else:  # K == 3, S == 2: each input row's three-column maxima once, then three rows' of them
                    ev = np.empty(m + 1, xp.dtype)
                    od = np.empty(m + 1, xp.dtype)
                    hv = np.empty((K, m), xp.dtype)  # a ring of the last K rows' maxima ...
                    hw = np.empty((K, m), np.int32)  # ... and their columns in the window (0, 1, 2)
                    done = -1  # the last input row in the ring
                    for oh in range(hlo, hhi):
                        r0 = oh * S - ph
                        for r in range(max(r0, done + 1), r0 + K):
                            rb = r * W + wlo * S - pw
                            for c in range(m):  # even and odd columns apart, for contiguous reads below
                                ev[_u(c)] = xf[_u(rb + 2 * c)]
                                od[_u(c)] = xf[_u(rb + 2 * c + 1)]
                            ev[_u(m)] = xf[_u(rb + 2 * m)]  # the last window's third column (inside: _inside)
                            h = hv[r % K]
                            hc = hw[r % K]
                            for c in range(m):
                                b = ev[_u(c)]
                                w = np.int32(0)
                                v = od[_u(c)]
                                t = (v > b) | (v != v)
                                b = v if t else b
                                w = np.int32(1) if t else w
                                v = ev[_u(c + 1)]
                                t = (v > b) | (v != v)
                                b = v if t else b
                                w = np.int32(2) if t else w
                                h[_u(c)] = b
                                hc[_u(c)] = w
                            done = r
                        h0, h1, h2 = hv[r0 % K], hv[(r0 + 1) % K], hv[(r0 + 2) % K]
                        c0, c1, c2 = hw[r0 % K], hw[(r0 + 1) % K], hw[(r0 + 2) % K]
                        base = r0 * W + wlo * S - pw
                        o0 = oh * Wo + wlo
                        for i in range(m):  # the rows' maxima combined in row order, by the same rule
                            b = h0[_u(i)]
                            w = c0[_u(i)]
                            v = h1[_u(i)]
                            t = (v > b) | (v != v)
                            b = v if t else b
                            w = np.int32(W + c1[_u(i)]) if t else w
                            v = h2[_u(i)]
                            t = (v > b) | (v != v)
                            b = v if t else b
                            w = np.int32(2 * W + c2[_u(i)]) if t else w
                            yf[_u(o0 + i)] = b
                            i_f[_u(o0 + i)] = base + S * i + w

            if mode == 2:
                d = dx[p]
                d[:] = 0
                gp = g[p]
                for oh in range(Ho):
                    for ow in range(Wo):
                        d[ip[oh, ow]] += gp[oh, ow]

    return kernel


_special_cache = {}


def max_special(kernel, stride):
    """The kernel for a square ``kernel`` and ``stride`` (dilation 1) in :data:`SPECIAL`:
    ``kernel(x, ph, pw, lowest, y, idx, mode, g, dx)`` (see :func:`_make_special`); the arrays are those of
    :func:`max_forward` and :func:`max_backward_from_x`."""
    key = (int(kernel), int(stride))
    if key not in SPECIAL:
        raise ValueError(f"no special kernel for kernel {kernel}, stride {stride}: the pairs are {sorted(SPECIAL)}")
    if key not in _special_cache:
        _special_cache[key] = _make_special(*key)
    return _special_cache[key]
