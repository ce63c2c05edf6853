"""The package's shape: light import, a complete public API, docstrings that state shapes."""
import inspect
import os
import subprocess
import sys

import poolviz as pv


def test_import_does_not_pull_in_plotting_or_widgets():
    code = "import sys, poolviz; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_import_and_small_inputs_do_not_pull_in_numba():
    """numba (the optional extra) is imported on the first call that runs compiled, never before."""
    code = ("import sys, numpy as np, poolviz as pv; x = np.ones((2, 8, 8), np.float32); "
            "pv.max_pool2d_backward(pv.max_pool2d(x, 2), x, 2); pv.avg_pool2d_backward(pv.avg_pool2d(x, 2), x, 2); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))")
    env = {k: v for k, v in os.environ.items() if k != "POOLVIZ_COMPILED"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"


def test_public_api_is_complete_and_documented():
    expected = {
        "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "max_pool1d",
        "max_pool1d_backward", "avg_pool1d", "avg_pool1d_backward", "max_unpool2d", "lp_pool2d",
        "lp_pool2d_backward", "logsumexp_pool2d", "logsumexp_pool2d_backward", "soft_pool2d",
        "soft_pool2d_backward", "stochastic_pool2d", "stochastic_pool2d_backward", "gradcheck",
    }
    assert expected <= set(pv.__all__)
    for name in pv.__all__:
        assert hasattr(pv, name), name
    for name in expected:
        doc = inspect.getdoc(getattr(pv, name))
        assert doc and ("shape" in doc or "(..., " in doc), f"{name} has no docstring stating shapes"


def test_signatures_match_the_documented_api():
    sig = inspect.signature(pv.max_pool2d)
    assert list(sig.parameters) == ["x", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"]
    sig = inspect.signature(pv.avg_pool2d_backward)
    assert list(sig.parameters) == ["grad_output", "x", "kernel_size", "stride", "padding", "ceil_mode",
                                    "count_include_pad", "divisor_override"]
    assert list(inspect.signature(pv.max_unpool2d).parameters) == ["y", "indices", "kernel_size", "stride",
                                                                    "padding", "output_size"]
