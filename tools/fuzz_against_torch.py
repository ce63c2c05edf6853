"""Compare poolviz with PyTorch on random configurations, on every implementation path: a held-out check.

The golden files (tools/make_golden.py) pin chosen cases; this draws fresh ones: random geometry
(kernel, stride, padding, dilation, ceil_mode, count_include_pad), float32 and float64 inputs full of
ties, signed zeros, infinities and NaN, and random leading dimensions. Max and average pooling, forward
(values and indices) and backward (from x and from the saved indices) are compared bit for bit, signs of
zero included, on every path of :mod:`poolviz.paths` (the fast ones with one plane per block as well as
the default block size; the compiled one where numba is installed). Needs PyTorch (``pip install torch==2.13.0``); not part of the test suite.

    python tools/fuzz_against_torch.py             # 300 configurations, about a minute
    python tools/fuzz_against_torch.py --cases 2000 --seed 7
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torch.nn.functional as F

import poolviz as pv
from poolviz import paths

# the compiled path (numba, pip install poolviz[fast]) where it is installed; it has no blocks
COMPILED = [dict(max_pool="compiled", avg_pool="compiled")] if paths.numba_installed() else []
MAX_SETTINGS = [dict(max_pool=p, block_bytes=b) for p in ("offsets", "gather", "planes", "tiles")
                for b in (1, 1 << 20)] + COMPILED
AVG_SETTINGS = [dict(avg_pool=p, block_bytes=b) for p in ("offsets", "dense-rows", "dense-phases")
                for b in (1, 1 << 20)] + COMPILED


def draw_config(rng):
    """A random valid geometry (PyTorch's rules), or None when the draw gives an empty or all-padding window."""
    k = tuple(int(v) for v in rng.integers(1, 5, 2))
    s = tuple(int(v) for v in rng.integers(1, 5, 2))
    d = tuple(int(v) for v in rng.integers(1, 3, 2))
    if rng.random() < 1 / 3:  # a window with compiled kernels of its own (k2s2, k3s2, k3s1), else rarely drawn
        (kk, ss) = [(2, 2), (3, 2), (3, 1)][rng.integers(3)]
        k, s, d = (kk, kk), (ss, ss), (1, 1)
    p = tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k)
    ceil = bool(rng.integers(2))
    shape = tuple(int(v) for v in rng.integers(1, 4, rng.integers(1, 3))) + tuple(int(v) for v in rng.integers(1, 14, 2))
    try:
        pv.pool_geometry(shape[-2:], k, s, p, d, ceil)
    except ValueError:
        return None
    return dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil), shape


def special_input(rng, shape, dtype):
    """Rounded normals (ties), with signed zeros, infinities and NaN sprinkled in."""
    x = np.round(rng.standard_normal(shape), 1).astype(dtype)
    pick = rng.random(shape)
    x[pick < 0.15] = -0.0
    x[(pick >= 0.15) & (pick < 0.2)] = 0.0
    x[(pick >= 0.2) & (pick < 0.22)] = -np.inf
    x[(pick >= 0.22) & (pick < 0.23)] = np.inf
    x[(pick >= 0.23) & (pick < 0.24)] = np.nan
    return x


def same_bits(a, b) -> bool:
    """Same shape and dtype, equal, NaN where NaN, and the same sign of every zero (a NaN's own sign aside)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if b.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    nan = np.isnan(b)
    return bool(np.array_equal(np.isnan(a), nan) and np.array_equal(a[~nan], b[~nan])
                and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))


def torch_max(x, g, kw):
    t = torch.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(t, **kw, return_indices=True)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), idx.numpy(), t.grad.numpy()


def torch_avg(x, g, kw):
    t = torch.tensor(x, requires_grad=True)
    y = F.avg_pool2d(t, **kw)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


def fuzz(cases: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    failures = checked = 0
    while checked < cases:
        drawn = draw_config(rng)
        if drawn is None:
            continue
        kw, shape = drawn
        dtype = rng.choice([np.float32, np.float64])
        x = special_input(rng, shape, dtype)
        x4 = x.reshape((-1,) + shape[-2:])[:, None] if len(shape) != 3 else x  # torch wants (N, C, H, W) or (C, H, W)
        g = np.round(rng.standard_normal(tuple(F.max_pool2d(torch.tensor(x4), **kw).shape)), 1).astype(dtype)
        g[rng.random(g.shape) < 0.2] = -0.0
        y_t, idx_t, dx_t = torch_max(x4, g, kw)
        for setting in MAX_SETTINGS:
            with paths.use(**setting):
                y, idx = pv.max_pool2d(x4, **kw, return_indices=True)
                dx = pv.max_pool2d_backward(g, x4, **kw)
                dx_saved = pv.max_pool2d_backward(g, x4, **kw, indices=idx)
            ok = same_bits(y, y_t) and np.array_equal(idx, idx_t) and same_bits(dx, dx_t) and same_bits(dx_saved, dx_t)
            if not ok:
                failures += 1
                print(f"max {setting} {kw} {x4.shape} {x4.dtype}: differs from PyTorch", file=sys.stderr)
        avg_kw = {k: v for k, v in kw.items() if k != "dilation"}
        avg_kw["count_include_pad"] = bool(rng.integers(2))
        try:
            pv.pool_geometry(shape[-2:], avg_kw["kernel_size"], avg_kw["stride"], avg_kw["padding"], 1,
                             avg_kw["ceil_mode"])
        except ValueError:
            checked += 1
            continue
        ga = np.round(rng.standard_normal(tuple(F.avg_pool2d(torch.tensor(x4), **avg_kw).shape)), 1).astype(dtype)
        y_t, dx_t = torch_avg(x4, ga, avg_kw)
        for setting in AVG_SETTINGS:
            with paths.use(**setting):
                with np.errstate(invalid="ignore"):
                    y, dx = pv.avg_pool2d(x4, **avg_kw), pv.avg_pool2d_backward(ga, x4, **avg_kw)
            if not (same_bits(y, y_t) and same_bits(dx, dx_t)):
                failures += 1
                print(f"avg {setting} {avg_kw} {x4.shape} {x4.dtype}: differs from PyTorch", file=sys.stderr)
        checked += 1
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    failures = fuzz(args.cases, args.seed)
    runs = args.cases * (len(MAX_SETTINGS) + len(AVG_SETTINGS))
    print(f"torch {torch.__version__}, poolviz {pv.__version__}: {args.cases} configurations, up to {runs} "
          f"path runs compared bit for bit; {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
