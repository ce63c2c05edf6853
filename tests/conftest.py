"""Shared test helpers."""
from contextlib import contextmanager

from poolviz import _windows, max_pool

#: max pooling has three implementations: one gather + argmax for small inputs; for large inputs,
#: per-offset passes over blocks of planes, and a columns-first path for windows that tile the input.
MAX_POOL_PATHS = ["gather", "passes", "tiles"]


@contextmanager
def max_pool_path(name):
    """Force one of the max-pooling implementations, whatever the input size.

    The large-input paths run with one plane per block, so that inputs with leading dimensions
    exercise the blocking (and gradients are routed block by block as well).
    """
    saved = max_pool._SMALL, max_pool._TILES, max_pool.BLOCK_BYTES, _windows.BLOCK_BYTES
    max_pool._SMALL = 1 << 62 if name == "gather" else -1
    max_pool._TILES = name == "tiles"
    if name != "gather":
        max_pool.BLOCK_BYTES = _windows.BLOCK_BYTES = 1
    try:
        yield
    finally:
        max_pool._SMALL, max_pool._TILES, max_pool.BLOCK_BYTES, _windows.BLOCK_BYTES = saved
