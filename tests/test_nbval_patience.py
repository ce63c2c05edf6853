"""tests/nbval_patience.py: the waits it sets on the notebook cells, its retry of a failed kernel start,
and its refusal to run on an nbval whose internals moved."""
import json
import os
import subprocess
import sys
from pathlib import Path
from queue import Empty

import nbval.kernel
import pytest
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, RunningKernel
from nbval_patience import KERNEL_START_TIMEOUT, OUTPUT_TIMEOUT, check_nbval

ROOT = Path(__file__).resolve().parents[1]

# Loaded with -p in a pytest subprocess: prints what the collected notebook cells will run with.
REPORT_PLUGIN = '''
def pytest_collection_finish(session):
    from nbval.kernel import RunningKernel
    print("kernel start from", RunningKernel.__init__.__module__)
    for item in session.items:
        print("output_timeout", getattr(item, "output_timeout", None), item.nodeid)
'''


@pytest.mark.parametrize("off, kernel_start_module, output_timeout", [
    ([], "nbval_patience", OUTPUT_TIMEOUT),
    (["-p", "no:nbval_patience"], "nbval.kernel", 5),  # nbval's own waits: the check below can tell
])
def test_notebook_cells_collected_from_the_root_get_the_patient_waits(tmp_path, off, kernel_start_module,
                                                                     output_timeout):
    # A fresh process started from the root, as CI runs it, so that the root conftest.py does the registering.
    (tmp_path / "nbval_report.py").write_text(REPORT_PLUGIN)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "nbval_report", *off,
                          "notebooks"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert f"kernel start from {kernel_start_module}" in lines
    timeouts = [line.split()[1] for line in lines if line.startswith("output_timeout ")]
    code_cells = sum(cell["cell_type"] == "code"
                     for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
                     for cell in json.loads(path.read_text())["cells"])
    assert len(timeouts) == code_cells > 0
    assert set(timeouts) == {str(output_timeout)}


class FakeKernel:
    """Stands in for both halves of a started kernel (nbval's manager and client): it answers each
    kernel_info request with a reply on shell and an idle status on IOPub, or, if silent, never answers."""

    def __init__(self, silent=False):
        self.silent = silent
        self.unanswered = []  # kernel_info requests waiting for their IOPub idle
        self.shell_waits = []  # the timeouts the caller waited for a shell reply with
        self.shut_down = False

    def kernel_info(self):
        msg_id = f"kernel_info-{len(self.shell_waits)}"
        if not self.silent:
            self.unanswered.append(msg_id)
        return msg_id

    def get_shell_msg(self, timeout):
        self.shell_waits.append(timeout)
        if not self.unanswered:
            raise Empty
        return {"parent_header": {"msg_id": self.unanswered[-1]}, "content": {"status": "ok"}}

    def get_iopub_msg(self, timeout):
        if not self.unanswered:
            raise Empty
        return {"parent_header": {"msg_id": self.unanswered.pop()}, "msg_type": "status",
                "content": {"execution_state": "idle"}}

    def stop_channels(self):
        pass

    def shutdown_kernel(self, now=False):
        self.shut_down = True

    def is_alive(self):
        return not self.shut_down


def _start_kernels(monkeypatch, *kernels):
    """Make nbval's start_new_kernel hand out ``kernels`` in turn; return the startup timeouts it was given."""
    timeouts = []

    def start_new_kernel(startup_timeout, kernel_name, **kwargs):
        timeouts.append(startup_timeout)
        fake = kernels[len(timeouts) - 1]
        return fake, fake

    monkeypatch.setattr(nbval.kernel, "start_new_kernel", start_new_kernel)
    return timeouts


def test_a_kernel_that_never_answers_is_waited_for_then_shut_down_and_replaced(monkeypatch):
    silent, healthy = FakeKernel(silent=True), FakeKernel()
    timeouts = _start_kernels(monkeypatch, silent, healthy)
    with pytest.warns(RuntimeWarning, match=r"attempt 1 of 2.*did not answer kernel_info.*starting a new kernel"):
        kernel = RunningKernel("python3", cwd="notebooks", startup_timeout=60)  # 60: nbval's default
    assert timeouts == [KERNEL_START_TIMEOUT, KERNEL_START_TIMEOUT]
    assert silent.shell_waits == [pytest.approx(KERNEL_START_TIMEOUT, abs=1)]  # nbval waited 10 s
    assert silent.shut_down
    assert kernel.kc is healthy and kernel.is_alive()


def test_two_failed_starts_end_with_a_clear_error_and_no_kernel_left(monkeypatch):
    kernels = FakeKernel(silent=True), FakeKernel(silent=True)
    _start_kernels(monkeypatch, *kernels)
    with pytest.warns(RuntimeWarning), pytest.raises(RuntimeError, match=r"nbval_patience: the kernel 'python3' "
                                                     r"for notebooks failed to start \(attempt 2 of 2"):
        RunningKernel("python3", cwd="notebooks")
    assert all(fake.shut_down for fake in kernels)


def test_a_longer_startup_timeout_asked_for_on_the_command_line_wins(monkeypatch):
    healthy = FakeKernel()
    timeouts = _start_kernels(monkeypatch, healthy)
    RunningKernel("python3", cwd="notebooks", startup_timeout=KERNEL_START_TIMEOUT + 180)
    assert timeouts == [KERNEL_START_TIMEOUT + 180]
    assert healthy.shell_waits == [pytest.approx(KERNEL_START_TIMEOUT + 180, abs=1)]


def test_a_real_kernel_that_fails_its_first_check_is_stopped_before_the_retry(monkeypatch, tmp_path):
    processes = []
    patient_check = RunningKernel._ensure_iopub_up

    def fail_the_first_check(self):
        processes.append(self.km.provisioner.process)
        if len(processes) == 1:
            raise RuntimeError("injected: no kernel_info reply")
        patient_check(self)

    monkeypatch.setattr(RunningKernel, "_ensure_iopub_up", fail_the_first_check)
    with pytest.warns(RuntimeWarning, match="injected"):
        kernel = RunningKernel(CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    first, second = processes
    try:
        assert first.poll() is not None  # nbval alone leaves this process running until pytest exits
        assert second.poll() is None and kernel.is_alive()
    finally:
        kernel.stop()
    assert second.poll() is not None


class ChangedKernel:
    """A RunningKernel as a future nbval might write it."""

    def __init__(self, name, cwd=None, timeout=60):
        self.wait_until_ready()


class ChangedCell:
    def runtest(self):
        return self.iopub_timeout


def test_changed_nbval_internals_stop_the_run_with_a_message():
    # The positive case is the subprocess test above: its pytest run would stop with this error.
    expected = (r"nbval 0\.11\.0.*_ensure_iopub_up is missing.*no longer takes \(kernel_name, cwd, startup_timeout\)"
                r".*no longer calls _ensure_iopub_up.*no longer reads self.output_timeout")
    with pytest.raises(pytest.UsageError, match=expected):
        check_nbval(ChangedKernel, ChangedCell)
