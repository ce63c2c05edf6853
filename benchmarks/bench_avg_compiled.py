"""Average pooling's compiled kernels against the numpy path and the copy floor, interleaved (issue 13).

A performance benchmark, not a test, for when the machine is too busy for ``bench_ops.py --cold`` (a few
seconds of work instead of minutes). Run from the repository root::

    python benchmarks/bench_avg_compiled.py            # float32, forward and backward
    python benchmarks/bench_avg_compiled.py --dtype float64 --pass backward

For each large case it times, on one numba thread: the compiled kernel called directly on preallocated
planes ("kernel"), the public op on the compiled path ("compiled", ``POOLVIZ_COMPILED=1``, which also
allocates its result) and on numpy's (``POOLVIZ_COMPILED=0``), and a copy of 64 MiB (``np.copyto``, read +
write) for the bandwidth. Each repeat runs them all in turn; the report gives the median over repeats of
each one's fastest of a few calls, and the fraction of the floor: (bytes the pass must read and write, x and
y for the forward, grad_output and grad_x for the backward) / bandwidth / time. It checks that the compiled
and numpy results are the same bits, and prints the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

import poolviz as pv
from poolviz.avg_pool import _avg_geometry, avg_divisor

#: (shape, kernel, stride, padding)
CASES = [((32, 64, 56, 56), 2, 2, 0), ((32, 64, 55, 55), 3, 2, 0), ((32, 64, 56, 56), 3, 2, 1),
         ((32, 64, 56, 56), 3, 1, 0), ((32, 64, 56, 56), 3, 1, 1)]


def best_of(fn, calls=7):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def on_path(compiled, fn):
    def run():
        os.environ["POOLVIZ_COMPILED"] = "1" if compiled else "0"
        return fn()
    return run


def case(shape, k, s, p, backward, dtype):
    """The input, grad_output, the public op and the kernel on preallocated planes, for one case."""
    from poolviz._fast import _kernels  # numba

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    geom = _avg_geometry(x, k, s, p, False, 2)
    g = rng.standard_normal(shape[:2] + geom.out_shape).astype(dtype)
    div = np.ascontiguousarray(avg_divisor(geom, True, None, dtype))
    kernel, n = _kernels.avg_special(k, s, backward), shape[0] * shape[1]
    if backward:
        src, out = g.reshape((n,) + geom.out_shape), np.empty((n,) + shape[2:], dtype)
        def op():
            return pv.avg_pool2d_backward(g, x, k, s, p)
    else:
        src, out = x.reshape((n,) + shape[2:]), np.empty((n,) + geom.out_shape, dtype)
        def op():
            return pv.avg_pool2d(x, k, s, p)
    return x, g, op, lambda: kernel(src, p, p, dtype.type(0), div, True, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--pass", dest="passes", action="append", choices=["forward", "backward"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    dtype = np.dtype(args.dtype)
    copy_src = np.ones(64 * 2**20 // 4, np.float32)
    copy_dst = np.empty_like(copy_src)
    import numba

    print(f"load average at start {os.getloadavg()}; {numba.get_num_threads()} numba thread(s); {dtype}")
    for backward in [p == "backward" for p in (args.passes or ["forward", "backward"])]:
        for shape, k, s, p in CASES:
            x, g, op, kernel_job = case(shape, k, s, p, backward, dtype)
            jobs = {"kernel": kernel_job, "compiled": on_path(True, op), "numpy": on_path(False, op),
                    "copy": lambda: np.copyto(copy_dst, copy_src)}
            same = on_path(True, op)().tobytes() == on_path(False, op)().tobytes()
            times = {name: [] for name in jobs}
            for _ in range(args.repeats):
                for name, job in jobs.items():
                    times[name].append(best_of(job))
            med = {name: float(np.median(t)) for name, t in times.items()}
            bandwidth = 2 * copy_src.nbytes / med.pop("copy")
            floor = dtype.itemsize * (x.size + g.size) / bandwidth
            print(f"{'backward' if backward else 'forward '} {shape} k{k} s{s} p{p}: same bits {same}; "
                  f"{bandwidth / 1e9:.1f} GB/s, floor {floor * 1e3:.2f} ms | "
                  + ", ".join(f"{name} {t * 1e3:.2f} ms ({floor / t:.0%})" for name, t in med.items()))
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
