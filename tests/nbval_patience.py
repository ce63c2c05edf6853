"""A pytest plugin that makes nbval patient with a slow kernel, so a busy machine does not fail a notebook.

nbval 0.11.0 runs each notebook in one kernel (started in ``IPyNbFile.setup``, stopped in its teardown),
but two of its waits are short and hard-coded:

- ``RunningKernel._ensure_iopub_up`` gives the kernel 10 s to answer a ``kernel_info`` request after it
  started. Past that, it raises ``RuntimeError``, every cell of the notebook errors, and the half-started
  kernel is left running until pytest exits.
- ``IPyNbCell.output_timeout`` (5 s, set in ``__init__``): how long a cell waits for the kernel's output
  and idle status once the kernel has replied to the cell.

Here, a kernel gets ``KERNEL_START_TIMEOUT`` seconds to start and answer (a floor for
``--nbval-kernel-startup-timeout``: a larger value given there wins), a failed start is shut down and tried
once more, and a cell waits ``OUTPUT_TIMEOUT`` seconds for its output. The root ``conftest.py`` registers
this plugin; ``-p no:nbval_patience`` turns it off.
"""
import time
import warnings
from queue import Empty

import nbval
import pytest
from nbval.kernel import RunningKernel
from nbval.plugin import IPyNbCell

#: Seconds a notebook's kernel gets to start and to answer its first requests (nbval: 60 s, then 10 s).
KERNEL_START_TIMEOUT = 120
#: Kernel starts per notebook: a second, clean start if the first fails.
KERNEL_START_ATTEMPTS = 2
#: Seconds a cell waits for its output once the kernel has replied to it (nbval: 5 s).
OUTPUT_TIMEOUT = 60

#: nbval's own ``RunningKernel.__init__``, kept when the plugin is installed.
_nbval_init = None


def check_nbval(kernel_cls, cell_cls):
    """Raise ``pytest.UsageError`` unless nbval's internals are the ones this plugin patches.

    A future nbval may rename them; patching names that nbval no longer uses would remove the protection
    in silence.
    """
    problems = [f"RunningKernel.{name} is missing" for name in ("_ensure_iopub_up", "await_reply", "await_idle", "stop")
                if not callable(getattr(kernel_cls, name, None))]
    init = kernel_cls.__init__.__code__
    if init.co_varnames[:init.co_argcount] != ("self", "kernel_name", "cwd", "startup_timeout"):
        problems.append("RunningKernel.__init__ no longer takes (kernel_name, cwd, startup_timeout)")
    if "_ensure_iopub_up" not in init.co_names:
        problems.append("RunningKernel.__init__ no longer calls _ensure_iopub_up")
    if "output_timeout" not in cell_cls.runtest.__code__.co_names:
        problems.append("IPyNbCell.runtest no longer reads self.output_timeout")
    if problems:
        raise pytest.UsageError(
            f"tests/nbval_patience.py patches the internals of nbval 0.11.0, and nbval {nbval.__version__} has "
            "changed them: " + "; ".join(problems) + ". Update the plugin before trusting a notebook run.")


def pytest_configure(config):
    """Patch nbval's kernel start, once per process (pytest runs nested in this one configure again)."""
    global _nbval_init
    if _nbval_init is None:
        check_nbval(RunningKernel, IPyNbCell)
        _nbval_init = RunningKernel.__init__
        RunningKernel.__init__ = _start_kernel
        RunningKernel._ensure_iopub_up = _ensure_iopub_up


def pytest_itemcollected(item):
    """Give each notebook cell ``OUTPUT_TIMEOUT`` seconds, not 5, to send its output after its reply."""
    if isinstance(item, IPyNbCell):
        item.output_timeout = OUTPUT_TIMEOUT


def _start_kernel(self, kernel_name, cwd=None, startup_timeout=60):
    """``RunningKernel.__init__``: nbval's, with a longer timeout, and a clean second try if it fails."""
    self.start_timeout = max(startup_timeout, KERNEL_START_TIMEOUT)
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            _nbval_init(self, kernel_name, cwd=cwd, startup_timeout=self.start_timeout)
            return
        except Exception as error:
            # nbval does not stop a kernel that started but failed _ensure_iopub_up: stop it here.
            _stop(self)
            message = (f"the kernel {kernel_name!r} for {cwd} failed to start (attempt {attempt} of "
                       f"{KERNEL_START_ATTEMPTS}, {self.start_timeout:g} s each): {error!r}")
            if attempt == KERNEL_START_ATTEMPTS:
                raise RuntimeError(f"nbval_patience: {message}") from error
            warnings.warn(f"{message}; starting a new kernel", RuntimeWarning)


def _stop(kernel):
    """Stop what a failed start left running; if that fails too, warn: the start's error is the one to raise."""
    if hasattr(kernel, "km"):
        try:
            kernel.stop()
        except Exception as error:  # noqa: BLE001 (whatever it is, the start's error comes next)
            warnings.warn(f"could not stop a kernel that failed to start: {error!r}", RuntimeWarning)


def _ensure_iopub_up(self):
    """``RunningKernel._ensure_iopub_up`` with ``self.start_timeout`` seconds in place of nbval's 10.

    The kernel must reply to ``kernel_info``, and its idle status must arrive on IOPub: that proves the
    IOPub subscription is live (a subscriber connects late and misses what was sent before). An idle lost
    that way is asked for again, until the deadline.
    """
    deadline = time.monotonic() + self.start_timeout
    while True:
        msg_id = self.kc.kernel_info()
        try:
            self.await_reply(msg_id, timeout=max(deadline - time.monotonic(), 1))
        except Empty:
            raise RuntimeError(f"the kernel did not answer kernel_info within {self.start_timeout:g} s") from None
        try:
            self.await_idle(msg_id, timeout=1)
            return
        except Empty:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no IOPub message from the kernel within {self.start_timeout:g} s") from None
