"""Average pooling's common windows, compiled with their size and stride as constants (numba).

The windows of :data:`SPECIAL` (square, dilation 1), as for max pooling (:mod:`._special_kernels`): one
kernel per ``(kernel, stride)`` made by a factory, so that the window's loop unrolls and the loops read memory
at fixed offsets, which LLVM turns into vector instructions. Sums in the order of :mod:`poolviz.avg_pool`: each
window's sum starts at 0 and adds its elements in row-major window order; each input's gradient starts at 0
and adds its contributions in increasing output order. A plane with padding (or ceil_mode windows past it) is
copied into a scratch padded with zeros: adding +0.0 to a sum that started at +0.0 changes no bit (such a sum
is never -0.0), so the padding's terms change nothing. Imported on first use only, like :mod:`._kernels`.
"""
from __future__ import annotations

import numba
import numpy as np

from ._kernels import _JIT
from ._special_kernels import SPECIAL, _copy_padded, _u

__all__ = ["avg_special"]

#: The kernels that divide: numba's default error model checks every float division for a zero divisor (to
#: raise ZeroDivisionError), a branch that keeps LLVM from vectorising the loop. A divisor is never 0 here
#: (counts >= 1; divisor_override != 0 is checked before), and IEEE division gives the same bits either way.
_JIT_DIV = dict(_JIT, error_model="numpy")


@numba.njit(**_JIT)
def _split_halves(xf, ev, od):
    """The even and odd flat positions of ``xf`` into ``ev`` and ``od`` (at least ``xf.size // 2 + 1`` long)."""
    n_pairs = xf.shape[0] // 2
    for j in range(n_pairs):  # one loop for both halves: LLVM reads the pairs and splits them
        ev[_u(j)] = xf[_u(2 * j)]
        od[_u(j)] = xf[_u(2 * j + 1)]
    if xf.shape[0] % 2:
        ev[_u(n_pairs)] = xf[_u(2 * n_pairs)]


