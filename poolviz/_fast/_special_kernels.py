"""Max pooling's common windows, compiled with their size and stride as constants (numba): see :mod:`._kernels`.

``(kernel, stride)`` in :data:`SPECIAL` (square, dilation 1) get kernels of their own (:func:`max_special`),
made by a factory per pair so that the window's loop unrolls and the loop over output columns reads memory at
fixed offsets, which LLVM turns into vector instructions; a plane with padding (or ceil_mode windows past
it) is copied into a scratch plane padded with the lowest value first. Imported on first use only, like
:mod:`._kernels`.
"""
from __future__ import annotations

import numba
import numpy as np

from ._kernels import _JIT
from .compiled import SPECIAL_MAX

__all__ = ["SPECIAL", "max_special"]


#: ``(kernel, stride)`` pairs (the same on both axes, dilation 1) with kernels of their own: :func:`max_special`.
SPECIAL = SPECIAL_MAX


@numba.njit(**_JIT)
def _u(i):
    """``i`` as an unsigned index."""
    return np.uint64(i)


@numba.njit(inline="always", **_JIT)
def _copy_padded(xs, xp, H, W, Ws, ph, pw):
    """Copy the flat (H * W) plane ``xp`` into the flat scratch ``xs`` of row length ``Ws``, at (ph, pw); the
    scratch's border (the padding) is left as it is. An explicit loop: numba's slice assignment measured slower."""
    for r in range(H):
        q = (r + ph) * Ws + pw
        q_in = r * W
        for c in range(W):
            xs[_u(q + c)] = xp[_u(q_in + c)]


@numba.njit(inline="always", **_JIT)
def _step(v, best, where, at):
    """One step of a window's scan: ``v`` (at window offset ``at``) takes over from ``best`` (at ``where``) if it
    is strictly larger or NaN. Selects, not branches, so that the loops around it vectorise."""
    take = (v > best) | (v != v)
    return (v if take else best), (at if take else where)


@numba.njit(**_JIT)
def _scan_3x3_stride_2(xf, n_flat, odd_rows, Wq, W, ev, od, tv, tw):
    """3x3 windows at stride 2 of a flat scratch plane ``xf`` holding the even rows of the (padded) input, then
    from ``xf``'s position ``2 * odd_rows`` on its odd rows, every row ``2 * Wq`` long: the maximum and switch of
    the window of output ``(oh, ow)`` into ``tv[j]``, ``tw[j]`` with ``j = oh * Wq + ow``, for every ``j < n_flat``
    (also where the window wraps around a row: the caller drops those). The switch is its offset ``a * W + c``
    in the window, in the input's row width ``W``.

    The scratch is first split into its even and odd flat positions (``ev``, ``od``, scratches of at least
    ``xf.size // 2 + 2``), that is into the input's four parity planes (rows even or odd, columns even or odd),
    each ``Wq`` wide: window ``j``'s element ``(a, c)`` then lies at ``j + (a % 2) * odd_rows + (a // 2) * Wq +
    c // 2`` of the half of ``c``'s parity, nine contiguous reads at fixed offsets, which LLVM vectorises.
    """
    n_pairs = xf.shape[0] // 2
    for j in range(n_pairs):  # one loop for both halves: LLVM reads the pairs and splits them
        ev[_u(j)] = xf[_u(2 * j)]
        od[_u(j)] = xf[_u(2 * j + 1)]
    o1 = odd_rows
    # the switches' offsets, as int32 constants (numba widens int32 + int32 to int64, and int64 switches would
    # halve the vector width)
    c1, c2, c3 = np.int32(W), np.int32(W + 1), np.int32(W + 2)
    c4, c5, c6 = np.int32(2 * W), np.int32(2 * W + 1), np.int32(2 * W + 2)
    for j in range(n_flat):
        b = ev[_u(j)]
        w = np.int32(0)
        b, w = _step(od[_u(j)], b, w, np.int32(1))
        b, w = _step(ev[_u(j + 1)], b, w, np.int32(2))
        b, w = _step(ev[_u(j + o1)], b, w, c1)
        b, w = _step(od[_u(j + o1)], b, w, c2)
        b, w = _step(ev[_u(j + o1 + 1)], b, w, c3)
        b, w = _step(ev[_u(j + Wq)], b, w, c4)
        b, w = _step(od[_u(j + Wq)], b, w, c5)
        b, w = _step(ev[_u(j + Wq + 1)], b, w, c6)
        tv[_u(j)] = b
        tw[_u(j)] = w


