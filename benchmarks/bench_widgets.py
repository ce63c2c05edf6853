"""How fast does the explorer answer, and how large is a kernel-free explorer?

Latency: the wall time from setting a control's ``.value`` to the new PNG being in the ``Image`` widget
(observers run synchronously, so that is the whole update: compute, draw, encode), for an 8x8 input (every
value printed in its cell) and a 32x32 input (cells too small for numbers). Target: median < 50 ms for 8x8.

Size: the pre-rendered frames of :func:`poolviz.widgets.static_explorer`, the same embedded in a standalone
HTML page, and (with ``--notebook``) a notebook executed with its widget state stored, as nbconvert does.

Run:  python3 benchmarks/bench_widgets.py [--repeat 15] [--notebook]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from poolviz.data import example_input
from poolviz.widgets import explore, static_explorer


def _latencies(ex, control, values, repeat):
    times = []
    for r in range(repeat):
        for v in values:
            before = ex.image.value
            t0 = time.perf_counter()
            control.value = v
            times.append(time.perf_counter() - t0)
            assert ex.message == "" and ex.image.value is not before, ex.message
    return times


def bench_latency(n: int, repeat: int):
    x = example_input("random", (n, n))
    ex = explore(x, op="max", kernel_size=2, stride=1)
    ex.op.value = "max"
    cases = [
        ("op (max/avg/LSE)", ex.op, ["avg", "lse", "max"]),
        ("kernel_size 2<->3", ex.kernel_size, [3, 2]),
        ("selected output cell", ex.row, [1, 2, 0]),
        ("player step", ex.step, [1, 5, 20, ex.step.max]),
        ("tie rule (first/split/all)", ex.tie_policy, ["split", "all", "first"]),
    ]
    rows = []
    for name, control, values in cases:
        ex.step.value = ex.step.max
        t = _latencies(ex, control, values, repeat)
        rows.append((name, statistics.median(t) * 1e3, np.percentile(t, 90) * 1e3, len(t)))
    ex.tie_policy.value = "split"  # the player under another tie rule: routes from routing, not the op
    t = _latencies(ex, ex.step, [1, 5, 20, ex.step.max], repeat)
    rows.append(("player step, ties split", statistics.median(t) * 1e3, np.percentile(t, 90) * 1e3, len(t)))
    ex.tie_policy.value = "first"
    ex.op.value = "lse"
    t = _latencies(ex, ex.beta, [0.5, 2.0, 8.0], repeat)
    rows.append(("beta (LSE)", statistics.median(t) * 1e3, np.percentile(t, 90) * 1e3, len(t)))
    ex.close()
    return rows


def bench_static(notebook: bool):
    from ipywidgets.embed import dependency_state, embed_minimal_html

    configs = {
        "backward player, max 2x2/1 on 4x4 ties (10 frames)":
            dict(vary="step", op="max", kernel_size=2, stride=1, input_kind="ties", size=4),
        "beta slider, LSE 2x2 on 6x6 post-ReLU (7 frames)":
            dict(vary="beta", op="lse", kernel_size=2, input_kind="relu", size=6),
    }
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in configs.items():
            box = static_explorer(**kw)
            page = Path(tmp) / "page.html"
            embed_minimal_html(page, views=[box], state=dependency_state(box), title=name)
            out.append((name, len(box.frames), box.nbytes, page.stat().st_size))
        if notebook:
            out.append(("notebook", *_notebook_size(configs, Path(tmp))))
    return out


def _notebook_size(configs, tmp: Path):
    """Execute a notebook with one static explorer per config, store the widget state, measure it."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    cells = [nbformat.v4.new_code_cell("from poolviz.widgets import static_explorer")]
    cells += [nbformat.v4.new_code_cell(f"static_explorer(**{kw!r})") for kw in configs.values()]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    path = tmp / "static.ipynb"
    nbformat.write(nb, path)
    html, _ = HTMLExporter().from_notebook_node(nb)
    return len(configs), path.stat().st_size, len(html.encode())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--notebook", action="store_true", help="also execute a notebook and measure it")
    args = parser.parse_args()
    explore().close()  # warm up: imports, font cache, first figure
    for n in (8, 32):
        print(f"\nlatency, {n}x{n} input, kernel 2 stride 1 (control change -> new PNG in the Image widget)")
        print(f"  {'control':28s} {'median ms':>10s} {'p90 ms':>8s} {'n':>4s}")
        for name, med, p90, count in bench_latency(n, args.repeat):
            print(f"  {name:28s} {med:10.1f} {p90:8.1f} {count:4d}")
    print("\nkernel-free explorer size")
    for name, *vals in bench_static(args.notebook):
        if name == "notebook":
            k, nb_bytes, html_bytes = vals
            print(f"  executed notebook with {k} static explorers: .ipynb {nb_bytes / 1024:.0f} KB, "
                  f"nbconvert HTML {html_bytes / 1024:.0f} KB")
        else:
            frames, nbytes, page = vals
            print(f"  {name}: {frames} PNG frames {nbytes / 1024:.0f} KB; standalone HTML {page / 1024:.0f} KB")


if __name__ == "__main__":
    main()
