"""A learner opens lesson 04 in JupyterLab, runs all its cells and uses its explorer, in headless Chromium.

JupyterLab serves a temporary folder holding a copy of ``notebooks/04-backprop-through-max-pooling.ipynb``
(its autosave must not touch the course), with its own settings: no news or update checks (requests to the
internet, and a toast over the page), every cell attached to the page. The learner runs all cells from the
Run menu, waits for the explorer, changes the operation and a slider, and runs an exercise checker after typing
an answer. The explorer there is ``explore(x, op="max", kernel_size=2)`` on the lesson's 4x4 ``x``, which the
page prints: the test reads ``x`` from the page, builds the same explorer, drives it the same way, and the page
must show the same PNG bytes and the same line under the picture.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import time

import numpy as np

from . import harness
from .explorer_page import ExplorerPage, kernel_env, save_timings

NOTEBOOK = harness.ROOT / "notebooks" / "04-backprop-through-max-pooling.ipynb"

#: JupyterLab settings for a closed network and a test: no news feed or update check, all cells in the page.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

#: A learner's answer to exercise 1 (max pooling forward, stride = kernel), typed into the exercise cell.
ANSWER = """def max_pool_forward(x, kernel_size):
    # Exercise 1: the windows as axes 1 and 3, then their maximum
    k = kernel_size
    H, W = x.shape[0] // k, x.shape[1] // k
    return x[:H * k, :W * k].reshape(H, k, W, k).max(axis=(1, 3))

check_max_pool_forward(max_pool_forward)"""


def printed_x(text: str) -> np.ndarray:
    """The array printed after ``x =`` (up to ``y =``) in a cell's output, as numpy prints it."""
    match = re.search(r"x =\s*(\[\[.*?\]\])\s*y =", text, re.DOTALL)
    assert match, f"the lesson no longer prints x as this test expects; its output:\n{text[:500]}"
    rows = re.findall(r"\[([^\[\]]+)\]", match.group(1))
    return np.array([[float(v) for v in row.split()] for row in rows])


def run_all(page, tries: int = 3):
    """Run -> Run All Cells, once the kernel is idle; again if no cell was queued (seen on a loaded machine:
    a click just after the page loaded did nothing, every prompt stayed ``[ ]:``)."""
    # the status bar names the kernel and its state once the notebook's session is connected
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\|\s*Idle")).first.wait_for(timeout=30_000)
    queued = page.locator(".jp-CodeCell .jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    for _ in range(tries):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            queued.first.wait_for(timeout=10_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: try the menu again
            print("Run All Cells queued nothing; trying again")
            page.keyboard.press("Escape")
    raise AssertionError(f"Run -> Run All Cells queued no cell in {tries} tries")


def test_learner_runs_lesson_04_in_jupyterlab(context, logs, tmp_path):
    from poolviz.widgets import explore

    root, settings = tmp_path / "course", tmp_path / "settings"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port = harness.free_port()
    args = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
    with harness.server(args, port, logs / "lab.log", cwd=root, env=kernel_env()):
        requests = harness.RequestLog(f"http://127.0.0.1:{port}/")
        context.route("**/*", requests.route)  # every request recorded; those leaving the machine are aborted
        page = context.new_page()
        opened = time.monotonic()
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK.name}", timeout=30_000)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=30_000)
        started = time.monotonic()
        run_all(page)
        view = ExplorerPage(page)
        try:
            view.wait_ready()  # only the new kernel's explorer has the class: a stored output cannot pass this
        except Exception as exc:
            harness.screenshot(page, "lab-failed-run-all")
            prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
            raise AssertionError(f"no explorer after Run All: {exc}\ncell prompts: {prompts}\nJupyterLab's log:\n"
                                 f"{(logs / 'lab.log').read_text(errors='replace')[-3000:]}") from None
        print(f"\nJupyterLab: page load to Run All {started - opened:.1f} s, Run All to the explorer's picture "
              f"{time.monotonic() - started:.1f} s")
        harness.screenshot(page, "lab-01-explorer")

        x_out = page.locator(".jp-OutputArea-output").filter(has_text=re.compile(r"^x =")).first
        x = printed_x(x_out.inner_text())
        assert x.shape == (4, 4)
        ex = explore(x, op="max", kernel_size=2)  # the lesson's cell, here
        try:
            timings = []
            view.assert_shows(ex, "the first picture")
            # hand-derived: 2x2 windows, stride 2, 4x4 input with no tied maximum: one input per window
            assert "reaches 4 of 16 inputs (25%)" in view.info_text()

            view.arm()
            view.choose("op", "average")
            timings.append(view.wait_picture())
            ex.op.value = "avg"
            view.assert_shows(ex, "after choosing average")
            assert "reaches 16 of 16 inputs (100%)" in view.info_text()

            for key in ("ArrowRight", "ArrowLeft") * 3:  # the kernel, 2 -> 3 -> 2 ..., by keyboard
                view.arm()
                view.press("kernel", key)
                timings.append(view.wait_picture())
                ex.kernel_size.value += 1 if key == "ArrowRight" else -1
                view.assert_shows(ex, f"after kernel {key}")
            view.arm()
            view.press("col")  # output indices (0, 1)
            timings.append(view.wait_picture())
            ex.col.value = 1
            view.assert_shows(ex, "after selecting output (0, 1)")
            harness.screenshot(page, "lab-02-average-col-1")
            save_timings("lab", timings)
        finally:
            ex.close()

        # an exercise: the checker says "not attempted" after Run All; after an answer is typed and run, it passes
        stub = page.locator(".jp-InputArea", has_text="def max_pool_forward(")
        cell = page.locator(".jp-CodeCell").filter(has=stub).first
        cell.locator(".jp-OutputArea-output", has_text="not attempted yet").first.wait_for(timeout=30_000)
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(ANSWER)
        page.keyboard.press("Shift+Enter")
        result = cell.locator(".jp-OutputArea-output").filter(has_text="check_max_pool_forward")
        result.filter(has_not_text="not attempted").first.wait_for(timeout=30_000)
        text = result.first.inner_text()
        harness.screenshot(page, "lab-03-exercise-1")
        assert "Traceback" not in text and "not attempted" not in text
        assert "PASSED" in text, f"the checker did not pass the answer:\n{text}"
        assert requests.outside == [], f"JupyterLab asked outside the machine for {requests.outside}"
        page.close()