def _make_special(K, S):
    """The kernel of one ``(K, S)`` in :data:`SPECIAL`, as :func:`max_special` says.

    ``K`` and ``S`` are constants of the generated code (closure variables), so that numba compiles one
    kernel per pair, with the window loops unrolled by LLVM. A plane whose windows reach into the padding or
    past the input (ceil_mode) is first copied into a scratch plane padded with ``lowest``, so that every
    window lies inside the plane it reads and one loop without tests serves all outputs, in one of three forms:

    * stride 1: one loop over the plane's flat positions, as if every output row were as wide as the plane
      (the ``K - 1`` extra columns of each row are computed and dropped), so that the loop is long and its
      reads contiguous; then copied into the output rows;
    * kernel 2, stride 2: one loop per output row, reading each window's 2x2 elements directly (LLVM
      de-interleaves the even and odd columns itself);
    * kernel 3, stride 2: as stride 1, on the input's four parity planes (rows and columns even or odd), made
      by copying the rows into a scratch, even rows first, and splitting it into even and odd flat positions
      (:func:`_scan_3x3_stride_2`): the planes are half as wide as the input, so the flat loop computes about
      one dropped window per output row, where a loop over the input's flat positions computed one per output.

    Every form keeps the rule of :func:`poolviz._fast._kernels._row_max`: the window's first element, then in
    row-major window order, a strictly larger element or a NaN takes over. (Starting from the first element
    rather than below every value gives the same result: the first element wins that first comparison
    unless it equals the start, and then the switch already points at it.) Padding never takes over (it is
    the lowest value, never NaN), so a padded window's scan differs from the rule only where nothing took
    over from a first element in the padding: those switches are moved to the window's first real element
    afterwards. The switch is kept as its offset in the window (int32, the width of a float32 lane), in the
    input's row width, and added to the window's flat position in the input at the end.
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
        n, H, W = x.shape
        Ho, Wo = (y.shape[1], y.shape[2]) if mode < 2 else (g.shape[1], g.shape[2])
        # the plane the windows read: the input's, or a scratch with the padding (and ceil_mode's overhang)
        Hs, Ws = max(H + 2 * ph, (Ho - 1) * S + K), max(W + 2 * pw, (Wo - 1) * S + K)
        padded = Hs != H or Ws != W
        # 3x3 stride 2 always reads a scratch, of even width, with the even rows first and the odd rows after
        # them (row r at (r % 2) * Hq + r // 2): split into even and odd flat positions, its four parity planes
        # are then contiguous and only Ws / 2 wide, so that the flat loop over windows wastes almost nothing
        phases = K == 3 and S == 2
        Hq = (Hs + 1) // 2
        if phases:
            Ws += Ws % 2
            Hs = 2 * Hq
        xs = np.full(Hs * Ws if padded or phases else 0, lowest, x.dtype)
        # scratches, once for all planes: the flat maxima and switches, and (3x3 stride 2) the even and odd halves
        tv = np.empty(Hs * Ws, x.dtype)
        tw = np.empty(Hs * Ws, np.int32)
        n_half = Hs * Ws // 2 + 2 if phases else 0
        ev = np.empty(n_half, x.dtype)
        od = np.empty(n_half, x.dtype)
        yp = np.empty((Ho, Wo) if mode > 0 else (0, 0), x.dtype)
        ip = np.empty((Ho, Wo) if mode > 0 else (0, 0), np.int64)
        for p in range(n):
            if mode < 2:
                yp = y[p]
            if mode == 0:
                ip = idx[p]
            if phases:
                xp = x[p].reshape(H * W)
                for r in range(H):  # the padding stays lowest from the np.full above
                    q = ((r + ph) % 2 * Hq + (r + ph) // 2) * Ws + pw
                    q_in = r * W
                    for c in range(W):
                        xs[_u(q + c)] = xp[_u(q_in + c)]
                xf = xs
            elif padded:
                _copy_padded(xs, x[p].reshape(H * W), H, W, Ws, ph, pw)
                xf = xs
            else:
                xf = x[p].reshape(H * W)
            yf = yp.reshape(Ho * Wo)
            i_f = ip.reshape(Ho * Wo)
            # flat indices as unsigned (_u): numba then drops its negative-index wraparound, which would stop
            # LLVM from vectorising. Output (oh, ow)'s window starts at oh * S * Ws + ow * S in xf, and at
            # (oh * S - ph) * W + ow * S - pw in the input (a position that may lie in the padding).
            if S == 1 or K == 3:
                Wt = Ws // 2 if phases else Ws  # window j starts at S * j in xf (stride 1), or parity planes' j
                n_flat = (Ho - 1) * Wt + Wo
                if S == 1:
                    for i in range(n_flat):
                        b = xf[_u(i)]
                        w = np.int32(0)
                        for j in range(1, KK):
                            b, w = _step(xf[_u(i + (j // K) * Ws + j % K)], b, w, np.int32((j // K) * W + j % K))
                        tv[_u(i)] = b
                        tw[_u(i)] = w
                else:
                    _scan_3x3_stride_2(xf, n_flat, Hq * Wt, Wt, W, ev, od, tv, tw)
                for oh in range(Ho):
                    t0 = oh * Wt
                    o0 = oh * Wo
                    q0 = (oh * S - ph) * W - pw
                    for i in range(Wo):
                        yf[_u(o0 + i)] = tv[_u(t0 + i)]
                        i_f[_u(o0 + i)] = q0 + S * i + tw[_u(t0 + i)]
            else:  # K == 2, S == 2
                for oh in range(Ho):
                    base = oh * S * Ws
                    o0 = oh * Wo
                    q0 = (oh * S - ph) * W - pw
                    for i in range(Wo):
                        q = base + i * S
                        b = xf[_u(q)]
                        w = np.int32(0)
                        for j in range(1, KK):
                            b, w = _step(xf[_u(q + (j // K) * Ws + j % K)], b, w, np.int32((j // K) * W + j % K))
                        yf[_u(o0 + i)] = b
                        i_f[_u(o0 + i)] = q0 + S * i + w
            if padded:  # a window starting in the padding whose scan kept its start: its first real element
                for oh in range(Ho):
                    r0 = oh * S - ph
                    for ow in range(Wo if r0 < 0 else (pw + S - 1) // S):
                        c0 = ow * S - pw
                        if ip[oh, ow] == r0 * W + c0:
                            ip[oh, ow] = max(r0, 0) * W + max(c0, 0)
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
