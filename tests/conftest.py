"""Shared test helpers."""
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from poolviz import avg_pool2d, avg_pool2d_backward, paths

#: The worked solutions. A student copy of the course (``tools/make_handout.py``) leaves them out, and the
#: tests must still pass there: the ones that need a solution skip, saying why.
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
NO_SOLUTIONS = "notebooks/solutions/ is not in this copy (a student handout): this test needs the worked solutions"


def require_solutions():
    """At the top of a test module about the worked solutions: skip the whole module if they are absent.

    Otherwise put ``notebooks/`` on ``sys.path``, so that ``from solutions import ...`` works after the call.
    """
    if not SOLUTIONS.is_dir():
        pytest.skip(NO_SOLUTIONS, allow_module_level=True)
    if str(NOTEBOOKS) not in sys.path:
        sys.path.insert(0, str(NOTEBOOKS))


def worked_solution(module, name=None):
    """``notebooks/solutions/<module>.py`` (the module, or its function ``name``), for a module with other tests.

    Without ``notebooks/solutions/`` a stand-in comes back: calling it (or any function of the stand-in module)
    skips the test that called it, with :data:`NO_SOLUTIONS` as the reason. So a checker's tests of its
    diagnoses still run in a handout, and only the tests that run a worked solution skip. (pytest's skip is a
    BaseException: the checkers, which catch a learner's Exception, let it through.)
    """
    if SOLUTIONS.is_dir():
        require_solutions()
        found = importlib.import_module(f"solutions.{module}")
        return found if name is None else getattr(found, name)
    return _MissingModule(module) if name is None else _missing_function(f"{module}.{name}")


def _missing_function(qualname):
    def missing(*args, **kwargs):
        pytest.skip(f"{NO_SOLUTIONS} ({qualname})")

    missing.__name__ = missing.__qualname__ = qualname.rsplit(".", 1)[-1]
    return missing


class _MissingModule:
    """Stands in for a solution module that is not there: each of its functions skips the test calling it."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _missing_function(f"{self._module}.{name}")

#: Marks a test (or a parameter) of the compiled path, which needs the optional extra.
NEEDS_NUMBA = pytest.mark.skipif(not paths.numba_installed(),
                                 reason="the compiled path needs numba: pip install poolviz[fast]")

#: max pooling's paths (see poolviz.paths): the readable per-offset one, one gather + argmax for small inputs,
#: and, for large inputs, per-phase passes over blocks of planes and a columns-first path for windows that tile;
#: and the compiled loops where numba is installed. For loops over the paths inside one test.
MAX_POOL_PATHS = ["offsets", "gather", "planes", "tiles"] + (["compiled"] if paths.numba_installed() else [])
#: The same, to parametrize over: the compiled path is a skipped parameter (with the reason) without numba.
MAX_POOL_PATH_PARAMS = ["offsets", "gather", "planes", "tiles", pytest.param("compiled", marks=NEEDS_NUMBA)]
#: Average pooling's paths besides "offsets" that take any input when forced ("dense" splits as "auto" does).
AVG_POOL_FAST_PARAMS = ["dense-rows", "dense-phases", pytest.param("compiled", marks=NEEDS_NUMBA)]


def max_pool_path(name):
    """Force one of the max-pooling paths, whatever the input size (a context manager).

    The blocked paths run with one plane per block, so that inputs with leading dimensions exercise the
    blocking (and gradients are routed block by block as well).
    """
    return paths.use(max_pool=name, block_bytes=1 if name in ("planes", "tiles") else paths.Paths().block_bytes)


def valid_lengths(k, s, p, d, ceil_mode, longest=12):
    """Input lengths up to ``longest`` whose pooling is valid: a non-empty output in which every window holds
    at least one real element (PyTorch's output-size rule, written out here independently of poolviz)."""
    valid = []
    for length in range(1, longest + 1):
        n = length + 2 * p - d * (k - 1) - 1
        out = (-(-n // s) if ceil_mode else n // s) + 1
        if ceil_mode and (out - 1) * s >= length + p:
            out -= 1
        if out >= 1 and all(any(0 <= o * s - p + j * d < length for j in range(k)) for o in range(out)):
            valid.append(length)
    return valid


def sum_pool2d(x, kernel_size, stride=None):
    """Sum pooling, a toy op for registering into ``poolviz.ops.OPS``: average pooling times the window size."""
    return avg_pool2d(x, kernel_size, stride) * np.prod(np.broadcast_to(kernel_size, 2))


def sum_pool2d_backward(grad_output, x, kernel_size, stride=None):
    """The backward of :func:`sum_pool2d`: every input of a window receives its whole gradient."""
    return avg_pool2d_backward(grad_output, x, kernel_size, stride) * np.prod(np.broadcast_to(kernel_size, 2))
