"""Root conftest: plugins that must reach every collected item, the notebook cells under notebooks/ too.

pytest applies a conftest.py only below its own folder, hence this file at the root.
"""
import os
import sys
from pathlib import Path

# The notebooks' kernels inherit this: their matrix products are tiny (notebook 09 trains a small network), and
# a multi-threaded BLAS makes them slower, up to 40x on a busy 2-core machine, and lets the order of a sum vary
# with the thread count. One thread gives every run the same arithmetic. A value set by the user wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# tests/ is a folder of modules, not a package: put it on the path so that the plugin is imported under
# one name, the one tests/test_nbval_patience.py imports it by.
_TESTS = str(Path(__file__).resolve().parent / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

pytest_plugins = ["nbval_patience"]
