"""Root conftest: plugins that must reach every collected item, the notebook cells under notebooks/ too.

pytest applies a conftest.py only below its own folder, hence this file at the root.
"""
import sys
from pathlib import Path

# tests/ is a folder of modules, not a package: put it on the path so that the plugin is imported under
# one name, the one tests/test_nbval_patience.py imports it by.
_TESTS = str(Path(__file__).resolve().parent / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

pytest_plugins = ["nbval_patience"]
