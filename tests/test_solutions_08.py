"""Notebook 08 against PyTorch: the worked solution of exercise 1, and the lesson's own functions run from its cells.

Every vectorised version the notebook builds is held to PyTorch's gradient bit for bit in float32 (ties, overlap,
gaps), and its claims about the scatters are checked: np.bincount sums in float64 (bit for bit where an input
collects at most two gradients, exercise 3), the buffered += loses repeats, the per-offset += is exact from the last
offset to the first. The byte counts of section 8 are those of benchmarks/bench_ops.py. PyTorch is the oracle: it
never appears in the checked cells of the notebook.
"""
import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided, sliding_window_view

import poolviz as pv
from conftest import require_solutions
from poolviz.exercises.fast import check_vectorised_max_pool_backward
from poolviz.routing import fraction_reached

require_solutions()  # in a copy without notebooks/solutions/ (a handout) this module skips, saying so
torch = pytest.importorskip("torch")
F = torch.nn.functional

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "08-a-fast-backward.ipynb"
from solutions.vectorised_max_pool_backward import max_pool_backward_vectorised  # noqa: E402

LESSON = ["out_size", "same_bits", "backward_loop", "window_view", "switches_from_windows", "flat_switches",
          "in_batch", "scatter_add_at", "backward_windows", "offset_view", "switches_by_offsets", "backward_offsets",
          "backward_tiles", "scatter_bincount", "scatter_buffered", "scatter_by_offsets", "backward_offsets_scatter"]


def _cells():
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.fixture(scope="module")
def nb():
    """The notebook's functions, defined by running the cells that define them (in order)."""
    namespace = {"np": np, "pv": pv, "sliding_window_view": sliding_window_view, "as_strided": as_strided}
    for source in _cells():
        if any(f"def {name}(" in source for name in LESSON) and not source.startswith("# NBVAL_CHECK_OUTPUT"):
            with contextlib.redirect_stdout(io.StringIO()):
                exec(source, namespace)
    missing = [name for name in LESSON if name not in namespace]
    assert not missing, f"the notebook no longer defines {missing}"
    return namespace


def _torch_grad(g, x, k, s):
    """PyTorch's max-pool gradient for x (..., H, W) in x's dtype."""
    lead = x.shape[:-2]
    xt = torch.from_numpy(np.ascontiguousarray(x).reshape((-1, 1) + x.shape[-2:])).requires_grad_()
    F.max_pool2d(xt, k, s).backward(torch.from_numpy(np.ascontiguousarray(g).reshape((-1, 1) + g.shape[-2:])))
    return xt.grad.numpy().reshape(lead + x.shape[-2:])


def _bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _input(rng, shape, kind, dtype=np.float32):
    x = rng.standard_normal(shape)
    if kind == "ties":  # a ReLU, rounded to one decimal, half its zeros -0.0
        x = np.round(np.maximum(x, 0), 1)
        x[(x == 0) & (rng.random(shape) < 0.5)] = -0.0
    return x.astype(dtype)


GEOMETRIES = [(2, 2, (2, 3, 8, 10)), (3, 2, (2, 3, 11, 9)), (3, 1, (2, 2, 7, 8)), (2, 3, (1, 3, 10, 8)),
              (3, 3, (2, 2, 9, 12)), (1, 1, (1, 2, 4, 5)), (4, 2, (1, 2, 10, 11)), (2, 2, (5, 7))]


