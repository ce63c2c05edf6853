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


@numba.njit(inline="always", **_JIT)
def _step(v, best, where, at):
    """One step of a window's scan: ``v`` (at window offset ``at``) takes over from ``best`` (at ``where``) if it
    is strictly larger or NaN. Selects, not branches, so that the loops around it vectorise."""
    take = (v > best) | (v != v)
    return (v if take else best), (at if take else where)


@numba.njit(**_JIT)
def _scan_3x3_stride_2(xf, base, n_flat, W, ev, od, tv, tw):
    """3x3 windows at stride 2 of a flat plane ``xf`` (H*W,) whose rows are ``W`` long: the maximum and switch
    (offset ``a * W + c`` in the window) of the window at ``base + 2 * j`` into ``tv[j]``, ``tw[j]``, for every
    ``j < n_flat`` (including positions whose window wraps around a row: the caller drops them).

    The plane is first split into its even and odd flat positions from ``base`` on (``ev``, ``od``): window
    ``j``'s nine elements are then contiguous reads at fixed offsets (``q // 2`` in the half of ``q``'s parity,
    ``q = a * W + c``), which LLVM vectorises.
    """
    n_pairs = min(ev.shape[0], (xf.shape[0] - base) // 2)
    for j in range(n_pairs):  # one loop for both halves: LLVM reads the pairs and splits them
        ev[_u(j)] = xf[_u(base + 2 * j)]
        od[_u(j)] = xf[_u(base + 2 * j + 1)]
    if n_pairs < ev.shape[0] and base + 2 * n_pairs < xf.shape[0]:
        ev[_u(n_pairs)] = xf[_u(base + 2 * n_pairs)]
    a1 = od if W % 2 else ev  # the window's row 1 starts at q = W
    a2 = ev if W % 2 else od
    h1 = W // 2
    h2 = (W + 1) // 2  # q = W, W + 1, W + 2 lie at h1, h2, h1 + 1 of their halves
    # the switches' offsets in the window, as int32 constants (numba widens int32 + int32 to int64, and int64
    # switches would halve the vector width)
    c1, c2, c3 = np.int32(W), np.int32(W + 1), np.int32(W + 2)
    c4, c5, c6 = np.int32(2 * W), np.int32(2 * W + 1), np.int32(2 * W + 2)
    for j in range(n_flat):
        b = ev[_u(j)]
        w = np.int32(0)
        b, w = _step(od[_u(j)], b, w, np.int32(1))
        b, w = _step(ev[_u(j + 1)], b, w, np.int32(2))
        b, w = _step(a1[_u(j + h1)], b, w, c1)
        b, w = _step(a2[_u(j + h2)], b, w, c2)
        b, w = _step(a1[_u(j + h1 + 1)], b, w, c3)
        b, w = _step(ev[_u(j + W)], b, w, c4)
        b, w = _step(od[_u(j + W)], b, w, c5)
        b, w = _step(ev[_u(j + W + 1)], b, w, c6)
        tv[_u(j)] = b
        tw[_u(j)] = w


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
        # scratches, once for all planes: the flat interior's maxima and switches, and (3x3 stride 2) the plane's
        # even and odd flat positions
        tv = np.empty(x.shape[1] * x.shape[2], x.dtype)
        tw = np.empty(x.shape[1] * x.shape[2], np.int32)
        n_half = x.shape[1] * x.shape[2] // 2 + 2 if K == 3 and S == 2 else 0
        ev = np.empty(n_half, x.dtype)
        od = np.empty(n_half, x.dtype)
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
                    for i in range(n_flat):
                        q = base + i
                        b = xf[_u(q)]
                        w = np.int32(0)
                        for j in range(1, KK):
                            b, w = _step(xf[_u(q + (j // K) * W + j % K)], b, w,
                                         np.int32((j // K) * W + j % K))
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
                                b, w = _step(xf[_u(q + (j // K) * W + j % K)], b, w,
                                             np.int32((j // K) * W + j % K))
                            yf[_u(o0 + i)] = b
                            i_f[_u(o0 + i)] = q + w
                else:  # K == 3, S == 2: one scan over the flat interior, on the plane split into even and odd
                    # flat positions (from the interior's first window on): window j's nine elements are then
                    # contiguous reads at fixed offsets (q // 2 in the half given by q's parity, q = a * W + c)
                    base = (hlo * S - ph) * W + wlo * S - pw
                    n_flat = (hhi - hlo - 1) * W + m
                    _scan_3x3_stride_2(xf, base, n_flat, W, ev, od, tv, tw)
                    for oh in range(hlo, hhi):
                        t0 = (oh - hlo) * W
                        o0 = oh * Wo + wlo
                        q0 = base + 2 * t0
                        for i in range(m):
                            yf[_u(o0 + i)] = tv[_u(t0 + i)]
                            i_f[_u(o0 + i)] = q0 + 2 * i + tw[_u(t0 + i)]

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