def _make_forward(K, S):
    """Window sums of one ``(K, S)``: ``kernel(x, ph, pw, zero, divisor, divide, y)`` as
    :func:`poolviz._fast._kernels.avg_forward` (``zero``: 0 of x's dtype). Window ``j`` of a flat plane whose rows
    are ``Ws`` long starts at ``S * j``; the sums are computed for every ``j`` of the flat range (also where a
    window wraps around a row, dropped), in one long loop: directly for stride 1, on the plane's even and odd
    halves for 3x3 at stride 2 (each of the nine elements then a contiguous read), per output row for 2x2 at
    stride 2 (LLVM de-interleaves the pairs itself)."""
    KK = K * K

    @numba.njit(**_JIT_DIV)
    def kernel(x, ph, pw, zero, divisor, divide, y):
        n, H, W = x.shape
        Ho, Wo = y.shape[1], y.shape[2]
        Hs, Ws = max(H + 2 * ph, (Ho - 1) * S + K), max(W + 2 * pw, (Wo - 1) * S + K)
        padded = Hs != H or Ws != W
        xs = np.zeros(Hs * Ws if padded else 0, x.dtype)
        tv = np.empty(Hs * Ws, x.dtype)
        n_half = Hs * Ws // 2 + 2 if K == 3 and S == 2 else 0
        ev = np.zeros(n_half, x.dtype)
        od = np.zeros(n_half, x.dtype)
        n_flat = (Ho - 1) * Ws + Wo
        a1 = od if Ws % 2 else ev  # 3x3 stride 2: the window's row 1 starts at q = Ws, in this half ...
        a2 = ev if Ws % 2 else od
        h1 = Ws // 2  # ... at h1; q = Ws + 1, Ws + 2 at h2 and h1 + 1
        h2 = (Ws + 1) // 2
        # the divisors in the flat layout of the sums (row width Ws), 1 where a window is dropped: the division
        # then runs in the long flat loop (vectorised) instead of per output row (too short for LLVM's vector
        # loop, which takes 64 float32 per iteration here)
        flat_div = divide and (S == 1 or K == 3)
        dv = np.ones(n_flat if flat_div else 0, x.dtype)
        if flat_div:
            for oh in range(Ho):
                for i in range(Wo):
                    dv[oh * Ws + i] = divisor[oh, i]
        for p in range(n):
            if padded:
                _copy_padded(xs, x[p].reshape(H * W), H, W, Ws, ph, pw)  # the padding stays 0 (np.zeros above)
                xf = xs
            else:
                xf = x[p].reshape(H * W)
            yf = y[p].reshape(Ho * Wo)
            if S == 1:
                for i in range(n_flat):
                    acc = zero
                    for j in range(KK):
                        acc += xf[_u(i + (j // K) * Ws + j % K)]
                    tv[_u(i)] = acc / dv[_u(i)] if flat_div else acc
            elif K == 3:
                _split_halves(xf, ev, od)
                for j in range(n_flat):
                    acc = (zero + ev[_u(j)] + od[_u(j)] + ev[_u(j + 1)] + a1[_u(j + h1)] + a2[_u(j + h2)]
                           + a1[_u(j + h1 + 1)] + ev[_u(j + Ws)] + od[_u(j + Ws)] + ev[_u(j + Ws + 1)])
                    tv[_u(j)] = acc / dv[_u(j)] if flat_div else acc
            if S == 1 or K == 3:
                for oh in range(Ho):
                    t0 = oh * Ws
                    o0 = oh * Wo
                    for i in range(Wo):
                        yf[_u(o0 + i)] = tv[_u(t0 + i)]
            else:  # K == 2, S == 2
                for oh in range(Ho):
                    base = oh * S * Ws
                    o0 = oh * Wo
                    for i in range(Wo):
                        q = base + S * i
                        acc = zero
                        for j in range(KK):
                            acc += xf[_u(q + (j // K) * Ws + j % K)]
                        tv[_u(i)] = acc
                    if divide:
                        d = divisor[oh]
                        for i in range(Wo):
                            yf[_u(o0 + i)] = tv[_u(i)] / d[_u(i)]
                    else:
                        for i in range(Wo):
                            yf[_u(o0 + i)] = tv[_u(i)]

    return kernel


def _make_backward(K, S):
    """The adjoint of :func:`_make_forward`: ``kernel(g, ph, pw, zero, divisor, divide, dx)`` as
    :func:`poolviz._fast._kernels.avg_backward`, ``g`` (n, Ho, Wo) and ``dx`` (n, H, W).

    Every input's gradient is a fixed pattern of ``v = g / divisor``'s elements, summed from 0 in increasing
    output order, and each row of ``dx`` is written in one contiguous loop (no scratch plane, no per-element
    index arithmetic): input ``(r, c)`` lies at ``(r', c') = (r + ph, c + pw)`` in the padded plane.

    * stride = kernel (2x2 at stride 2): one output per input, ``0 + v[r' // 2, c' // 2]``: each output row's
      values, every one twice, into a row scratch, copied to its (up to) two rows of ``dx``; the inputs in no
      window (past the last window, or ceil_mode's) get 0;
    * 3x3 at stride 2: ``v`` in a scratch with a border of zeros (one row and column above and left, two below
      and right), so that a missing window reads a zero, which changes no bit of a sum started at +0.0 (such a
      sum is never -0.0). Input ``(2t + a, 2u + b)`` is reached by output rows ``t - 1, t`` (``a = 0``) or
      ``t`` (``a = 1``), the same for columns: each dx row reads two (or one) rows of ``v`` and writes its even
      and odd columns in one loop (4, 2, 2 or 1 terms);
    * stride 1: input ``(r', c')`` is reached by the outputs ``r' - K + 1 .. r'``: a KxK window sum over ``v``
      bordered by ``K - 1`` zeros above and left, in row-major order, straight into dx's row.
    """
    B = K - 1 if S == 1 else (1 if K == 3 else 0)  # the zero border of v, above and left

    @numba.njit(**_JIT_DIV)
    def kernel(g, ph, pw, zero, divisor, divide, dx):
        n, Ho, Wo = g.shape
        H, W = dx.shape[1], dx.shape[2]
        Hs, Ws = max(H + 2 * ph, (Ho - 1) * S + K), max(W + 2 * pw, (Wo - 1) * S + K)
        Hv, Wv = Ho + 2 * B + 1, Wo + 2 * B + 1  # v with its border: every input of the padded plane reads in it
        # stride 1 without column padding: v's rows as wide as dx's, v[t, u] at column u + B, so that a window
        # reaching past a row's end reads the next row's first B columns, zeros: dx is then one flat loop
        flat = S == 1 and pw == 0 and Wo + B <= W
        if S == 1:
            Hv, Wv = max(Hv, Hs + B + 1), (W if flat else max(Wv, Ws + B + 1))
        vp = np.zeros(Hv * Wv if K != 2 else 0, g.dtype)
        e = np.zeros(2 * Wo + 2 if K == 2 else 0, g.dtype)
        nc = min(W, 2 * Wo - pw)  # 2x2 stride 2: the columns of a dx row in a window
        # v = g / divisor in one flat loop per plane (vectorised), not per output row: a row (27 to 56 here) is
        # shorter than LLVM's vector loop (64 float32 per iteration), so a per-row division ran scalar
        vq = np.empty(Ho * Wo if divide else 0, g.dtype)
        df = divisor.reshape(divisor.size)
        for p in range(n):
            gf = g[p].reshape(Ho * Wo)
            d = dx[p].reshape(H * W)
            if divide:
                for k in range(Ho * Wo):
                    vq[_u(k)] = gf[_u(k)] / df[_u(k)]
                gf = vq
            if K == 2:
                last = -1  # the output row now in e
                for r in range(H):
                    q = r * W
                    oh = (r + ph) // 2
                    if oh >= Ho:
                        for c in range(W):
                            d[_u(q + c)] = zero
                        continue
                    if oh != last:
                        o0 = oh * Wo
                        for i in range(Wo):
                            v = zero + gf[_u(o0 + i)]
                            e[_u(2 * i)] = v
                            e[_u(2 * i + 1)] = v
                        last = oh
                    for c in range(nc):
                        d[_u(q + c)] = e[_u(pw + c)]
                    for c in range(nc, W):
                        d[_u(q + c)] = zero
                continue
            for oh in range(Ho):
                o0 = (oh + B) * Wv + B
                k0 = oh * Wo
                for i in range(Wo):
                    vp[_u(o0 + i)] = gf[_u(k0 + i)]
            if flat:
                b = ph * W
                for i in range(H * W):
                    acc = zero
                    for j in range(K * K):
                        acc += vp[_u(b + i + (j // K) * W + j % K)]
                    d[_u(i)] = acc
            elif S == 1:  # dx[r, c] = the KxK window sum of vp at (r', c')
                for r in range(H):
                    q = r * W
                    b = (r + ph) * Wv + pw
                    for c in range(W):
                        acc = zero
                        for j in range(K * K):
                            acc += vp[_u(b + c + (j // K) * Wv + j % K)]
                        d[_u(q + c)] = acc
            else:  # 3x3 stride 2: vp row t + 1 holds output row t; P: output row t - 1, C: row t
                half = W // 2
                for r in range(H):
                    q = r * W
                    t = (r + ph) // 2
                    P = t * Wv
                    C = P + Wv
                    if (r + ph) % 2 == 0:
                        if pw == 0:
                            for u in range(half):
                                d[_u(q + 2 * u)] = (zero + vp[_u(P + u)] + vp[_u(P + u + 1)] + vp[_u(C + u)]
                                                    + vp[_u(C + u + 1)])
                                d[_u(q + 2 * u + 1)] = zero + vp[_u(P + u + 1)] + vp[_u(C + u + 1)]
                            if W % 2:
                                d[_u(q + W - 1)] = (zero + vp[_u(P + half)] + vp[_u(P + half + 1)]
                                                    + vp[_u(C + half)] + vp[_u(C + half + 1)])
                        else:
                            for u in range(half):
                                d[_u(q + 2 * u)] = zero + vp[_u(P + u + 1)] + vp[_u(C + u + 1)]
                                d[_u(q + 2 * u + 1)] = (zero + vp[_u(P + u + 1)] + vp[_u(P + u + 2)]
                                                        + vp[_u(C + u + 1)] + vp[_u(C + u + 2)])
                            if W % 2:
                                d[_u(q + W - 1)] = zero + vp[_u(P + half + 1)] + vp[_u(C + half + 1)]
                    else:
                        if pw == 0:
                            for u in range(half):
                                d[_u(q + 2 * u)] = zero + vp[_u(C + u)] + vp[_u(C + u + 1)]
                                d[_u(q + 2 * u + 1)] = zero + vp[_u(C + u + 1)]
                            if W % 2:
                                d[_u(q + W - 1)] = zero + vp[_u(C + half)] + vp[_u(C + half + 1)]
                        else:
                            for u in range(half):
                                d[_u(q + 2 * u)] = zero + vp[_u(C + u + 1)]
                                d[_u(q + 2 * u + 1)] = zero + vp[_u(C + u + 1)] + vp[_u(C + u + 2)]
                            if W % 2:
                                d[_u(q + W - 1)] = zero + vp[_u(C + half + 1)]

    return kernel


_cache = {}


def avg_special(kernel, stride, backward=False):
    """The forward (or ``backward``) kernel for a square ``kernel`` and ``stride`` (dilation 1) in :data:`SPECIAL`."""
    key = (int(kernel), int(stride), bool(backward))
    if key[:2] not in SPECIAL:
        raise ValueError(f"no special kernel for kernel {kernel}, stride {stride}: the pairs are {sorted(SPECIAL)}")
    if key not in _cache:
        _cache[key] = (_make_backward if backward else _make_forward)(*key[:2])
    return _cache[key]
