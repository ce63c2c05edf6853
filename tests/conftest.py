"""Shared test helpers."""
from contextlib import contextmanager

from poolviz import max_pool

#: max pooling has two implementations: one gather + argmax for small inputs, per-offset passes for large.
MAX_POOL_PATHS = ["gather", "passes"]


@contextmanager
def max_pool_path(name):
    """Force one of the two max-pooling implementations, whatever the input size."""
    saved = max_pool._SMALL
    max_pool._SMALL = 1 << 62 if name == "gather" else -1
    try:
        yield
    finally:
        max_pool._SMALL = saved
