"""The running first maximum over a sequence of equally shaped arrays, in cheap uint8 arithmetic.

Shared by the fast max-pooling paths (:mod:`poolviz._fast.max_planes`, :mod:`poolviz._fast.max_tiles`).
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["first_max", "tie_max"]


@functools.lru_cache(maxsize=None)
def _max_keeps_second(dtype) -> bool:
    """Does ``np.maximum(a, b)`` return ``b`` when a == b (+0.0 against -0.0)?

    numpy does not promise either: 2.4 returns ``b`` for float32 and float64 but ``a`` for float16.
    Asked once per dtype, with arrays long enough to take the vectorised loops.
    """
    if dtype.kind != "f":
        return True  # equal integers are the same number
    a, b = np.zeros(64, dtype), np.full(64, -0.0, dtype)
    return bool(np.signbit(np.maximum(a, b)).all())


def tie_max(a, b, out=None):
    """``maximum(a, b)`` that returns ``b``, the earlier value, on a tie (its sign of zero); NaN propagates."""
    return np.maximum(a, b, out=out) if _max_keeps_second(np.result_type(a, b)) else np.maximum(b, a, out=out)


def first_max(views, code_type, carried=None):
    """Running first strict maximum over equally shaped ``views``.

    Returns ``(best, position, chosen)``: the maximum, the index ``j`` of the first view holding it
    (0 where nothing beats the first view), and ``carried[position]`` if ``carried`` (a list like
    ``views``) is given. Positions only grow along the sequence, so "set to j where better" is
    ``maximum(position, better * j)``, and "take the carried value where better" is
    ``c ^ ((c ^ r) * better)``: cheap uint8 arithmetic instead of masked stores, which are ~30x
    slower here. :func:`tie_max` keeps the earlier value on a tie (0.0 against -0.0), so ``best`` is
    always the element at ``position``. With a single view, ``position`` is a
    broadcast 0.
    """
    best, position = views[0], None
    chosen = carried[0] if carried is not None else None
    for j in range(1, len(views)):
        v = views[j]
        better = np.greater(v, best).view(np.uint8)
        best = tie_max(v, best, out=None if j == 1 else best)  # j == 1: a new array, views[0] untouched
        step = better * code_type(j) if j > 1 else better.astype(code_type, copy=False)
        position = step if position is None else np.maximum(position, step, out=position)
        if carried is not None:
            flip = np.bitwise_xor(chosen, carried[j])
            flip *= better
            chosen = np.bitwise_xor(chosen, flip, out=None if j == 1 else chosen)
    if position is None:
        position = np.broadcast_to(code_type(0), best.shape)
    return best, position, chosen