def _cases(kinds=("normal", "ties"), dtype=np.float32):
    rng = np.random.default_rng(8)
    for k, s, shape in GEOMETRIES:
        for kind in kinds:
            x = _input(rng, shape, kind, dtype)
            g_shape = shape[:-2] + ((shape[-2] - k) // s + 1, (shape[-1] - k) // s + 1)
            yield f"k={k} s={s} {shape} {kind}", x, rng.standard_normal(g_shape).astype(dtype), k, s


# ---------------------------------------------------------------- exercise 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_solution_is_pytorchs_gradient_bit_for_bit(dtype):
    for name, x, g, k, s in _cases(dtype=dtype):
        assert _bits(max_pool_backward_vectorised(g, x, k, s), _torch_grad(g, x, k, s)), name


def test_the_solution_passes_its_checker():
    result = check_vectorised_max_pool_backward(max_pool_backward_vectorised)
    assert result.passed, str(result)


# ---------------------------------------------------------------- the lesson's versions


@pytest.mark.parametrize("version", ["backward_loop", "backward_windows", "backward_offsets",
                                     "backward_offsets_scatter", "backward_tiles"])
def test_every_version_in_the_notebook_is_pytorchs_gradient_bit_for_bit(nb, version):
    checked = 0
    for name, x, g, k, s in _cases():
        if x.ndim < 3 and version == "backward_loop":
            x, g = x[None], g[None]  # the loop walks the planes of a batch
        if version == "backward_tiles" and not (k == s and x.shape[-2] % k == 0 and x.shape[-1] % k == 0):
            continue
        assert _bits(nb[version](g, x, k, s), _torch_grad(g, x, k, s)), name
        checked += 1
    assert checked >= 4


def test_switches_by_offsets_with_greater_equal_takes_the_last_tie(nb):
    x = np.array([[[1.0, 2.0, 2.0], [0.0, 2.0, 1.0]]], dtype=np.float32)  # k=2, s=1: two windows, both tied
    first = nb["switches_by_offsets"](x, 2, 1)
    last = nb["switches_by_offsets"](x, 2, 1, better=np.greater_equal)
    assert first.tolist() == [[[1, 0]]] and last.tolist() == [[[3, 2]]]


def _switch_data(nb, x, k, s):
    code = nb["switches_by_offsets"](x, k, s)
    return code, nb["flat_switches"](code, k, s, x.shape[-1])


def test_bincount_sums_in_float64_and_matches_where_at_most_two_gradients_meet(nb):
    assert np.bincount([0, 0], weights=np.float32([1, 2])).dtype == np.float64
    for name, x, g, k, s in _cases():
        _, index = _switch_data(nb, x, k, s)
        ours = nb["scatter_bincount"](g, index, x.shape)
        theirs = _torch_grad(g, x, k, s)
        wins = np.bincount(nb["in_batch"](index, x.shape), minlength=x.size).reshape(x.shape)
        at_most_two = wins <= 2
        assert _bits(ours[at_most_two], theirs[at_most_two]), name  # exercise 3
        g64 = g.astype(np.float64)
        assert _bits(nb["scatter_bincount"](g64, index, x.shape), _torch_grad(g64, x.astype(np.float64), k, s))


def test_buffered_plus_equals_loses_repeats_and_is_exact_without_them(nb):
    for name, x, g, k, s in _cases():
        _, index = _switch_data(nb, x, k, s)
        wins = np.bincount(nb["in_batch"](index, x.shape), minlength=x.size)
        ours = nb["scatter_buffered"](g, index, x.shape)
        if wins.max() <= 1:
            assert _bits(ours, _torch_grad(g, x, k, s)), name
        else:
            assert not np.allclose(ours, _torch_grad(g, x, k, s)), name


def test_the_per_offset_scatter_is_exact_from_the_last_offset_to_the_first_only(nb):
    forward_differs = 0
    for name, x, g, k, s in _cases():
        code, _ = _switch_data(nb, x, k, s)
        assert _bits(nb["scatter_by_offsets"](g, code, k, s, x.shape), _torch_grad(g, x, k, s)), name
        forward = nb["scatter_by_offsets"](g, code, k, s, x.shape, order=list)
        forward_differs += int(np.count_nonzero(forward != _torch_grad(g, x, k, s)))
        np.testing.assert_allclose(forward, _torch_grad(g, x, k, s), rtol=1e-6, atol=1e-6)
    assert forward_differs > 0  # in float32 the order shows somewhere (the notebook's case shows it too)


def test_the_three_numbers_of_exercise_3():
    a, b = np.float32(1), np.float32(2.0**-24)
    assert (np.float32(0) + a + b) + b == np.float32(1)
    assert np.bincount([0, 0, 0], weights=np.array([a, b, b])).astype(np.float32)[0] == np.float32(1 + 2.0**-23)
    # the centre of a 3x3 input wins all four 2x2 windows: PyTorch's float32 sum is the in-order one
    xt = torch.tensor([[[[0.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]]]], requires_grad=True)
    F.max_pool2d(xt, 2, 1).backward(torch.tensor([[[[1.0, 2.0**-24], [2.0**-24, 0.0]]]]))
    assert xt.grad[0, 0, 1, 1].item() == 1.0


# ---------------------------------------------------------------- section 8's byte counts are BENCHMARKS.md's


def _bench_ops():
    spec = importlib.util.spec_from_file_location("bench_ops", ROOT / "benchmarks" / "bench_ops.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_ops"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_the_sparse_sections_least_bytes_are_the_benchmarks_floor_bytes():
    source = next(s for s in _cells() if "least = {" in s)
    rng = np.random.default_rng(0)
    x_b = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    g_b = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    namespace = {"np": np, "pv": pv, "rng": rng, "fraction_reached": fraction_reached,
                 "bench": {"k=2, s=2": (g_b, x_b, 2, 2)}}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(source, namespace)
    least, bench_ops = namespace["least"], _bench_ops()
    N, n = x_b.size, g_b.size
    assert least["max backward, switches stored"] == bench_ops.floor_bytes("max", "backward", N, n, "poolviz")
    assert least["max backward, switches from x"] == bench_ops.floor_bytes("max", "backward", N, n, "poolviz from x")
    assert least["average backward"] == bench_ops.floor_bytes("avg", "backward", N, n, "poolviz")
