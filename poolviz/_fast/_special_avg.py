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

    @numba.njit(**_JIT)
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
                    tv[_u(i)] = acc
            elif K == 3:
                _split_halves(xf, ev, od)
                for j in range(n_flat):
                    tv[_u(j)] = (zero + ev[_u(j)] + od[_u(j)] + ev[_u(j + 1)] + a1[_u(j + h1)] + a2[_u(j + h2)]
                                 + a1[_u(j + h1 + 1)] + ev[_u(j + Ws)] + od[_u(j + Ws)] + ev[_u(j + Ws + 1)])
            if S == 1 or K == 3:
                for oh in range(Ho):
                    t0 = oh * Ws
                    o0 = oh * Wo
                    if divide:
                        d = divisor[oh]
                        for i in range(Wo):
                            yf[_u(o0 + i)] = tv[_u(t0 + i)] / d[_u(i)]
                    else:
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

    ``v = g / divisor`` is written into a scratch with a border of zeros, so that every input sums the same
    fixed pattern of ``v``'s elements, in increasing output order (missing windows read a zero, which changes
    no bit of a sum started at +0.0):

    * stride 1: input ``(r, c)`` (in the padded plane) is reached by the outputs ``r - K + 1 .. r``: a KxK
      window sum over ``v`` padded with ``K - 1`` zeros, in row-major order;
    * stride = kernel (2x2 at stride 2): one output per input, ``0 + v``, written to its window (no border);
    * 3x3 at stride 2: input ``(2t + a, 2u + b)`` is reached by outputs ``t - 1, t`` (rows; ``a = 0``) or ``t``
      (``a = 1``), and the same for columns: four sums, one per parity, each a contiguous loop over ``v``
      padded with one zero on each side, then interleaved.
    """
    B = K - 1 if S == 1 else (1 if K == 3 else 0)  # the zero border of v, above and left

    @numba.njit(**_JIT)
    def kernel(g, ph, pw, zero, divisor, divide, dx):
        n, Ho, Wo = g.shape
        H, W = dx.shape[1], dx.shape[2]
        Hs, Ws = max(H + 2 * ph, (Ho - 1) * S + K), max(W + 2 * pw, (Wo - 1) * S + K)
        # v with its border: rows and columns enough for every input of the padded plane
        Hv, Wv = Ho + 2 * B + 1, Wo + 2 * B + 1
        if S == 1:
            Hv, Wv = max(Hv, Hs + B + 1), max(Wv, Ws + B + 1)
        vp = np.zeros(Hv * Wv, g.dtype)
        padded = Hs != H or Ws != W
        scratch = np.zeros(Hs * Ws if padded else 0, g.dtype)  # the padded plane's gradients
        covered = S * Ho == Hs and S * Wo == Ws  # (2x2 stride 2) every input in a window: no zeros to write
        tv = np.empty(Hv * Wv, g.dtype)
        t1 = np.empty(Hv * Wv, g.dtype)
        t2 = np.empty(Hv * Wv, g.dtype)
        t3 = np.empty(Hv * Wv, g.dtype)
        u = np.empty(2 * Ho * Wo if K == 2 else 0, g.dtype)
        for p in range(n):
            gp = g[p]
            ds = scratch if padded else dx[p].reshape(H * W)
            if K == 2:  # each output row's 0 + v, every element twice (one long loop), then copied to two rows
                gf = gp.reshape(Ho * Wo)
                if divide:
                    df = divisor.reshape(Ho * Wo)
                    for k in range(Ho * Wo):
                        v = zero + gf[_u(k)] / df[_u(k)]
                        u[_u(2 * k)] = v
                        u[_u(2 * k + 1)] = v
                else:
                    for k in range(Ho * Wo):
                        v = zero + gf[_u(k)]
                        u[_u(2 * k)] = v
                        u[_u(2 * k + 1)] = v
                if not covered:
                    ds[:] = 0
                for oh in range(Ho):
                    r0 = 2 * oh * Ws
                    k0 = 2 * oh * Wo
                    for c in range(2 * Wo):
                        v = u[_u(k0 + c)]
                        ds[_u(r0 + c)] = v
                        ds[_u(r0 + Ws + c)] = v
            for oh in range(Ho if K != 2 else 0):
                o0 = (oh + B) * Wv + B
                if divide:
                    d = divisor[oh]
                    for i in range(Wo):
                        vp[_u(o0 + i)] = gp[oh, i] / d[_u(i)]
                else:
                    for i in range(Wo):
                        vp[_u(o0 + i)] = gp[oh, i]
            if S == 1:  # ds[r, c] = window sum of vp at (r, c)
                n_flat = (Hs - 1) * Wv + Ws
                for i in range(n_flat):
                    acc = zero
                    for j in range(K * K):
                        acc += vp[_u(i + (j // K) * Wv + j % K)]
                    tv[_u(i)] = acc
                for r in range(Hs):
                    for c in range(Ws):
                        ds[_u(r * Ws + c)] = tv[_u(r * Wv + c)]
            elif K == 3:  # 3x3 stride 2: vp[t, u] is output (t - 1, u - 1)
                n_flat = (Ho + 1) * Wv + Wo + 1
                for j in range(n_flat):
                    tv[_u(j)] = zero + vp[_u(j)] + vp[_u(j + 1)] + vp[_u(j + Wv)] + vp[_u(j + Wv + 1)]  # (even, even)
                    t1[_u(j)] = zero + vp[_u(j + 1)] + vp[_u(j + Wv + 1)]  # (even, odd)
                    t2[_u(j)] = zero + vp[_u(j + Wv)] + vp[_u(j + Wv + 1)]  # (odd, even)
                    t3[_u(j)] = zero + vp[_u(j + Wv + 1)]  # (odd, odd)
                for r in range(Hs):
                    t0 = (r // 2) * Wv
                    src0 = tv if r % 2 == 0 else t2
                    src1 = t1 if r % 2 == 0 else t3
                    for c in range(Ws // 2):
                        ds[_u(r * Ws + 2 * c)] = src0[_u(t0 + c)]
                        ds[_u(r * Ws + 2 * c + 1)] = src1[_u(t0 + c)]
                    if Ws % 2:
                        ds[_u(r * Ws + Ws - 1)] = src0[_u(t0 + Ws // 2)]
            if padded:
                d = dx[p].reshape(H * W)
                for r in range(H):
                    q = (r + ph) * Ws + pw
                    q_out = r * W
                    for c in range(W):
                        d[_u(q_out + c)] = ds[_u(q + c)]

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
