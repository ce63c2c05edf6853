"""Speed of poolviz's pooling ops, next to the naive loops and PyTorch's CPU kernels.

A performance benchmark, not a test. Run from the repository root::

    python benchmarks/bench_ops.py            # about 2 minutes on a 2-core machine
    python benchmarks/bench_ops.py --quick    # about 30 s, noisier

For every case (input shape, kernel, stride), op (max, avg) and pass (forward, backward,
forward+backward) it times each implementation:

* ``loop``      poolviz.reference: pure-Python loops (on large inputs, a few planes, scaled up);
* ``poolviz``   the vectorised numpy ops;
* ``torch 1T``  torch.nn.functional on the CPU with ``torch.set_num_threads(1)``;
* ``torch NT``  the same with PyTorch's default thread count;
* ``compiled 1T``, ``compiled 1T from x``, ``compiled NT``: the compiled path (``pip install poolviz[fast]``)
  on one numba thread, and on numba's default thread count; skipped without numba.

The numpy columns run with ``POOLVIZ_COMPILED=0`` and the compiled ones with ``POOLVIZ_COMPILED=1`` (set
before each measurement, untimed), so that each measures its own path whatever "auto" would pick.
``--cold`` also measures, in fresh processes, what the compiled path costs before its first result:
``import numba``, and each op's first call with an empty disk cache and with a filled one.

Repeats are interleaved: each repeat runs every implementation once, in a rotated order, so
that drift (turbo, a noisy neighbour) hits all of them alike. The table reports medians and
each time as a multiple of torch 1T's time in the same run. It also reports each pass's
fraction of a memory-bandwidth floor: the bytes the pass must read and write, divided by
the np.copyto bandwidth measured in the same run.

PyTorch is optional: without it the torch columns (and the bit-for-bit check) are skipped.
"""
from __future__ import annotations

import os

# numpy single-threaded (its elementwise ops are anyway; this pins its BLAS). Not OMP_NUM_THREADS
# or MKL_NUM_THREADS: PyTorch reads those for its default thread count, the "torch NT" column.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

import poolviz as pv  # noqa: E402
from poolviz import reference  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None
DEFAULT_THREADS = torch.get_num_threads() if torch is not None else None
try:
    import numba
except ImportError:
    numba = None
NUMBA_THREADS = numba.get_num_threads() if numba is not None else None

# (shape, kernel, stride). Torch gets the 2-d image as (1, 1, 8, 8); poolviz pools the last two axes.
CASES = [
    ((32, 64, 56, 56), 2, 2),
    ((32, 64, 55, 55), 3, 2),
    ((8, 16, 28, 28), 2, 2),
    ((8, 8), 2, 2),
]
# The loops are pure Python: on an input of more elements than this budget (default, --quick) they run
# on as many leading (H, W) planes as fit, and their time is scaled by (all planes / planes run):
# pooling cost is linear in the number of planes.
LOOP_BUDGET, LOOP_BUDGET_QUICK = 2**17, 2**14
PASSES = ("forward", "backward", "forward+backward")
COPY_MIB = 256  # per array; src + dst (512 MiB) exceed the 300 MiB L3 this VM reports, so copies go to DRAM
F32, I64 = 4, 8  # bytes per element

def _max_forward(x, k, s):
    return pv.max_pool2d(x, k, s, return_indices=True)  # the training forward: keep the switches, as torch does


def _max_backward(g, x, k, s, saved):
    return pv.max_pool2d_backward(g, x, k, s, indices=saved[1])


def _max_backward_from_x(g, x, k, s, saved):
    return pv.max_pool2d_backward(g, x, k, s)  # recomputes the switches from x


def _avg_backward(g, x, k, s, saved):
    return pv.avg_pool2d_backward(g, x, k, s)


# op -> (forward(x, k, s) -> saved, backward(g, x, k, s, saved)); "from x": max's backward without the switches
NUMPY_OPS = {"max": (_max_forward, _max_backward), "avg": (pv.avg_pool2d, _avg_backward)}
FROM_X_OPS = {"max": (pv.max_pool2d, _max_backward_from_x), "avg": (pv.avg_pool2d, _avg_backward)}
LOOP_OPS = {
    "max": (reference.max_pool2d_loop, reference.max_pool2d_backward_loop),
    "avg": (reference.avg_pool2d_loop, reference.avg_pool2d_backward_loop),
}
TORCH_OPS = {"max": "max_pool2d", "avg": "avg_pool2d"}


