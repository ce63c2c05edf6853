"""A live explorer in a page (Voila or JupyterLab), driven as a learner drives it, and read as a learner reads it.

The explorer is found by its CSS class ``poolviz-explorer``; a control by the label the learner sees next to it
("op", "kernel", "padding", "output row", ...). A test changes a control, waits for the new picture (or the
message), then reads back what the page shows: the picture's PNG bytes (fetched from the ``<img>``'s own blob
URL in the page), the line under the picture, the message, the readouts. :func:`expected_view` gives the same
things from an explorer built in the test process, for the comparison.
"""
from __future__ import annotations

import base64
import html.parser
import io
import json
import os
import re
import statistics
import time

import numpy as np

from . import harness

EXPLORER = ".poolviz-explorer"


def kernel_env() -> dict:
    """The kernel imports this checkout's poolviz, whatever is installed."""
    path = os.pathsep.join(p for p in (str(harness.ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


def save_timings(name: str, ms: list[float]) -> dict:
    """Save (and print) the ms from each control change to its new picture: ``ARTIFACTS/timings/<name>.json``."""
    summary = {"changes": len(ms), "median_ms": round(statistics.median(ms), 1), "max_ms": round(max(ms), 1),
               "min_ms": round(min(ms), 1), "all_ms": [round(t, 1) for t in ms]}
    path = harness.ARTIFACTS / "timings" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1))
    print(f"\n{name}: control change -> new picture decoded: {summary}")
    return summary


#: Installs, in the page, a watch on the explorer's picture: the time of the learner's next input event (a key,
#: a menu choice), and a promise resolved when the <img> has a new src that has been decoded (drawable).
_ARM = """(img) => {
  window.__pv = {t0: null, t1: null, src: img.src};
  const start = () => { if (window.__pv.t0 === null) window.__pv.t0 = performance.now(); };
  for (const type of ['keydown', 'input', 'change', 'mousedown']) {
    document.addEventListener(type, start, {capture: true, once: true});
  }
  window.__pv.done = new Promise((resolve) => {
    const watch = new MutationObserver(() => {
      if (img.src === window.__pv.src) return;
      watch.disconnect();
      img.decode().catch(() => null).then(() => { window.__pv.t1 = performance.now(); resolve(true); });
    });
    watch.observe(img, {attributes: true, attributeFilter: ['src']});
  });
}"""

_WAIT = """async (ms) => {
  const late = new Promise((resolve) => setTimeout(() => resolve(false), ms));
  const ok = await Promise.race([window.__pv.done, late]);
  return ok ? window.__pv.t1 - window.__pv.t0 : null;
}"""

#: The bytes behind the <img> as the page has them (its blob: URL), base64-encoded.
_BYTES = """async (img) => {
  const data = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = '';
  for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
  return btoa(s);
}"""


def text_of(html_text: str) -> str:
    """The text an HTML fragment shows, white space squashed (block elements and ``<br>`` break words, as in
    the page's ``inner_text``)."""
    parts: list[str] = []
    parser = html.parser.HTMLParser(convert_charrefs=True)
    parser.handle_data = parts.append
    parser.handle_starttag = lambda tag, attrs: parts.append(" " if tag in ("div", "br", "p", "pre") else "")
    parser.handle_endtag = lambda tag: parts.append(" " if tag in ("div", "p", "pre") else "")
    parser.feed(html_text)
    parser.close()
    return squash("".join(parts))


def squash(text: str) -> str:
    """Runs of white space (line breaks included) as one space, none at the ends."""
    return " ".join(text.split())


def expected_view(ex) -> dict:
    """What a test-side :class:`~poolviz.widgets.PoolExplorer` shows: its picture, its line, its message."""
    return {"png": ex.png, "info": text_of(ex.info.value), "message": ex.message,
            "error": text_of(ex.error.value)}


class ExplorerPage:
    """The (first) explorer on ``page``; waits are bounded by ``timeout_ms``."""

    def __init__(self, page, timeout_ms: int = 30_000):
        self.page = page
        self.timeout_ms = timeout_ms
        self.root = page.locator(EXPLORER).first
        self.image = self.root.locator("img.widget-image")
        # the explorer's two HTML widgets after the picture: the line under it, then the message
        self.info = self.root.locator(":scope > .widget-html").nth(0)
        self.error = self.root.locator(":scope > .widget-html").nth(1)

    def wait_ready(self):
        """Wait until the explorer shows a picture (the kernel has run its cell and the widget has rendered)."""
        self.image.wait_for(state="visible", timeout=self.timeout_ms)
        self.page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=self.image.element_handle(),
                                    timeout=self.timeout_ms)
        self.root.scroll_into_view_if_needed()

    def control(self, label: str):
        """The control labelled ``label`` (exactly) in the explorer."""
        exact = self.page.locator("label.widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
        return self.root.locator(".widget-inline-hbox").filter(has=exact).first

    def readout(self, label: str) -> str:
        """The number a slider shows beside it."""
        return self.control(label).locator(".widget-readout").inner_text().strip()

    # --- acting -------------------------------------------------------------------------------------------
    def arm(self):
        """Start watching for the next picture: call before the change."""
        self.page.evaluate(_ARM, self.image.element_handle())

    def wait_picture(self) -> float:
        """Wait for the picture armed for, decoded; return the ms from the learner's input to it."""
        ms = self.page.evaluate(_WAIT, self.timeout_ms)
        if ms is None:
            raise AssertionError(f"no new picture within {self.timeout_ms} ms of the change; the explorer says: "
                                 f"{self.info.inner_text()!r} / {self.error.inner_text()!r}")
        return ms

    def choose(self, label: str, option: str):
        """Pick ``option`` (its visible text) in the drop-down menu ``label``."""
        self.control(label).locator("select").select_option(label=option)

    def press(self, label: str, key: str = "ArrowRight"):
        """Move the slider ``label`` one step with the keyboard (its handle focused, as a learner tabs to it)."""
        handle = self.control(label).locator(".noUi-handle")
        handle.focus()
        handle.press(key)

    # --- reading ------------------------------------------------------------------------------------------
    def png(self) -> bytes:
        """The bytes of the picture the page shows now."""
        return base64.b64decode(self.page.evaluate(_BYTES, self.image.element_handle()))

    def info_text(self) -> str:
        return squash(self.info.inner_text())

    def error_text(self) -> str:
        return squash(self.error.inner_text())

    def wait_text(self, which: str, expected: str):
        """Wait until the line under the picture (``"info"``) or the message (``"error"``) reads ``expected``."""
        get = self.info_text if which == "info" else self.error_text
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            shown = get()
            if shown == expected:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the explorer's {which} line shows\n  {shown!r}\nnot poolviz's\n  {expected!r}")
            self.page.wait_for_timeout(50)

    def assert_shows(self, ex, what: str):
        """The page shows what the test-side explorer ``ex`` shows: the same line, message and PNG bytes."""
        want = expected_view(ex)
        self.wait_text("info", want["info"])
        self.wait_text("error", want["error"])
        got = self.png()
        if got != want["png"]:
            raise AssertionError(f"{what}: the page's picture ({len(got)} bytes) is not poolviz's "
                                 f"({len(want['png'])} bytes); pixels differ in {pixel_diff(got, want['png'])}")


def pixel_diff(a: bytes, b: bytes) -> str:
    """Where two PNGs differ, decoded (for the failure message): their shapes, or the count of differing pixels."""
    from matplotlib.image import imread

    pa, pb = imread(io.BytesIO(a), format="png"), imread(io.BytesIO(b), format="png")
    if pa.shape != pb.shape:
        return f"shape: {pa.shape} against {pb.shape}"
    return f"{int(np.any(pa != pb, axis=-1).sum())} of {pa.shape[0] * pa.shape[1]} pixels"
