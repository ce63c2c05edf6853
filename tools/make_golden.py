"""Write PyTorch's answers for a grid of pooling cases into tests/golden/, for tests/test_golden.py.

Regenerate with::

    pip install torch==2.13.0    # the oracle only; not a course dependency
    python tools/make_golden.py

PyTorch is used here and nowhere else: the tests read the stored arrays and never import torch.
Each case's random input is seeded from its own name, so adding a case leaves the others unchanged.

One file per op, ``tests/golden/<op>.npz``, holding

* ``meta``: a JSON string ``{"torch_version", "numpy_version", "cases": [...]}``; each case has
  ``name``, ``op``, ``dtype``, ``kwargs`` (the op's keyword arguments), ``kind`` (how x was made) and,
  for max_unpool2d, ``pool_kwargs``; ``expect_error`` marks configs where PyTorch returns garbage
  (a window holding only padding) and poolviz raises ValueError instead.
* per case ``<name>/x``, ``<name>/grad_output``, ``<name>/y`` (forward), ``<name>/grad_x``
  (``x.grad`` after ``y.backward(grad_output)``), and for max pooling ``<name>/indices``.
  For max_unpool2d: ``<name>/x`` is the pooled input, ``<name>/pooled`` and ``<name>/indices`` what
  max_pool2d returned, ``<name>/y`` the unpooled output (no gradient).
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden"
F32, F64, BOTH, F16 = ("float32",), ("float64",), ("float32", "float64"), ("float16",)


# --- inputs ---------------------------------------------------------------------------------
# Each kind is chosen to catch a particular wrong implementation (see the comment on each).

def _sprinkle(rng, x, value, fraction):
    x[rng.random(x.shape) < fraction] = value
    return x


def _neginf_blocks(rng, x):
    x = _sprinkle(rng, x, -np.inf, 0.15)
    x[..., 0, :] = -np.inf  # a -inf border row next to the padding
    x[..., :3, :3] = -np.inf  # a -inf corner: windows of -inf, or of -inf and padding only
    return x


KINDS = {
    "normal": lambda rng, s: rng.standard_normal(s),
    # float32 sums of mixed magnitudes round differently in a different order
    "wide": lambda rng, s: rng.standard_normal(s) * 10.0 ** rng.uniform(-4, 4, s),
    # integer values with many repeats: ties inside windows (first maximum must win)
    "ties": lambda rng, s: rng.integers(-2, 3, s).astype(float),
    # every window all-equal: the winner is the window's first real element
    "equal": lambda rng, s: np.full(s, 1.5),
    # post-ReLU activations: many zero ties, and all-zero windows
    "relu": lambda rng, s: np.maximum(rng.standard_normal(s), 0.0),
    # -0.0 == 0.0 but the bits differ: max must copy the first maximum, not any equal value
    "signed_zeros": lambda rng, s: rng.choice([-0.0, 0.0, -1.0], s),
    # mostly -0.0: many windows hold nothing else (PyTorch's average of them is +0.0)
    "negative_zeros": lambda rng, s: rng.choice([-0.0, 0.0, -1.0], s, p=[0.7, 0.15, 0.15]),
    "nan": lambda rng, s: _sprinkle(rng, rng.standard_normal(s), np.nan, 0.08),  # about one NaN a window
    "nan_dense": lambda rng, s: _sprinkle(rng, rng.standard_normal(s), np.nan, 0.4),  # several a window
    "neginf": lambda rng, s: _neginf_blocks(rng, rng.standard_normal(s)),
    "inf_nan": lambda rng, s: _sprinkle(rng, _sprinkle(rng, _sprinkle(rng, rng.standard_normal(s), np.inf, 0.08),
                                                         -np.inf, 0.08), np.nan, 0.05),
    "positive": lambda rng, s: rng.uniform(0.1, 2.0, s),  # lp pooling with a fractional power needs x >= 0
    # integer ties plus the dtype's extremes (made in make_x): the smallest integer is also max's padding value
    "int_extremes": lambda rng, s: rng.integers(-2, 3, s),
}


def make_x(rng, kind, shape, dtype):
    x = KINDS[kind](rng, shape).astype(dtype)
    if kind == "int_extremes":
        info = np.iinfo(dtype)
        x[rng.random(shape) < 0.3] = info.min
        x[rng.random(shape) < 0.05] = info.max
    return x


# --- the grid -------------------------------------------------------------------------------

def case(op, label, shape, kind, dtypes=F32, **kwargs):
    """One row of the grid, expanded to one case per dtype."""
    return [dict(op=op, name=f"{label}-{dt}", label=label, shape=shape, kind=kind, dtype=dt, kwargs=kwargs)
            for dt in dtypes]


def unpool(label, shape, kind, pool_kwargs, dtypes=F32, output_size=None):
    kw = {k: pool_kwargs[k] for k in ("kernel_size", "stride", "padding") if k in pool_kwargs}
    if output_size is not None:
        kw["output_size"] = output_size
    return [dict(op="max_unpool2d", name=f"{label}-{dt}", label=label, shape=shape, kind=kind, dtype=dt,
                 kwargs=kw, pool_kwargs=pool_kwargs) for dt in dtypes]


def error(op, label, shape, **kwargs):
    rows = case(op, label, shape, "normal", F64, **kwargs)
    for r in rows:
        r["expect_error"] = True
    return rows


GRID = [
    # max_pool2d --------------------------------------------------------------------------
    *case("max_pool2d", "k2-default-stride", (2, 2, 6, 8), "normal", BOTH, kernel_size=2),
    *case("max_pool2d", "k3s1p1-overlap9", (1, 2, 7, 8), "normal", BOTH, kernel_size=3, stride=1, padding=1),
    *case("max_pool2d", "k3s1p1-ties", (1, 2, 7, 8), "ties", BOTH, kernel_size=3, stride=1, padding=1),
    *case("max_pool2d", "k3s2p1-ties", (2, 7, 9), "ties", F32, kernel_size=3, stride=2, padding=1),
    *case("max_pool2d", "k4s1p2-ties-overlap16", (1, 2, 6, 7), "ties", F32, kernel_size=4, stride=1, padding=2),
    *case("max_pool2d", "k3s2p1-all-equal", (1, 2, 7, 7), "equal", BOTH, kernel_size=3, stride=2, padding=1),
    *case("max_pool2d", "k2s1-all-equal-dil2", (2, 6, 7), "equal", F32, kernel_size=2, stride=1, dilation=2),
    *case("max_pool2d", "k3s1-relu", (1, 2, 7, 8), "relu", BOTH, kernel_size=3, stride=1),
    *case("max_pool2d", "k2s2-relu-ceil", (2, 7, 9), "relu", F32, kernel_size=2, ceil_mode=True),
    *case("max_pool2d", "k2s1-signed-zeros", (2, 6, 6), "signed_zeros", F32, kernel_size=2, stride=1),
    # float16: numpy's maximum breaks ties the other way round for half than for float and double
    *case("max_pool2d", "k2-signed-zeros", (2, 6, 8), "signed_zeros", F16, kernel_size=2),
    *case("max_pool2d", "k3s2p1-signed-zeros", (2, 7, 9), "signed_zeros", F16, kernel_size=3, stride=2, padding=1),
    *case("max_pool2d", "k2s2-nan", (2, 2, 6, 8), "nan", BOTH, kernel_size=2),
    *case("max_pool2d", "k3s1p1-nan-dense", (2, 7, 8), "nan_dense", BOTH, kernel_size=3, stride=1, padding=1),
    *case("max_pool2d", "k3s2p1-neginf-windows", (2, 2, 7, 8), "neginf", BOTH, kernel_size=3, stride=2, padding=1),
    *case("max_pool2d", "k2s2-neginf-windows", (2, 6, 8), "neginf", F32, kernel_size=2),
    *case("max_pool2d", "k3s1p1d2-neginf", (2, 8, 8), "neginf", F32, kernel_size=3, stride=1, padding=1, dilation=2),
    *case("max_pool2d", "k3s2p1-inf-nan", (2, 7, 8), "inf_nan", F64, kernel_size=3, stride=2, padding=1),
    *case("max_pool2d", "k3s2-ceil-partial", (1, 2, 8, 10), "normal", BOTH, kernel_size=3, stride=2, ceil_mode=True),
    *case("max_pool2d", "k2s2p1-ceil-last-dropped", (2, 5, 5), "normal", BOTH, kernel_size=2, stride=2, padding=1,
          ceil_mode=True),
    *case("max_pool2d", "k1s3-ceil-last-dropped", (2, 5, 7), "normal", F32, kernel_size=1, stride=3, ceil_mode=True),
    *case("max_pool2d", "k3s2p1-ceil-ties", (2, 8, 8), "ties", F32, kernel_size=3, stride=2, padding=1, ceil_mode=True),
    *case("max_pool2d", "k3s2p1d2-ceil", (2, 9, 10), "normal", F32, kernel_size=3, stride=2, padding=1, dilation=2,
          ceil_mode=True),
    *case("max_pool2d", "k2s1p1d3", (2, 8, 9), "normal", F32, kernel_size=2, stride=1, padding=1, dilation=3),
    *case("max_pool2d", "k3s1d3-ties", (2, 9, 9), "ties", F64, kernel_size=3, stride=1, dilation=3),
    *case("max_pool2d", "k2s3-gapped", (2, 8, 9), "normal", F32, kernel_size=2, stride=3),
    *case("max_pool2d", "k2x1s3x2-gapped-ceil", (2, 8, 9), "normal", F32, kernel_size=(2, 1), stride=(3, 2),
          ceil_mode=True),
    *case("max_pool2d", "k2x3s1x2p1x0d1x2-ties", (2, 5, 11), "ties", BOTH, kernel_size=(2, 3), stride=(1, 2),
          padding=(1, 0), dilation=(1, 2)),
    *case("max_pool2d", "k3x2s2x1p0x1-rect", (2, 2, 9, 4), "normal", F32, kernel_size=(3, 2), stride=(2, 1),
          padding=(0, 1)),
    *case("max_pool2d", "k3x5s1p1x2-ties-ceil", (2, 6, 9), "ties", F32, kernel_size=(3, 5), stride=1,
          padding=(1, 2), ceil_mode=True),
    *case("max_pool2d", "k2-2d-input", (6, 7), "normal", F32, kernel_size=2, stride=1),
    *case("max_pool2d", "k2-5d-input", (2, 2, 2, 4, 5), "ties", F32, kernel_size=2, stride=1),
    *case("max_pool2d", "k3s1p1-tiny-input", (2, 2, 3), "normal", F32, kernel_size=3, stride=1, padding=1),
    *case("max_pool2d", "k2s3p1-gapped-padded", (2, 7, 8), "ties", F32, kernel_size=2, stride=3, padding=1),
    *case("max_pool2d", "k7-whole-plane", (2, 7, 7), "ties", F32, kernel_size=7),
    # integers (forward only: no gradients for integer tensors); padding is the dtype's smallest value
    *case("max_pool2d", "k3s2p1-int-extremes", (2, 7, 8), "int_extremes", ("int64", "int32"), kernel_size=3,
          stride=2, padding=1),
    *case("max_pool2d", "k2s2p1-ceil-int-extremes", (2, 6, 7), "int_extremes", ("uint8",), kernel_size=2, stride=2,
          padding=1, ceil_mode=True),
    *error("max_pool2d", "d3p1-window-all-padding", (2, 2, 5), kernel_size=2, stride=1, padding=1, dilation=(3, 1)),
    # max_pool1d --------------------------------------------------------------------------
    *case("max_pool1d", "k2-default-stride", (2, 3, 10), "normal", BOTH, kernel_size=2),
    *case("max_pool1d", "k3s1p1-ties", (2, 3, 12), "ties", BOTH, kernel_size=3, stride=1, padding=1),
    *case("max_pool1d", "k3s1-relu", (3, 12), "relu", F32, kernel_size=3, stride=1),
    *case("max_pool1d", "k2s1-all-equal", (2, 9), "equal", F32, kernel_size=2, stride=1),
    *case("max_pool1d", "k3s1p1-nan-dense", (2, 3, 12), "nan_dense", BOTH, kernel_size=3, stride=1, padding=1),
    *case("max_pool1d", "k2s2-nan", (3, 12), "nan", F32, kernel_size=2),
    *case("max_pool1d", "k3s2p1-neginf", (3, 11), "neginf", BOTH, kernel_size=3, stride=2, padding=1),
    *case("max_pool1d", "k3s2-ceil-partial", (2, 10), "normal", F32, kernel_size=3, stride=2, ceil_mode=True),
    *case("max_pool1d", "k2s2p1-ceil-last-dropped", (2, 5), "normal", F32, kernel_size=2, stride=2, padding=1,
          ceil_mode=True),
    *case("max_pool1d", "k1s3-ceil-last-dropped", (2, 5), "normal", F32, kernel_size=1, stride=3, ceil_mode=True),
    *case("max_pool1d", "k3s1p1d2-ties", (2, 12), "ties", F32, kernel_size=3, stride=1, padding=1, dilation=2),
    *case("max_pool1d", "k2s1p1d3-ceil", (2, 11), "normal", F64, kernel_size=2, stride=1, padding=1, dilation=3,
          ceil_mode=True),
    *case("max_pool1d", "k2s3-gapped", (2, 11), "normal", F32, kernel_size=2, stride=3),
    *case("max_pool1d", "k2s1-4d-input", (2, 2, 2, 7), "ties", F32, kernel_size=2, stride=1),
    *case("max_pool1d", "k3-1d-input", (10,), "normal", F32, kernel_size=3, stride=1),
    *case("max_pool1d", "k3s2p1-int-extremes", (2, 11), "int_extremes", ("int64",), kernel_size=3, stride=2,
          padding=1),
    *error("max_pool1d", "d3p1-window-all-padding", (2, 2), kernel_size=2, stride=1, padding=1, dilation=3),
    # avg_pool2d --------------------------------------------------------------------------
    *case("avg_pool2d", "k2-default-stride", (2, 6, 8), "normal", BOTH, kernel_size=2),
    *case("avg_pool2d", "k3s1p1-overlap9", (1, 2, 7, 8), "wide", BOTH, kernel_size=3, stride=1, padding=1),
    *case("avg_pool2d", "k3s1p1-overlap9-nopad", (1, 2, 7, 8), "wide", BOTH, kernel_size=3, stride=1, padding=1,
          count_include_pad=False),
    *case("avg_pool2d", "k3s2p1-ceil", (2, 8, 8), "wide", BOTH, kernel_size=3, stride=2, padding=1, ceil_mode=True),
    *case("avg_pool2d", "k3s2p1-ceil-nopad", (2, 8, 8), "wide", BOTH, kernel_size=3, stride=2, padding=1,
          ceil_mode=True, count_include_pad=False),
    *case("avg_pool2d", "k2s2p1-ceil-last-dropped", (2, 5, 5), "normal", F32, kernel_size=2, stride=2, padding=1,
          ceil_mode=True),
    *case("avg_pool2d", "k3s2-ceil-past-padding", (2, 8, 10), "normal", F32, kernel_size=3, stride=2, ceil_mode=True),
    *case("avg_pool2d", "k3s2-ceil-past-padding-nopad", (2, 8, 10), "normal", F32, kernel_size=3, stride=2,
          ceil_mode=True, count_include_pad=False),
    *case("avg_pool2d", "k3s1p1-divisor5", (2, 7, 8), "wide", BOTH, kernel_size=3, stride=1, padding=1,
          divisor_override=5),
    *case("avg_pool2d", "k3s2p1-ceil-divisor-neg2", (2, 7, 8), "normal", F32, kernel_size=3, stride=2, padding=1,
          ceil_mode=True, divisor_override=-2),
    *case("avg_pool2d", "k2s2-ties-divisor-neg2", (2, 6, 8), "ties", BOTH, kernel_size=2, divisor_override=-2),
    *case("avg_pool2d", "k3s1p1-tiny-input-nopad", (2, 2, 3), "normal", F32, kernel_size=3, stride=1, padding=1,
          count_include_pad=False),
    *case("avg_pool2d", "k2s3p1-gapped-padded", (2, 7, 8), "normal", F32, kernel_size=2, stride=3, padding=1),
    *case("avg_pool2d", "k2s3-gapped", (2, 8, 9), "normal", F32, kernel_size=2, stride=3),
    *case("avg_pool2d", "k2x3s1x2p1x0-rect", (2, 5, 11), "wide", BOTH, kernel_size=(2, 3), stride=(1, 2),
          padding=(1, 0), count_include_pad=False),
    *case("avg_pool2d", "k3x5s2x1p1x2-ceil", (2, 7, 9), "wide", F32, kernel_size=(3, 5), stride=(2, 1),
          padding=(1, 2), ceil_mode=True),
    *case("avg_pool2d", "k3s2p1-inf-nan", (2, 7, 8), "inf_nan", F32, kernel_size=3, stride=2, padding=1),
    *case("avg_pool2d", "k2s1-2d-input", (6, 7), "normal", F32, kernel_size=2, stride=1),
    # windows of -0.0 only: PyTorch's sum starts at +0.0, so their average is +0.0
    *case("avg_pool2d", "k2-negative-zeros", (2, 6, 8), "negative_zeros", F32, kernel_size=2),
    # float16: summed in float, but the gradient accumulates in half, with the divisor rounded to half
    *case("avg_pool2d", "k3s1p1-overlap9", (2, 7, 8), "wide", F16, kernel_size=3, stride=1, padding=1),
    *case("avg_pool2d", "k2-divisor2049", (2, 6, 8), "wide", F16, kernel_size=2, divisor_override=2049),
    *case("avg_pool2d", "k3s1p1-negative-zeros", (2, 6, 8), "negative_zeros", BOTH, kernel_size=3, stride=1,
          padding=1),
    *case("avg_pool2d", "k2s1-5d-input", (2, 2, 2, 4, 5), "normal", F32, kernel_size=2, stride=1),
    # avg_pool1d (PyTorch's avg_pool1d has no divisor_override) ------------------------------
    *case("avg_pool1d", "k2-default-stride", (2, 3, 10), "normal", BOTH, kernel_size=2),
    *case("avg_pool1d", "k3s1p1-overlap", (2, 3, 12), "wide", BOTH, kernel_size=3, stride=1, padding=1),
    *case("avg_pool1d", "k3s1p1-overlap-nopad", (2, 3, 12), "wide", BOTH, kernel_size=3, stride=1, padding=1,
          count_include_pad=False),
    *case("avg_pool1d", "k5s1p2-overlap", (2, 12), "wide", F32, kernel_size=5, stride=1, padding=2),
    *case("avg_pool1d", "k3s2p1-ceil", (2, 10), "wide", BOTH, kernel_size=3, stride=2, padding=1, ceil_mode=True),
    *case("avg_pool1d", "k3s2p1-ceil-nopad", (2, 10), "wide", F32, kernel_size=3, stride=2, padding=1,
          ceil_mode=True, count_include_pad=False),
    *case("avg_pool1d", "k2s2p1-ceil-last-dropped", (2, 5), "normal", F32, kernel_size=2, stride=2, padding=1,
          ceil_mode=True),
    *case("avg_pool1d", "k3s2-ceil-past-padding", (2, 10), "normal", F32, kernel_size=3, stride=2, ceil_mode=True),
    *case("avg_pool1d", "k2s3-gapped", (2, 11), "normal", F32, kernel_size=2, stride=3),
    *case("avg_pool1d", "k2s1-4d-input", (2, 2, 2, 7), "normal", F32, kernel_size=2, stride=1),
    *case("avg_pool1d", "k2-negative-zeros", (2, 12), "negative_zeros", F32, kernel_size=2),
    # lp_pool2d (no padding, no dilation in PyTorch) ------------------------------------------
    *case("lp_pool2d", "p1-k2", (2, 2, 6, 8), "positive", BOTH, norm_type=1, kernel_size=2),
    *case("lp_pool2d", "p2-k3s1", (2, 2, 7, 8), "positive", BOTH, norm_type=2, kernel_size=3, stride=1),
    *case("lp_pool2d", "p3-k3s2", (2, 7, 9), "positive", BOTH, norm_type=3, kernel_size=3, stride=2),
    *case("lp_pool2d", "p1.5-k2s1", (2, 6, 7), "positive", BOTH, norm_type=1.5, kernel_size=2, stride=1),
    *case("lp_pool2d", "p2-k3s2-ceil-partial", (2, 8, 10), "positive", BOTH, norm_type=2, kernel_size=3, stride=2,
          ceil_mode=True),
    *case("lp_pool2d", "p1.5-k2x3s1x2-ceil", (2, 7, 10), "positive", F32, norm_type=1.5, kernel_size=(2, 3),
          stride=(1, 2), ceil_mode=True),
    *case("lp_pool2d", "p2-k2s3-gapped", (2, 8, 9), "positive", F32, norm_type=2, kernel_size=2, stride=3),
    *case("lp_pool2d", "p2-k2-relu-zero-windows", (2, 6, 8), "relu", F64, norm_type=2, kernel_size=2),
    # lp_pool1d ---------------------------------------------------------------------------
    *case("lp_pool1d", "p1-k2", (2, 3, 10), "positive", BOTH, norm_type=1, kernel_size=2),
    *case("lp_pool1d", "p2-k3s1", (2, 3, 12), "positive", BOTH, norm_type=2, kernel_size=3, stride=1),
    *case("lp_pool1d", "p3-k3s2", (2, 11), "positive", F32, norm_type=3, kernel_size=3, stride=2),
    *case("lp_pool1d", "p1.5-k2s1", (2, 9), "positive", F64, norm_type=1.5, kernel_size=2, stride=1),
    *case("lp_pool1d", "p2-k3s2-ceil-partial", (2, 10), "positive", BOTH, norm_type=2, kernel_size=3, stride=2,
          ceil_mode=True),
    *case("lp_pool1d", "p2-k2-relu-zero-windows", (2, 12), "relu", F64, norm_type=2, kernel_size=2),
    # max_unpool2d, from max_pool2d's indices ----------------------------------------------------
    *unpool("k2", (2, 2, 6, 8), "normal", dict(kernel_size=2), BOTH),
    *unpool("k2-odd-output-size", (2, 7, 9), "normal", dict(kernel_size=2), F32, output_size=(7, 9)),
    *unpool("k2-odd-full-output-size", (1, 2, 7, 9), "normal", dict(kernel_size=2), F32, output_size=(1, 2, 7, 9)),
    *unpool("k3s2p1", (2, 7, 8), "normal", dict(kernel_size=3, stride=2, padding=1), F32, output_size=(7, 8)),
    *unpool("k3s1p1-overlap-ties", (2, 6, 7), "ties", dict(kernel_size=3, stride=1, padding=1), F64),
    *unpool("k2x3s2x3-rect", (2, 6, 9), "normal", dict(kernel_size=(2, 3), stride=(2, 3)), F32),
]


# --- PyTorch as the oracle --------------------------------------------------------------------

TORCH_NDIM = {2: (3, 4), 1: (2, 3)}  # the input ranks PyTorch's 2-d and 1-d pools accept


def _for_torch(x: np.ndarray, dims: int) -> np.ndarray:
    """PyTorch takes (N, C, H, W) or (C, H, W); poolviz any (..., H, W): merge the leading axes."""
    return x if x.ndim in TORCH_NDIM[dims] else x.reshape((-1,) + x.shape[-dims:])


def _back(t: torch.Tensor, lead: tuple, dims: int) -> np.ndarray:
    a = t.detach().numpy()
    return a.reshape(lead + a.shape[-dims:])


def run_pool(c, x, rng):
    op, kw = c["op"], c["kwargs"]
    dims = 1 if op.endswith("1d") else 2
    lead = x.shape[:-dims]
    differentiable = x.dtype.kind == "f" and not c.get("expect_error")
    xt = torch.tensor(_for_torch(x, dims), requires_grad=differentiable)
    fn = getattr(F, op)
    arrays = {"x": x}
    if op.startswith("max"):
        y, idx = fn(xt, **kw, return_indices=True)
        arrays["indices"] = _back(idx, lead, dims)
        # without indices and without grad PyTorch may take another kernel: it must agree
        try:
            y_plain = fn(xt.detach(), **kw)
        except NotImplementedError:  # torch 2.13: max_pool1d without indices has no integer kernel
            y_plain = y
        np.testing.assert_array_equal(y_plain.detach().numpy(), y.detach().numpy())
    else:
        y = fn(xt, **kw)
    arrays["y"] = _back(y, lead, dims)
    if c.get("expect_error"):
        assert np.isneginf(arrays["y"]).any(), f"{c['name']}: expected a window of padding only"
    if not differentiable:
        return arrays
    g = rng.standard_normal(arrays["y"].shape).astype(x.dtype)
    y.backward(torch.tensor(_for_torch(g, dims)))
    arrays["grad_output"] = g
    arrays["grad_x"] = _back(xt.grad, lead, dims)
    return arrays


def run_unpool(c, x, rng):
    xt = torch.tensor(_for_torch(x, 2))
    pooled, idx = F.max_pool2d(xt, **c["pool_kwargs"], return_indices=True)
    y = F.max_unpool2d(pooled, idx, **c["kwargs"])
    lead = x.shape[:-2]
    return {"x": x, "pooled": _back(pooled, lead, 2), "indices": _back(idx, lead, 2), "y": _back(y, lead, 2)}


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # one thread: one summation order
    OUT.mkdir(parents=True, exist_ok=True)
    by_op: dict[str, tuple[list, dict]] = {}
    for c in GRID:
        rng = np.random.default_rng(zlib.crc32(f"{c['op']}/{c['name']}".encode()))
        x = make_x(rng, c["kind"], c["shape"], c["dtype"])
        arrays = run_unpool(c, x, rng) if c["op"] == "max_unpool2d" else run_pool(c, x, rng)
        cases, store = by_op.setdefault(c["op"], ([], {}))
        assert all(m["name"] != c["name"] for m in cases), f"duplicate case {c['op']}/{c['name']}"
        cases.append({k: c[k] for k in ("name", "op", "dtype", "kind", "kwargs", "pool_kwargs", "expect_error")
                      if k in c})
        store.update({f"{c['name']}/{k}": v for k, v in arrays.items()})
    for old in OUT.glob("*.npz"):
        old.unlink()
    for op, (cases, store) in by_op.items():
        meta = {"torch_version": torch.__version__, "numpy_version": np.__version__, "cases": cases}
        np.savez_compressed(OUT / f"{op}.npz", meta=np.array(json.dumps(meta)), **store)
    total = sum(p.stat().st_size for p in OUT.glob("*.npz"))
    print(f"wrote {len(GRID)} cases for {len(by_op)} ops to {OUT} ({total / 1024:.0f} KB), torch {torch.__version__}")


if __name__ == "__main__":
    main()
