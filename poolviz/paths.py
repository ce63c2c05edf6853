r"""Which implementation computes max and average pooling: one setting, for tests, benchmarks and the curious.

Max and average pooling each have a readable vectorised path, the rule written once over all windows
(one numpy pass per kernel offset, in :mod:`poolviz.max_pool` and :mod:`poolviz.avg_pool`), and fast
paths behind a wall, in :mod:`poolviz._fast`. Every path adds and compares the same numbers in the
same order, so their results are bit-identical, signs of zero included (the tests hold each one to the
loop reference and to PyTorch's golden values); they differ only in speed. ``"auto"``, the default,
picks per call:

=============  ==================  ==============================================  ===============================================
op             path                what it is                                      ``"auto"`` runs it when
=============  ==================  ==============================================  ===============================================
max pooling    ``"offsets"``       one pass per kernel offset: keep the running    a small input holds NaN (``argmax`` would pick
                                   maximum, replace it only by a larger value      the first NaN, PyTorch's rule is the last)
                                   or a NaN
\              ``"gather"``        every window gathered into a row, ``argmax``    ``x.size * kh * kw <= 2**15``
\              ``"tiles"``         columns first, for windows that tile the        a larger input whose windows tile it (stride =
                                   input                                           kernel >= 2, no padding, dilation or partial
                                                                                   window), on a little-endian machine
\              ``"planes"``        two stages over stride-phase planes             every other larger input
average        ``"offsets"``       one pass per kernel offset over strided views   ``x.size <= 2**15``, a one-element kernel, or
                                                                                   strides too large for the dense layout
\              ``"dense"``         contiguous passes over flat row-phase arrays    every other larger input; its rows are split
                                                                                   by stride phase from ``kh * kw >= 5``
\              ``"dense-rows"``,   ``"dense"`` with its layout forced: rows as     never (for tests)
               ``"dense-phases"``  they are, or split by stride phase
both           ``"compiled"``      compiled loops (numba, the optional extra       max pooling's backward from saved switches,
                                   ``pip install poolviz[fast]``): one pass over   and its forward and backward from x on 2x2
                                   memory per op, the same order of operations     windows at stride 2 and 3x3 at stride 2 or 1
                                                                                   (dilation 1), and average pooling's forward
                                                                                   and backward on those windows (when the
                                                                                   caller passes the geometry): ``x.size >=
                                                                                   2**18``, numba installed (as
                                                                                   ``POOLVIZ_COMPILED`` says, below); the other
                                                                                   kernels measured slower
                                                                                   than numpy, or level: when asked
=============  ==================  ==============================================  ===============================================

``"compiled"`` (:mod:`poolviz._fast.compiled`) needs numba: asking for it without numba raises an ImportError
that says ``pip install poolviz[fast]``. numba is imported on the first call that runs compiled, never by
``import poolviz``; each kernel is compiled once (cached on disk), so a first call costs from about half a
second (cached) to a few seconds: that is why ``"auto"`` keeps it for large inputs, and only for the kernels
that measured faster than numpy's (:data:`poolviz._fast.compiled.AUTO_KERNELS`). The environment variable
``POOLVIZ_COMPILED`` sets what ``"auto"`` does with it: ``auto`` (the default, also unset) as in the table;
``0`` never (an explicit ``"compiled"`` still runs); ``1`` for every input, whatever its size (an error if
numba is missing): to run a test suite or a notebook on the compiled path. It runs float32 and float64 (and
integer inputs to max pooling); float16 hands over to the numpy paths. Its planes run in parallel on as many
threads as ``numba.get_num_threads()`` says (set it with ``numba.set_num_threads``; max pooling's backward
from saved switches and the kernels of the windows above do so from ``2**18`` input elements), with the same
bits on any number of threads.

A forced path that does not apply hands over: ``"tiles"`` to ``"planes"`` where the windows do not tile,
``"gather"`` to ``"offsets"`` where a window holds NaN, the dense paths to ``"offsets"`` where the dense
layout cannot be used. Max pooling's backward follows its forward's path: ``"offsets"`` routes the whole
gradient with one ``np.add.at``; the fast paths route it block by block. The smooth ops (Lp's backward,
LogSumExp, SoftPool, stochastic) have one path, the per-offset one.

``block_bytes``: the fast paths take large inputs in blocks of whole (H, W) planes of about this many
bytes (1 MiB: the several passes over one block then read it from the CPU's L2 cache, not from memory).
Tests set it to 1 to run one plane per block.

Use it as a context manager::

    import poolviz
    with poolviz.paths.use(max_pool="offsets"):
        y = poolviz.max_pool2d(x, 2)   # the readable path, whatever the input's size
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
from dataclasses import dataclass, fields, replace

__all__ = ["MAX_POOL_PATHS", "AVG_POOL_PATHS", "Paths", "current", "numba_installed", "use"]

#: The paths max pooling can be asked to take ("auto" picks one per call).
MAX_POOL_PATHS = ("auto", "offsets", "gather", "tiles", "planes", "compiled")
#: The paths average pooling can be asked to take.
AVG_POOL_PATHS = ("auto", "offsets", "dense", "dense-rows", "dense-phases", "compiled")


@functools.cache
def numba_installed() -> bool:
    """Can numba, which the ``"compiled"`` path needs, be imported? (Looked up once, without importing it.)"""
    return importlib.util.find_spec("numba") is not None


@dataclass(frozen=True)
class Paths:
    """The setting: a path for max pooling, one for average pooling, and the block size of the fast paths."""

    max_pool: str = "auto"
    avg_pool: str = "auto"
    block_bytes: int = 1 << 20

    def __post_init__(self):
        for name, allowed in (("max_pool", MAX_POOL_PATHS), ("avg_pool", AVG_POOL_PATHS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} path must be one of {', '.join(map(repr, allowed))}; "
                                 f"got {getattr(self, name)!r}.")
        if "compiled" in (self.max_pool, self.avg_pool) and not numba_installed():
            raise ImportError("the 'compiled' path needs numba, which is not installed: pip install poolviz[fast] "
                              "(from a checkout: python -m pip install -e .[fast]).")
        if type(self.block_bytes) is not int or self.block_bytes < 1:
            raise ValueError(f"block_bytes must be a positive int (bytes per block of planes), got {self.block_bytes!r}.")


_current = Paths()


def current() -> Paths:
    """The setting in force."""
    return _current


@contextlib.contextmanager
def use(**changes):
    """Within the ``with`` block, run the ops with these fields of :class:`Paths` changed; restore them after.

    >>> with use(max_pool="offsets", block_bytes=1):
    ...     current().max_pool
    'offsets'
    """
    global _current
    unknown = set(changes) - {f.name for f in fields(Paths)}
    if unknown:
        raise TypeError(f"unknown setting {', '.join(sorted(unknown))}; the settings are "
                        f"{', '.join(f.name for f in fields(Paths))}.")
    saved, _current = _current, replace(_current, **changes)
    try:
        yield _current
    finally:
        _current = saved