@dataclass
class Job:
    """One thing to time: ``run()`` per call, ``setup()`` (untimed) before each call, times multiplied by ``scale``.

    ``before()`` (untimed) runs once before each measurement.
    """
    run: Callable[[], object]
    setup: Callable[[], object] | None = None
    before: Callable[[], object] | None = None
    scale: float = 1.0
    number: int = 1  # calls per measurement, set by calibrate()


def measure(job: Job) -> float:
    """Seconds per call of ``job``, averaged over ``job.number`` calls, times ``job.scale``."""
    if job.before is not None:
        job.before()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection inside one measurement is noise
    try:
        if job.setup is None:
            start = time.perf_counter()
            for _ in range(job.number):
                job.run()
            total = time.perf_counter() - start
        else:
            total = 0.0
            for _ in range(job.number):
                job.setup()
                start = time.perf_counter()
                job.run()
                total += time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return total / job.number * job.scale


def calibrate(job: Job, min_seconds: float) -> None:
    """Warm up (first calls allocate, PyTorch builds its thread pool), then pick enough calls per measurement."""
    job.number = 1
    measure(job)
    once = measure(job) / job.scale
    job.number = max(1, math.ceil(min_seconds / max(once, 1e-9)))


def loop_planes(shape, budget):
    """(planes in the input, planes the loops run on)."""
    planes = math.prod(shape[:-2])
    return planes, max(1, min(planes, budget // math.prod(shape[-2:])))


# --- the implementations ---------------------------------------------------------------------

def numpy_jobs(forward, backward, x, g, k, s, scale=1.0, before=None):
    """The three passes of a numpy forward/backward pair; the backward gets what the forward returned.

    ``before()`` (untimed) runs before each measurement, and once here, before the forward that is saved."""
    if before is not None:
        before()
    saved = forward(x, k, s)
    return {
        "forward": Job(lambda: forward(x, k, s), scale=scale, before=before),
        "backward": Job(lambda: backward(g, x, k, s, saved), scale=scale, before=before),
        "forward+backward": Job(lambda: backward(g, x, k, s, forward(x, k, s)), scale=scale, before=before),
    }


def compiled_setting(on, threads=None):
    """A ``before`` that selects the compiled path (``on``) or the numpy paths through "auto", and numba's threads."""
    def before():
        os.environ["POOLVIZ_COMPILED"] = "1" if on else "0"
        if threads is not None:
            numba.set_num_threads(threads)
    return before


def loop_ops(op):
    forward, backward = LOOP_OPS[op]
    return forward, lambda g, x, k, s, saved: backward(g, x, k, s)


def as_nchw(a):
    """PyTorch's pooling wants (N, C, H, W) or (C, H, W): a single (H, W) image becomes (1, 1, H, W)."""
    return torch.from_numpy(a.reshape((1, 1) + a.shape) if a.ndim == 2 else a)


def torch_jobs(op, x, g, k, s, threads):
    """The three passes through autograd; backward alone is timed after an untimed fresh forward."""
    fn = getattr(F, TORCH_OPS[op])
    xt, gt = as_nchw(x).requires_grad_(), as_nchw(g)
    graph = {}

    def use_threads():
        torch.set_num_threads(threads)

    def fresh_forward():
        xt.grad = None
        graph["y"] = fn(xt, k, s)

    def clear_grad():  # so that backward writes a new gradient rather than adding to the last one
        xt.grad = None

    return {
        # x requires grad: the forward of training, which for max pooling also writes the indices
        "forward": Job(lambda: fn(xt, k, s), before=use_threads),
        "backward": Job(lambda: graph["y"].backward(gt), setup=fresh_forward, before=use_threads),
        "forward+backward": Job(lambda: fn(xt, k, s).backward(gt), setup=clear_grad, before=use_threads),
    }


def implementations(loop_budget):
    """Column name -> function(op, x, g, k, s) returning the jobs of the three passes."""
    def loop(op, x, g, k, s):
        planes, run = loop_planes(x.shape, loop_budget)
        if run == planes:
            return numpy_jobs(*loop_ops(op), x, g, k, s)
        part_x = x.reshape((-1,) + x.shape[-2:])[:run]
        part_g = g.reshape((-1,) + g.shape[-2:])[:run]
        return numpy_jobs(*loop_ops(op), part_x, part_g, k, s, scale=planes / run)

    numpy_paths = compiled_setting(False)
    columns = {
        "loop": loop,
        "poolviz": lambda op, x, g, k, s: numpy_jobs(*NUMPY_OPS[op], x, g, k, s, before=numpy_paths),
        "poolviz from x": lambda op, x, g, k, s: numpy_jobs(*FROM_X_OPS[op], x, g, k, s, before=numpy_paths),
    }
    if torch is not None:
        for threads in sorted({1, DEFAULT_THREADS}):
            columns[f"torch {threads}T"] = lambda op, x, g, k, s, threads=threads: torch_jobs(op, x, g, k, s, threads)
    if numba is not None:
        for name, ops, threads in [("compiled 1T", NUMPY_OPS, 1), ("compiled 1T from x", FROM_X_OPS, 1),
                                   (f"compiled {NUMBA_THREADS}T", NUMPY_OPS, NUMBA_THREADS)]:
            columns[name] = lambda op, x, g, k, s, ops=ops, threads=threads: numpy_jobs(
                *ops[op], x, g, k, s, before=compiled_setting(True, threads))
    return columns


# --- bytes that must move ----------------------------------------------------------------------

def floor_bytes(op, pass_, n_in, n_out, column):
    """Bytes a pass must read + write. Forward: x, y (+ the int64 switches for max, except the "from x"
    columns). Backward: grad_output, grad_x, and for max the switches, or x for "from x", which recomputes
    them. Average pooling's backward needs neither."""
    from_x = column.endswith("from x")
    indices = I64 * n_out if (op == "max" and not from_x) else 0
    forward = F32 * (n_in + n_out) + indices
    backward = F32 * (n_out + n_in) + indices + (F32 * n_in if (op == "max" and from_x) else 0)
    return {"forward": forward, "backward": backward, "forward+backward": forward + backward}[pass_]


# --- correctness ------------------------------------------------------------------------------

def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


def check_compiled(op, x, g, k, s):
    """'OK' if the compiled path's forward and gradients equal the numpy paths' bit for bit, else what differs."""
    results = []
    for setting in (False, True):
        compiled_setting(setting)()
        saved = NUMPY_OPS[op][0](x, k, s)
        results.append([FROM_X_OPS[op][0](x, k, s), FROM_X_OPS[op][1](g, x, k, s, None), NUMPY_OPS[op][1](g, x, k, s, saved)]
                       + ([saved[1]] if op == "max" else []))
    names = ["forward", "grad", "grad from saved switches", "switches"]
    return ", ".join(f"{name} {'OK' if same_bits(ours, theirs) else 'MISMATCH'}"
                     for name, theirs, ours in zip(names, *results))


def check_against_torch(op, x, g, k, s):
    """'OK' if poolviz's forward and gradient equal PyTorch's bit for bit, else what differs."""
    compiled_setting(False)()
    forward, backward = FROM_X_OPS[op]
    xt = as_nchw(x).requires_grad_()
    yt = getattr(F, TORCH_OPS[op])(xt, k, s)
    yt.backward(as_nchw(g))
    results = []
    saved = NUMPY_OPS[op][0](x, k, s)
    for name, ours, theirs in (("forward", forward(x, k, s), yt.detach().numpy()),
                               ("grad", backward(g, x, k, s, None), xt.grad.numpy()),
                               ("grad from saved switches", NUMPY_OPS[op][1](g, x, k, s, saved), xt.grad.numpy())):
        theirs = theirs.reshape(ours.shape)
        if same_bits(ours, theirs):
            results.append(f"{name} OK")
        else:
            diff = np.max(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)))
            results.append(f"{name} MISMATCH (max |diff| {diff:.3g})")
    return ", ".join(results)


