"""A learner uses notebook 01's live explorer in Voila, in headless Chromium.

Voila runs a copy of ``notebooks/01-start-here.ipynb`` (its explorer is ``explore(op="max", kernel_size=2)``:
the default 6x6 random preset, seeded) with this checkout's ``poolviz`` on the kernel's path. The learner
changes the operation, moves a slider, selects an output cell and enters a bad padding. After each change the
page must show what the same explorer, built here and driven the same way, shows: the same PNG bytes and the
same line under the picture; a bad padding shows the explorer's message and no traceback. A few counts are
also checked against hand-derived values (not against poolviz).

The time from each control change to the new picture, decoded in the page, is saved in
``test-artifacts/timings/voila.json`` and printed (``pytest -s``).
"""
from __future__ import annotations

import shutil
import sys

import numpy as np

from . import harness
from .explorer_page import ExplorerPage, kernel_env, save_timings

NOTEBOOK = harness.ROOT / "notebooks" / "01-start-here.ipynb"


def test_learner_drives_the_explorer_in_voila(context, logs, tmp_path):
    from poolviz.widgets import explore

    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    port = harness.free_port()
    # the course's Voila template (share/jupyter/voila/templates/poolviz): Voila's lab page minus its CDN links
    args = [sys.executable, "-m", "voila", NOTEBOOK.name, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
            "--Voila.open_browser=False", "--template=poolviz"]
    env = {**kernel_env(), "JUPYTER_PATH": str(harness.ROOT / "share" / "jupyter")}
    with harness.server(args, port, logs / "voila.log", cwd=tmp_path, env=env):
        requests = harness.RequestLog(f"http://127.0.0.1:{port}/")
        context.route("**/*", requests.route)  # every request recorded; those leaving the machine are aborted
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/", timeout=30_000)
        view = ExplorerPage(page)
        view.wait_ready()
        ex = explore(op="max", kernel_size=2)  # the notebook's cell, here
        try:
            timings = []
            view.assert_shows(ex, "the first picture")
            n_in = ex.x.size
            assert n_in == 36 and f"reaches {n_in // 4} of {n_in} inputs (25%)" in view.info_text(), \
                "max pooling with 2x2 windows, stride 2, on a 6x6 input: one winner per window, 9 of 36 reached"
            harness.screenshot(page, "voila-01-max")

            # 1. the operation: max -> average
            view.arm()
            view.choose("op", "average")
            timings.append(view.wait_picture())
            ex.op.value = "avg"
            view.assert_shows(ex, "after choosing average")
            assert f"reaches {n_in} of {n_in} inputs (100%)" in view.info_text(), \
                "average pooling without padding: every input is in a window, so every input is reached"
            harness.screenshot(page, "voila-02-average")

            # 2. a slider: the kernel size, moved with the keyboard, up and down ten times
            for i in range(10):
                key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
                view.arm()
                view.press("kernel", key)
                timings.append(view.wait_picture())
                ex.kernel_size.value += 1 if key == "ArrowRight" else -1
                assert view.readout("kernel") == str(ex.kernel_size.value)
                view.assert_shows(ex, f"after kernel {key} (kernel {ex.kernel_size.value})")
            assert ex.kernel_size.value == 2
            harness.screenshot(page, "voila-03-after-kernel-moves")

            # 3. an output cell: output indices (1, 2), with the row and col sliders
            for label, key in (("output row", "ArrowRight"), ("col", "ArrowRight"), ("col", "ArrowRight")):
                view.arm()
                view.press(label, key)
                timings.append(view.wait_picture())
                control = ex.row if label == "output row" else ex.col
                control.value += 1
                view.assert_shows(ex, f"after {label} {key}")
            assert (view.readout("output row"), view.readout("col")) == ("1", "2")
            harness.screenshot(page, "voila-04-output-1-2")

            # 4. a bad padding: kernel 2 allows at most 1 (half the kernel); 2 is refused, in the widget
            view.arm()
            view.press("padding")
            timings.append(view.wait_picture())
            ex.padding.value = 1
            view.assert_shows(ex, "padding 1")
            before = view.png()
            view.press("padding")
            ex.padding.value = 2
            assert ex.message, "poolviz itself must refuse padding 2 with kernel 2"
            view.wait_text("error", f"Not drawn: {ex.message} (showing the last valid picture)")
            assert view.readout("padding") == "2"
            assert view.png() == before == ex.png, "a refused setting keeps the last valid picture"
            body = page.inner_text("body")
            assert "Traceback" not in body and "ValueError" not in body, "a bad setting must not show a traceback"
            assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            harness.screenshot(page, "voila-05-bad-padding")

            summary = save_timings("voila", timings)
            assert summary["changes"] == 15
            assert requests.outside == [], f"the Voila page asked outside the machine for {requests.outside}"
        finally:
            ex.close()
            page.close()


def test_hand_derived_counts_hold_for_the_preset():
    """The counts the browser test asserts hold for the 6x6 preset, derived by hand: a 2x2 max without ties
    reaches one input per window (9 of 36), checked here on the input itself with numpy alone."""
    from poolviz.widgets import explore

    ex = explore(op="max", kernel_size=2)
    try:
        windows = ex.x.reshape(3, 2, 3, 2).transpose(0, 2, 1, 3).reshape(9, 4)
        assert (np.sort(windows, axis=1)[:, -1] > np.sort(windows, axis=1)[:, -2]).all(), "no tied maximum"
        assert np.count_nonzero(ex.dx) == 9
    finally:
        ex.close()
