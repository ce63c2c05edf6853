"""Max and average pooling as compiled loops: the optional extra ``pip install poolviz[fast]`` (numba).

Each op is one loop nest that reads every input once and writes every output once, where numpy needs a
pass over memory per kernel offset (and temporaries between them). The loops follow the rules of
:mod:`poolviz.max_pool` and :mod:`poolviz.avg_pool` element by element, in the same order, so the results
are the numpy paths' bits (ties, NaN, signs of zero and the order of every sum included). The kernels are
in :mod:`._kernels`; numba is imported when the first of them is needed, never by ``import poolviz``.
Max and average pooling with a square 2x2 window at stride 2, or 3x3 at stride 2 or 1 (dilation 1), have
kernels of their own, generated per window with the window's loop unrolled so that LLVM vectorises it
(:data:`SPECIAL_MAX`; ``_special_kernels`` and ``_special_avg``); other windows take the generic kernels.
Those run plane after plane; from :data:`THREAD_MIN` elements the planes are split among
``numba.get_num_threads()`` threads.

When this path runs (:mod:`poolviz.paths` has the table): when asked for, ``paths.use(max_pool="compiled")``
or ``avg_pool="compiled"``; and under ``"auto"``, as :data:`ENV` says: by default only the kernels of
:data:`AUTO_KERNELS` (those that measured faster than numpy), only for inputs of at least :data:`AUTO_MIN`
elements, and only if numba can be imported, so that a small input (a widget's 8x8) never waits for a
compile. Dtypes: float32 and float64 (and integers for max pooling's input);
float16 hands over to the numpy paths.

Costs of the first call in a process, measured (BENCHMARKS.md): ``import numba`` about 0.2-0.3 s and numba's
start-up about 0.35 s; then each kernel is compiled once per combination of dtypes (1-1.6 s each), or loaded
from numba's disk cache (``cache=True``: in ``__pycache__`` beside this file, or numba's user cache
directory when that is not writable; about 15 ms each).
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np

from .. import paths
from ..checks import check_index_range
from ..geometry import PoolGeometry

__all__ = [
    "AUTO_KERNELS",
    "AUTO_MIN",
    "ENV",
    "INSTALL_HINT",
    "SPECIAL_MAX",
    "THREAD_MIN",
    "auto_mode",
    "available",
    "avg_spread",
    "avg_window_sum",
    "max_backward_from_x",
    "max_route",
    "max_switches",
    "require",
    "special_window",
    "supports",
    "wanted",
]

#: The environment variable that sets what ``"auto"`` does with the compiled path:
#: ``auto`` (the default, also when unset or empty): inputs of at least :data:`AUTO_MIN` elements, if numba
#: is installed; ``0``: never (``"compiled"`` asked for explicitly still runs); ``1``: every input whose
#: dtypes the kernels take, whatever its size, and an error if numba is missing (to run a test suite on it).
ENV = "POOLVIZ_COMPILED"
#: Input elements from which ``"auto"`` takes the compiled path (1 MiB of float32). Below, the numpy paths
#: take microseconds, and a first call's compile (or disk-cache load) would cost 0.1-1 s.
AUTO_MIN = 1 << 18
INSTALL_HINT = "pip install poolviz[fast]  (numba; from a checkout: python -m pip install -e .[fast])"

_MAX_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                                              np.uint8, np.uint16, np.uint32, np.uint64))
_FLOAT_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64))


def available() -> bool:
    """Can numba be imported? (Looked up without importing it: :func:`poolviz.paths.numba_installed`.)"""
    return paths.numba_installed()


def auto_mode() -> str:
    """:data:`ENV` as "auto", "0" or "1"; anything else is refused in words."""
    value = os.environ.get(ENV, "").strip().lower() or "auto"
    if value not in ("auto", "0", "1"):
        raise ValueError(f"{ENV}={os.environ[ENV]!r} is not understood: use 1 (the compiled path for every input), "
                         f"0 (never automatically) or auto (large inputs, if numba is installed; the default).")
    return value


def require() -> None:
    """Raise a clear ImportError if numba is not installed."""
    if not available():
        raise ImportError(f"the compiled path of poolviz needs numba, which is not installed: {INSTALL_HINT}. "
                          f"Without it, use the numpy paths (poolviz.paths.use(max_pool='auto', avg_pool='auto'), "
                          f"and unset {ENV} or set it to auto).")


def supports(op: str, *dtypes) -> bool:
    """Do the kernels take these dtypes? ``op`` "max" (x may be an integer array) or "avg"; the rest are floats."""
    first, rest = np.dtype(dtypes[0]), [np.dtype(d) for d in dtypes[1:]]
    return (first in (_MAX_DTYPES if op.startswith("max") else _FLOAT_DTYPES)) and all(d in _FLOAT_DTYPES for d in rest)


#: Max pooling's windows, ``(kernel, stride)`` the same on both axes with dilation 1, that have compiled
#: kernels of their own (``_kernels.max_special``): the window's loop unrolled, the loop over output columns
#: vectorised.
SPECIAL_MAX = frozenset({(2, 2), (3, 2), (3, 1)})

#: The kernels that ``"auto"`` takes on large inputs: those measured faster than the numpy fast paths
#: (BENCHMARKS.md). "max-route", max pooling's backward from saved switches: one read of ``g`` and the
#: switches and one write of ``grad_x``, faster than numpy's ``np.add.at``. "max-special", max pooling's
#: forward and backward from x on the windows of :data:`SPECIAL_MAX`. "avg-special" and
#: "avg-special-backward", average pooling's forward and backward on those windows. The other kernels are generic loops (the window's size and stride known only at run
#: time, the loop over output columns not vectorised) and measured slower than numpy's blocked passes, so
#: "auto" leaves them to numpy; they run when asked for.
AUTO_KERNELS = frozenset({"max-route", "max-special", "avg-special", "avg-special-backward"})


def special_window(geom: PoolGeometry) -> bool:
    """Has max pooling over this window a kernel of its own (:data:`SPECIAL_MAX`)? Answered without numba."""
    h, w = geom.h, geom.w
    return ((h.kernel, h.stride, h.dilation) == (w.kernel, w.stride, w.dilation) and h.dilation == 1
            and (h.kernel, h.stride) in SPECIAL_MAX)


def wanted(op: str, asked: str, x_size: int, *dtypes) -> bool:
    """Should this call run compiled? ``asked`` is the path in :mod:`poolviz.paths` ("compiled", "auto", ...).

    ``op``: "max" (forward, or backward from x), "max-special" (the same on a window of :data:`SPECIAL_MAX`),
    "max-route" (backward from saved switches), "avg", "avg-special" or "avg-special-backward" (average pooling's
    forward or backward on a window of :data:`SPECIAL_MAX`).
    """
    if asked == "compiled":
        require()
        return supports(op, *dtypes)
    if asked != "auto":
        return False
    mode = auto_mode()
    if mode == "0":
        return False
    if mode == "1":
        require()
        return supports(op, *dtypes)
    return op in AUTO_KERNELS and x_size >= AUTO_MIN and available() and supports(op, *dtypes)


@functools.cache
def _k():
    """The kernels module (imports numba: the first call costs its import)."""
    from . import _kernels
    return _kernels


def _geometry_args(geom: PoolGeometry):
    h, w = geom.h, geom.w
    return h.kernel, w.kernel, h.stride, w.stride, h.padding, w.padding, h.dilation, w.dilation


def _planes(a: np.ndarray, shape) -> np.ndarray:
    """``a`` as a C-contiguous stack of planes (n,) + shape (one kernel specialisation per dtype, not per layout)."""
    return np.ascontiguousarray(a).reshape((-1,) + tuple(shape))


#: Input elements from which the kernels that run one plane after another (``max_route`` and those of
#: :data:`SPECIAL_MAX`) split the planes among numba's threads (``numba.get_num_threads()``), each chunk on a
#: thread of its own (the kernels release the GIL); below, starting threads costs more than it saves.
THREAD_MIN = 1 << 18


@functools.cache
def _pool(workers: int):
    from concurrent.futures import ThreadPoolExecutor
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poolviz-compiled")


def _over_planes(run, n: int, size: int):
    """``run(lo, hi)`` over the planes ``0 .. n - 1``: on this thread, or, from :data:`THREAD_MIN` input elements,
    in ``numba.get_num_threads()`` chunks of consecutive planes, one per thread. A plane's result never depends
    on another's, so the bits are the same on any number of threads. Returns the results, in plane order."""
    import numba

    threads = min(numba.get_num_threads(), n) if size >= THREAD_MIN else 1
    if threads <= 1:
        return [run(0, n)]
    bounds = [n * t // threads for t in range(threads + 1)]
    futures = [_pool(threads).submit(run, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return [f.result() for f in futures]


def _special(geom: PoolGeometry):
    """The kernel of this window's own (:data:`SPECIAL_MAX`, ``_kernels.max_special``), or None."""
    return _k().max_special(geom.h.kernel, geom.h.stride) if special_window(geom) else None


def max_switches(x: np.ndarray, geom: PoolGeometry, lowest, indices: bool = True):
    """Maxima and switches of ``x`` (..., H, W): ``(values, indices)``, (..., H_out, W_out); indices None unless asked."""
    xs = _planes(x, geom.in_shape)
    n, (Ho, Wo) = xs.shape[0], geom.out_shape
    y = np.empty((n, Ho, Wo), dtype=x.dtype)
    special = _special(geom)
    if special is not None:
        idx = np.empty((n, Ho, Wo) if indices else (0, 0, 0), dtype=np.int64)
        low, ph, pw, none_g, none_dx = x.dtype.type(lowest), geom.h.padding, geom.w.padding, \
            np.empty((0, 0, 0), x.dtype), np.empty((0, 0), x.dtype)
        _over_planes(lambda lo, hi: special(xs[lo:hi], ph, pw, low, y[lo:hi], idx[lo:hi] if indices else idx,
                                            0 if indices else 1, none_g, none_dx), n, xs.size)
    else:
        idx = np.empty((n, Ho, Wo) if indices else (n, 1, Wo), dtype=np.int64)
        _k().max_forward(xs, *_geometry_args(geom), x.dtype.type(lowest), y, idx, indices)
    out_shape = x.shape[:-2] + geom.out_shape
    return y.reshape(out_shape), (idx.reshape(out_shape) if indices else None)


def max_route(g: np.ndarray, indices: np.ndarray, in_shape) -> np.ndarray:
    """``g`` (..., H_out, W_out) added at its switches ``indices`` (same shape, int64): (..., H, W), g's dtype.

    Checks the indices' range in the same pass (and reports a bad one as :func:`poolviz.checks.check_index_range`
    does).
    """
    H, W = in_shape
    n_out = math.prod(g.shape[-2:])
    gs, idx = _planes(g, (n_out,)), _planes(indices, (n_out,))
    dx = np.empty((gs.shape[0], H * W), dtype=g.dtype)
    route = _k().max_route
    if sum(_over_planes(lambda lo, hi: route(gs[lo:hi], idx[lo:hi], dx[lo:hi]), gs.shape[0], dx.size)):
        check_index_range(indices, in_shape)
    return dx.reshape(g.shape[:-2] + (H, W))


def max_backward_from_x(g: np.ndarray, x: np.ndarray, geom: PoolGeometry, lowest) -> np.ndarray:
    """Max pooling's backward, the switches recomputed from ``x`` (..., H, W) on the fly: (..., H, W), g's dtype."""
    H, W = geom.in_shape
    xs, gs = _planes(x, (H, W)), _planes(g, geom.out_shape)
    dx = np.empty((xs.shape[0], H * W), dtype=g.dtype)
    special = _special(geom)
    if special is not None:
        low, ph, pw, none_y, none_idx = x.dtype.type(lowest), geom.h.padding, geom.w.padding, \
            np.empty((0, 0, 0), x.dtype), np.empty((0, 0, 0), np.int64)
        _over_planes(lambda lo, hi: special(xs[lo:hi], ph, pw, low, none_y, none_idx, 2, gs[lo:hi], dx[lo:hi]),
                     xs.shape[0], xs.size)
    else:
        _k().max_backward_from_x(xs, gs, *_geometry_args(geom), x.dtype.type(lowest), dx)
    return dx.reshape(x.shape)


def avg_window_sum(x: np.ndarray, geom: PoolGeometry, divisor=None) -> np.ndarray:
    """Window sums of ``x`` (..., H, W), each started at 0, in row-major window order; divided by ``divisor``
    (H_out, W_out) if given: (..., H_out, W_out), x's dtype."""
    xs = _planes(x, geom.in_shape)
    y = np.empty((xs.shape[0],) + geom.out_shape, dtype=x.dtype)
    div = np.ones((1, 1), x.dtype) if divisor is None else np.ascontiguousarray(divisor, dtype=x.dtype)
    if special_window(geom):
        run, ph, pw, zero = _k().avg_special(geom.h.kernel, geom.h.stride), geom.h.padding, geom.w.padding, \
            x.dtype.type(0)
        _over_planes(lambda lo, hi: run(xs[lo:hi], ph, pw, zero, div, divisor is not None, y[lo:hi]),
                     xs.shape[0], xs.size)
    else:
        _k().avg_forward(xs, *_geometry_args(geom), div, divisor is not None, y)
    return y.reshape(x.shape[:-2] + geom.out_shape)


def avg_spread(per_window: np.ndarray, geom: PoolGeometry, divisor=None) -> np.ndarray:
    """``per_window / divisor`` (..., H_out, W_out) added to every real element of its window: (..., H, W).

    Each input adds its contributions to 0 in increasing output order, as PyTorch does.
    """
    gs = _planes(per_window, geom.out_shape)
    dx = np.empty((gs.shape[0],) + geom.in_shape, dtype=per_window.dtype)
    div = (np.ones((1, 1), per_window.dtype) if divisor is None
           else np.ascontiguousarray(divisor, dtype=per_window.dtype))
    if special_window(geom):
        run, ph, pw, zero = _k().avg_special(geom.h.kernel, geom.h.stride, backward=True), geom.h.padding, \
            geom.w.padding, per_window.dtype.type(0)
        _over_planes(lambda lo, hi: run(gs[lo:hi], ph, pw, zero, div, divisor is not None, dx[lo:hi]),
                     gs.shape[0], dx.size)
    else:
        _k().avg_backward(gs, *_geometry_args(geom), div, divisor is not None, dx)
    return dx.reshape(per_window.shape[:-2] + geom.in_shape)
