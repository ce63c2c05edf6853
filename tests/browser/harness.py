"""What the browser tests share: finding Chromium, starting and stopping servers, recording requests.

The browser is Debian's ``chromium`` driven by Playwright's Python package through ``executable_path``:
nothing downloads a browser. Servers listen on 127.0.0.1 only, on a free port, and are killed with their
whole process group when the test ends, passed or failed.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Screenshots of key states land here (not committed; CI can keep them as artifacts).
ARTIFACTS = Path(os.environ.get("POOLVIZ_ARTIFACTS", ROOT / "test-artifacts"))

HOW_TO_ENABLE = ("the browser tests need Debian's chromium and Playwright's Python package: "
                 "`sudo apt-get install chromium` and `python -m pip install -r requirements.txt` "
                 "(set POOLVIZ_CHROMIUM to another Chromium binary if yours is elsewhere); "
                 "`bash .ci/run` installs both")

#: Chromium's flags for a closed network and a root user: no sandbox (root), no background connections
#: (they would be refused, many at a time, and are requests the site did not make).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """The Chromium binary to drive: ``$POOLVIZ_CHROMIUM``, else ``chromium`` on PATH; None if there is none."""
    given = os.environ.get("POOLVIZ_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright is not installed; {HOW_TO_ENABLE}"
    if chromium_path() is None:
        return f"no chromium found; {HOW_TO_ENABLE}"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    """Return once something accepts connections on ``port``; raise if ``proc`` dies or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening; its log:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s; the server's log:\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


@contextlib.contextmanager
def server(args: list[str], port: int, log: Path, *, cwd: Path, timeout: float = 60.0, env: dict | None = None):
    """Run ``args`` (a server that will listen on ``port``) until the block ends; kill its process group then.

    Its output goes to ``log``. The block starts once the port accepts connections.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
        try:
            wait_for_port(port, proc, timeout, log)
            yield proc
        finally:
            _stop(proc)


def _descendants(pid: int) -> list[int]:
    """The pids of every process below ``pid`` (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server's process group, then whatever it started in sessions of their own (Jupyter's kernels)."""
    below = _descendants(proc.pid)  # before the server exits: its kernels would be re-parented and lost
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for pid in below:  # a kernel the server shut down is gone already
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def static_server(root: Path, port: int, log: Path):
    """A plain static web server (Python's ``http.server``) for the folder ``root``, on 127.0.0.1."""
    return server([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
                  port, log, cwd=root, timeout=20)


class RequestLog:
    """Every request a page makes, split into those inside the allowed prefixes and those outside (aborted).

    ``context.route("**/*", log.route)`` sends every request of a browser context through it.
    """

    def __init__(self, *allowed_prefixes: str):
        self.allowed = tuple(allowed_prefixes)
        self.inside: list[str] = []
        self.outside: list[str] = []

    def route(self, route, request):
        url = request.url
        if url.startswith(self.allowed) or url.startswith(("data:", "blob:")):
            self.inside.append(url)
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of ``page`` as ``ARTIFACTS/screenshots/<name>.png``."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
