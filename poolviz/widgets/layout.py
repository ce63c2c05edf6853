"""Where the explorer's three panels (input, output, gradient) go, in CSS pixels.

The three panels share one cell size. They stand in one row when that leaves the cells room for a number
such as "-0.00" at :data:`~poolviz.widgets.glyphs.FONT_MIN`; else the input and its gradient are stacked on
the left with the output beside them; else all three are stacked; and when even that leaves no room (inputs
larger than about 16x16), they stand in one row without numbers (:func:`plan_layout`). The layout depends
only on the shapes of the grids, so the picture's height changes only when the geometry does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from .glyphs import BORDER_BAND, FONT_MIN, SCALE, TITLE_LINE, label_bitmap

__all__ = ["CELL_MAX", "CELL_STACKED", "GAP", "MARGIN", "TITLE_H", "TITLE_W", "WIDTH", "Layout", "image_layout", "need_cell",
           "plan_layout"]

WIDTH = 800  #: the picture's natural width in CSS pixels (the default; ``explore(width=...)``)
TITLE_H = 3 * TITLE_LINE + 6  # three lines of title above each grid
TITLE_W = 240  # a panel is at least this wide (CSS px), so that its title fits
MARGIN, GAP = 6, 16  # around the picture, between panels (CSS px)
CELL_MAX = 44  # cells stop growing here (CSS px): a 2x2 input does not fill the page
CELL_STACKED = 34  # in the stacked layouts, cells just big enough for their numbers keep the picture short
_WIDE_LABEL = "-0.00"  # the widest number the presets print: a layout must give it room at FONT_MIN


@lru_cache(maxsize=1)
def need_cell() -> int:
    """The smallest cell (CSS px) that holds ``"-0.00"`` at ``FONT_MIN`` clear of the outline band."""
    ink = label_bitmap(_WIDE_LABEL, FONT_MIN * SCALE)[0].shape[1]
    return math.ceil((ink + 2 * BORDER_BAND + 1) / SCALE)


@dataclass(frozen=True)
class Layout:
    """Where the three panels go, in CSS pixels from the picture's top-left corner.

    ``kind``: ``"row"``, ``"stacked"`` (input over gradient, the output beside them) or ``"column"``;
    ``cell``: pixels per cell, shared by every panel; ``width``, ``height``: the whole picture; ``grids``:
    the top-left corner ``(x, y)`` of the input, output and gradient grids; ``titles``: ``(x, y, w)`` of
    their title strips (``TITLE_H`` high).
    """

    kind: str
    cell: int
    width: int
    height: int
    grids: tuple
    titles: tuple


def _fit(width_at, avail, top) -> int:
    """The largest cell size in 1..top whose layout is at most ``avail`` wide (0 if none)."""
    return next((c for c in range(top, 0, -1) if width_at(c) <= avail), 0)


def plan_layout(shapes, dx_offset=(0, 0), width: int = WIDTH, *, kind=None, cell=None, height=None) -> Layout:
    """Lay out the input, output and gradient grids of ``shapes`` ((rows, cols) each) in a picture ``width``
    CSS pixels wide.

    ``dx_offset`` (rows, cols) is where the gradient's first cell lies in the input grid (the padding): the
    gradient's cells line up with the input cells they belong to. The layout is the first of "row",
    "stacked", "column" whose cells hold a number such as "-0.00" at ``FONT_MIN``; if none does (inputs
    larger than about 16x16), the row, which is the shortest. ``kind``, ``cell`` and ``height`` fix the
    choice (the kernel-free explorer gives all its frames one size this way; ``height`` at least the
    layout's own).

    Returns a :class:`Layout`.
    """
    (ri, ci), (ro, co), (rd, cd) = shapes
    oy, ox = dx_offset
    avail = width - 2 * MARGIN
    T = TITLE_H

    def slot(n, c):
        return max(n * c, TITLE_W)

    widths = {"row": lambda c: slot(ci, c) + slot(co, c) + slot(cd, c) + 2 * GAP,
              "stacked": lambda c: slot(ci, c) + GAP + slot(co, c),  # the gradient lies under the input
              "column": lambda c: max(slot(ci, c), slot(co, c))}
    need = need_cell()
    if kind is None:
        tops = {"row": CELL_MAX, "stacked": max(CELL_STACKED, need), "column": max(CELL_STACKED, need)}
        fits = {k: _fit(widths[k], avail, tops[k]) for k in widths}
        # no layout holds the numbers (a large input): the most compact one, which shows the pattern
        kind = next((k for k in widths if fits[k] >= need), "row")
        cell = fits[kind]
    elif cell is None:
        raise TypeError("plan_layout(kind=...) needs cell= too.")
    c = max(int(cell), 1)
    x0 = MARGIN + max(0, avail - widths[kind](c)) // 2
    if kind == "row":
        xs = np.cumsum([x0, slot(ci, c) + GAP, slot(co, c) + GAP])
        grids = [(int(x + (slot(n, c) - n * c) // 2), MARGIN + T + dy * c)
                 for x, n, dy in zip(xs, (ci, co, cd), (0, 0, oy))]
        tops = [MARGIN] * 3
        h = 2 * MARGIN + T + max(ri, ro, oy + rd) * c
    elif kind == "stacked":
        left = slot(ci, c)
        gi = (x0 + (left - ci * c) // 2, MARGIN + T)
        ydx = MARGIN + T + ri * c + GAP
        hl = T + ri * c + GAP + T + rd * c
        yo = MARGIN  # beside the input: x -> y reads left to right, and dx lies under the x it belongs to
        right = x0 + left + GAP
        grids = [gi, (right + (slot(co, c) - co * c) // 2, yo + T), (gi[0] + ox * c, ydx + T)]
        tops = [MARGIN, yo, ydx]
        h = 2 * MARGIN + max(hl, T + ro * c)
    elif kind == "column":
        full = widths["column"](c)
        gi = (x0 + (full - ci * c) // 2, MARGIN + T)
        yo = MARGIN + T + ri * c + GAP
        ydx = yo + T + ro * c + GAP
        grids = [gi, (x0 + (full - co * c) // 2, yo + T), (gi[0] + ox * c, ydx + T)]
        tops = [MARGIN, yo, ydx]
        h = ydx + T + rd * c + MARGIN
    else:
        raise ValueError(f"unknown layout {kind!r}; choose 'row', 'stacked' or 'column'.")
    titles = []
    for (gx, _), top, n in zip(grids, tops, (ci, co, cd)):
        w = slot(n, c)
        titles.append((int(min(max(0, gx + n * c // 2 - w // 2), width - w)), int(top), int(w)))
    grids = tuple((int(x), int(y)) for x, y in grids)
    return Layout(kind, c, int(width), int(max(h, height or 0)), grids, tuple(titles))


def image_layout(width: int) -> widgets.Layout:
    """A picture as wide as its container, up to ``width`` CSS pixels, its height following its aspect ratio.

    So it grows with the page under browser zoom (CSS pixels grow) and shrinks in a narrow panel, never
    squashed and never letterboxed.
    """
    return widgets.Layout(width="100%", max_width=f"{width}px", height="auto")