# --- formatting -------------------------------------------------------------------------------

def fmt_time(seconds):
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= factor:
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(r):
    return f"{r:.0f}×" if r >= 100 else f"{r:.3g}×"


def fmt_fraction(f):
    return f"{100 * f:.2g}%" if f < 0.1 else f"{100 * f:.0f}%"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def load_average():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def machine_info():
    torch_info = (f"torch {torch.__version__} (default threads {DEFAULT_THREADS}; also run with 1)"
                  if torch is not None else "torch not installed: its columns are skipped")
    numba_info = (f"numba {numba.__version__} (default threads {NUMBA_THREADS}; also run with 1)"
                  if numba is not None else "numba not installed: the compiled columns are skipped")
    return [
        f"date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"python {platform.python_version()}, numpy {np.__version__}, poolviz {pv.__version__}, {torch_info}, "
        f"{numba_info}",
        f"cpu: {cpu_model()}, os.cpu_count() = {os.cpu_count()}",
        f"numpy single-threaded (OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
        f"its elementwise ops use one thread)",
    ]


# --- the run ----------------------------------------------------------------------------------

def tie_heavy(x, rng):
    """``x`` after a ReLU, rounded to one decimal, with half its zeros made -0.0: windows full of ties."""
    ties = np.round(np.maximum(x, 0), 1)
    ties[(ties == 0) & (rng.random(x.shape) < 0.5)] = -0.0
    return ties


