"""The fast paths of max and average pooling, behind a wall.

Nothing here is needed to understand what the ops compute: :mod:`poolviz.max_pool` and
:mod:`poolviz.avg_pool` hold the rules and a readable vectorised path (one numpy pass per kernel
offset). These modules compute the same numbers, in the same order, with fewer and faster passes over
memory. Which path runs when, and the one setting that chooses, are in :mod:`poolviz.paths`.

* :mod:`.max_gather`: small inputs, every window gathered, then ``argmax``;
* :mod:`.max_planes`: larger inputs, in blocks of planes, two stages over stride-phase planes;
  :mod:`.max_tiles` for windows that tile the input; :mod:`.first_max`, the running first maximum
  both use;
* :mod:`.max_route`: max pooling's backward, block by block;
* :mod:`.dense`: average pooling's sums and their adjoint, in contiguous passes over row-phase arrays;
* :mod:`.compiled`: both ops as compiled loops (numba, an optional extra, imported on first use).
"""
from __future__ import annotations

from ..geometry import PoolGeometry
from ..paths import Paths
from . import compiled
from .dense import dense_layout, dense_spread, dense_window_sum
from .max_gather import max_by_gather
from .max_planes import max_by_planes
from .max_route import route, route_in_blocks

__all__ = [
    "SMALL",
    "avg_compiled",
    "avg_layout",
    "compiled",
    "dense_spread",
    "dense_window_sum",
    "max_by_gather",
    "max_by_planes",
    "max_path",
    "route",
    "route_in_blocks",
]

#: Work (input elements times kernel elements for max pooling, input elements for average pooling) up to
#: which a small input's few numpy calls beat the blocked paths' setup.
SMALL = 1 << 15

_DENSE_ROWS = {"dense": "auto", "dense-rows": "as they are", "dense-phases": "split"}


def max_path(x_size: int, geom: PoolGeometry, setting: Paths, *dtypes, route: bool = False) -> str:
    """The path max pooling takes for an input of ``x_size`` elements: "offsets", "gather", "tiles", "planes"
    or "compiled".

    ``dtypes``: those of ``x`` (and of ``grad_output`` for a backward; of ``grad_output`` alone with ``route``),
    which decide whether the compiled path can take the call (without them, it is assumed it can).
    ``route``: the backward from saved switches, which "auto" treats apart, as it does the windows with
    compiled kernels of their own (see :data:`poolviz._fast.compiled.AUTO_KERNELS`). "tiles" means the planes
    path with the columns-first stage allowed where the windows tile the input.
    """
    asked = setting.max_pool
    op = "max-route" if route else ("max-special" if compiled.special_window(geom) else "max")
    if compiled.wanted(op, asked, x_size, *(dtypes or ("float32",))):
        return "compiled"
    if asked not in ("auto", "compiled"):
        return asked
    return "gather" if x_size * geom.h.kernel * geom.w.kernel <= SMALL else "tiles"


def avg_compiled(x_size: int, setting: Paths, dtype, geom: PoolGeometry | None = None, backward: bool = False) -> bool:
    """Does average pooling of ``x_size`` input elements, computed in ``dtype``, take the compiled path?

    ``geom`` and ``backward`` (the window sums, or their adjoint) let "auto" take the kernels that measured faster
    than numpy's (:data:`poolviz._fast.compiled.AUTO_KERNELS`: the forward on the windows with kernels of their
    own); without ``geom``, "auto" leaves average pooling to numpy.
    """
    special = geom is not None and compiled.special_window(geom)
    op = "avg-special" + ("-backward" if backward else "") if special else "avg"
    return compiled.wanted(op, setting.avg_pool, x_size, dtype)


def avg_layout(x_size: int, geom: PoolGeometry, setting: Paths):
    """The dense layout average pooling uses for an input of ``x_size`` elements, or None for the per-offset path."""
    asked = setting.avg_pool
    if asked == "offsets" or (asked in ("auto", "compiled") and x_size <= SMALL):
        return None
    return dense_layout(geom, _DENSE_ROWS.get(asked, "auto"))
