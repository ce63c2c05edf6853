"""Shared test helpers."""
from poolviz import paths

#: max pooling's paths (see poolviz.paths): the readable per-offset one, one gather + argmax for small inputs,
#: and, for large inputs, per-phase passes over blocks of planes and a columns-first path for windows that tile.
MAX_POOL_PATHS = ["offsets", "gather", "planes", "tiles"]


def max_pool_path(name):
    """Force one of the max-pooling paths, whatever the input size (a context manager).

    The blocked paths run with one plane per block, so that inputs with leading dimensions exercise the
    blocking (and gradients are routed block by block as well).
    """
    return paths.use(max_pool=name, block_bytes=1 if name in ("planes", "tiles") else paths.Paths().block_bytes)