def build_jobs(columns, rng):
    """Draw each case's inputs once and give every implementation the same arrays.

    Returns ``jobs[(case, op, pass)][column]``, ``sizes[case] = (input elements, output elements)``
    and the bit-for-bit checks against PyTorch.
    """
    jobs, sizes, checks = {}, {}, []
    for case in CASES:
        shape, k, s = case
        x = rng.standard_normal(shape, dtype=np.float32)
        y_shape = pv.max_pool2d(x, k, s).shape  # avg pooling has the same output shape
        g = rng.standard_normal(y_shape, dtype=np.float32)
        sizes[case] = (x.size, math.prod(y_shape))
        ties = tie_heavy(x, rng)
        for op in NUMPY_OPS:
            if torch is not None:
                checks.append((case, op, "random normal x", check_against_torch(op, x, g, k, s)))
                checks.append((case, op, "tie-heavy x", check_against_torch(op, ties, g, k, s)))
            if numba is not None:
                checks.append((case, op, "random normal x, compiled vs numpy", check_compiled(op, x, g, k, s)))
                checks.append((case, op, "tie-heavy x, compiled vs numpy", check_compiled(op, ties, g, k, s)))
            per_column = {name: make(op, x, g, k, s) for name, make in columns.items()}
            for pass_ in PASSES:
                jobs[(case, op, pass_)] = {name: per_column[name][pass_] for name in columns}
    return jobs, sizes, checks


def run_interleaved(jobs, copy_job, repeats):
    """Median seconds per call of every job, and of the copy; each repeat visits every job once."""
    times = {key: {name: [] for name in per_column} for key, per_column in jobs.items()}
    copy_times = []
    for r in range(repeats):
        copy_times.append(measure(copy_job))
        for key, per_column in jobs.items():
            names = list(per_column)
            for name in names[r % len(names):] + names[: r % len(names)]:  # rotate who goes first
                times[key][name].append(measure(per_column[name]))
    medians = {key: {name: statistics.median(ts) for name, ts in per.items()} for key, per in times.items()}
    return medians, statistics.median(copy_times)


