"""Shared test helpers."""
import numpy as np
import pytest

from poolviz import avg_pool2d, avg_pool2d_backward, paths

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