def results_table(medians, sizes, bandwidth, loop_budget):
    names = list(next(iter(medians.values())))
    torch_cols = [name for name in names if name.startswith("torch")]
    ratio_cols = [name for name in names if name != "torch 1T"] if "torch 1T" in names else []
    floor_cols = ["poolviz", "poolviz from x"] + torch_cols + [name for name in names if name.startswith("compiled")]
    header = (["shape", "k, s", "op", "pass"] + names + [f"{name} / torch 1T" for name in ratio_cols]
              + [f"{name} % of floor" for name in floor_cols])
    rows = []
    for (case, op, pass_), per in medians.items():
        shape, k, s = case
        planes, run = loop_planes(shape, loop_budget)
        row = [str(shape), f"{k}, {s}", op, pass_]
        row += [fmt_time(per[name]) + ("*" if name == "loop" and run < planes else "") for name in names]
        row += [fmt_ratio(per[name] / per["torch 1T"]) for name in ratio_cols]
        for name in floor_cols:
            floor_seconds = floor_bytes(op, pass_, *sizes[case], name) / bandwidth
            row.append(fmt_fraction(floor_seconds / per[name]))
        rows.append(row)
    return markdown_table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, shorter measurements, fewer loop planes (~30 s)")
    parser.add_argument("--repeats", type=int, help="interleaved repeats per timing (default 9, or 3 with --quick)")
    parser.add_argument("--cold", action="store_true",
                        help="also measure the compiled path's cold costs, in fresh processes (~1 min)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 9)
    min_seconds = 0.005 if args.quick else 0.02  # per measurement: enough calls that tiny shapes are not timer noise
    loop_budget = LOOP_BUDGET_QUICK if args.quick else LOOP_BUDGET
    started, load_at_start = time.perf_counter(), load_average()

    copy_src = np.ones(COPY_MIB * 2**20 // F32, dtype=np.float32)
    copy_dst = np.empty_like(copy_src)
    copy_job = Job(lambda: np.copyto(copy_dst, copy_src))
    jobs, sizes, checks = build_jobs(implementations(loop_budget), np.random.default_rng(0))
    calibrate(copy_job, 0)
    for per_column in jobs.values():
        for job in per_column.values():
            calibrate(job, min_seconds)
    medians, copy_seconds = run_interleaved(jobs, copy_job, repeats)
    bandwidth = 2 * copy_src.nbytes / copy_seconds  # read + write

    print("## poolviz pooling benchmark\n")
    for line in machine_info() + [
        f"load average (1, 5, 15 min) at start {load_at_start}, at end {load_average()} "
        f"(this run adds about 1; more means other processes were using the CPUs)",
        f"{repeats} interleaved repeats, medians; copy bandwidth (np.copyto of {COPY_MIB} MiB float32, "
        f"read + write) {bandwidth / 1e9:.1f} GB/s",
        "% of floor = (bytes the pass must read and write / copy bandwidth) / measured time",
    ]:
        print(f"- {line}")
    for shape, _, _ in CASES:
        planes, run = loop_planes(shape, loop_budget)
        if run < planes:
            print(f"- `loop` on {shape} (marked *): timed on the first {run} of its {planes} (H, W) planes, "
                  f"scaled by {planes}/{run}")
    print()
    print(results_table(medians, sizes, bandwidth, loop_budget))

    print("\nBit-for-bit against PyTorch on the benchmark inputs (float32, random normal grad_output; the "
          "timed random normal x, and a tie-heavy x: ReLU, rounded to 0.1, half the zeros -0.0):\n")
    if torch is None:
        print("- skipped: torch is not installed")
    for (shape, k, s), op, what, result in checks:
        print(f"- {op}_pool2d {shape} k={k} s={s}, {what}: {result}")
    for line in (["", "Cold costs of the compiled path (fresh processes, one float32 (8, 16, 28, 28) input):", ""]
                 + cold_costs() if args.cold and numba is not None else []):
        print(line)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0


# --- cold costs -------------------------------------------------------------------------------

COLD_SCRIPT = """
import os, sys, time
t = time.perf_counter(); import numpy as np, poolviz as pv; t_poolviz = time.perf_counter() - t
t = time.perf_counter(); import numba; t_numba = time.perf_counter() - t
x = np.random.default_rng(0).standard_normal((8, 16, 28, 28), dtype=np.float32)
g = np.ones((8, 16, 14, 14), np.float32)
firsts = []
with pv.paths.use(max_pool="compiled", avg_pool="compiled"):
    for name, call in [("max forward with switches", lambda: pv.max_pool2d(x, 2, return_indices=True)),
                       ("max backward from switches", lambda: pv.max_pool2d_backward(g, x, 2, indices=idx)),
                       ("max backward from x", lambda: pv.max_pool2d_backward(g, x, 2)),
                       ("avg forward", lambda: pv.avg_pool2d(x, 2)),
                       ("avg backward", lambda: pv.avg_pool2d_backward(g, x, 2))]:
        t = time.perf_counter(); result = call(); firsts.append((name, time.perf_counter() - t))
        if name.startswith("max forward"):
            idx = result[1]
        t = time.perf_counter(); call(); firsts.append((name + " (second call)", time.perf_counter() - t))
print(repr(dict(import_poolviz=t_poolviz, import_numba=t_numba, firsts=firsts)))
"""


def cold_costs(runs=3):
    """Markdown lines: ``import numba`` and each op's first call, with an empty numba cache and a filled one.

    Each run is a fresh process with its own empty cache directory (``NUMBA_CACHE_DIR``), run twice: the
    first compiles and writes the cache, the second loads it. Medians of ``runs``.
    """
    import ast
    import subprocess
    import tempfile

    results = {"empty": [], "filled": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=os.pathsep.join(sys.path))
            env.pop("POOLVIZ_COMPILED", None)
            for state in ("empty", "filled"):
                out = subprocess.run([sys.executable, "-c", COLD_SCRIPT], env=env, capture_output=True, text=True,
                                     check=True).stdout
                results[state].append(ast.literal_eval(out.strip().splitlines()[-1]))
    lines = ["| | empty disk cache (compiles) | filled disk cache |", "| --- | --- | --- |"]
    for key, label in [("import_poolviz", "`import poolviz` (numpy only)"), ("import_numba", "`import numba`")]:
        lines.append(f"| {label} | " + " | ".join(
            fmt_time(statistics.median(r[key] for r in results[state])) for state in ("empty", "filled")) + " |")
    names = [name for name, _ in results["empty"][0]["firsts"]]
    for i, name in enumerate(names):
        lines.append(f"| {name} | " + " | ".join(
            fmt_time(statistics.median(r["firsts"][i][1] for r in results[state])) for state in ("empty", "filled"))
            + " |")
    lines.append(f"\n(medians of {runs} fresh processes each; the first call of the first op also pays numba's "
                 "one-time start-up, about half a second, whichever op it is)")
    return lines


if __name__ == "__main__":
    sys.exit(main())
