"""Fast labelled heatmaps, laid out to fit the page: pictures composed as pixel arrays, drawn at exact pixels.

Sizes. The picture is laid out in CSS pixels at a natural width (:data:`WIDTH`, 800: a typical notebook
column) and rendered at :data:`SCALE` PNG pixels per CSS pixel, so it stays sharp on dense screens and under
browser zoom. The explorer shows it at 100% of its container's width, never wider than the natural width,
with the height following the aspect ratio (:func:`poolviz.widgets.explorer.image_layout`). The numbers in
the cells are printed at :data:`FONT_MIN` to :data:`FONT_MAX` CSS pixels (the font size), or not at all: at
the natural width that is at least 10 px, the size every figure of the course keeps to.

Layout. The three panels (input, output, gradient) share one cell size. They stand in one row when that
leaves the cells room for a number such as "-0.00" at :data:`FONT_MIN`; else the input and its gradient are
stacked on the left with the output beside them; else all three are stacked; and when even that leaves
no room (inputs larger than about 16x16), they stand in one row without numbers (:func:`plan_layout`). The
layout depends only on the shapes of the grids, so the picture's height changes only when the geometry does.

Speed. Printing 64 numbers with matplotlib ``Text`` artists costs about 1 ms each on a small machine, so the
cells and titles are composed as one pixel array, the page (cell colours plus cached bitmaps of the labels,
rendered once per distinct label with matplotlib's own FreeType font). The page is copied into Agg's buffer
as it is, and only the outlines and markers are drawn over it (as matplotlib's blitting does): ordinary
artists on a transparent overlay ``Axes`` per panel, updated in place with ``set_data``. A live update is
encoded without a palette (quantizing a picture this size costs more than everything else);
:class:`Renderer` owns it all.

Colours, the text colour on a cell, the number format and the selection's look come from
:mod:`poolviz.style`.
"""
from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from PIL import Image as PILImage

from ..style import OKABE_ITO, PAD_COLOR, SELECT_COLOR, WINDOW_COLORS, format_value, is_light, select_effects

__all__ = ["BORDER_BAND", "FONT_MAX", "FONT_MIN", "SCALE", "SELECT_WIDTH", "WIDTH", "Layout", "Renderer",
           "compose_heatmap", "fit_font", "label_texts", "need_cell", "plan_layout", "rect_lines"]

SCALE = 2  #: PNG pixels per CSS pixel: sharp at 200% zoom or on a dense screen
WIDTH = 800  #: the picture's natural width in CSS pixels (the default; ``explore(width=...)``)
FONT_MIN, FONT_MAX = 10, 13  #: font size of the numbers in the cells, CSS pixels at the natural width
TITLE_FONT, TITLE_LINE = 11, 15  # the titles' font size and line height (CSS px)
TITLE_H = 3 * TITLE_LINE + 6  # three lines of title above each grid
TITLE_W = 240  # a panel is at least this wide (CSS px), so that its title fits
MARGIN, GAP = 6, 16  # around the picture, between panels (CSS px)
CELL_MAX = 44  # cells stop growing here (CSS px): a 2x2 input does not fill the page
CELL_STACKED = 34  # in the stacked layouts, cells just big enough for their numbers keep the picture short
# Overlays live in a band of this many PNG pixels inside every cell border (window outlines half a pixel off
# the border, the selection and its halo, the rings, the blue box), and labels are kept out of it: an outline
# must never cross a digit or a minus sign.
BORDER_BAND = 5
#: Line width (points) of the selection outline, the target rings and the winner marker's edge. With the black
#: halo of :func:`poolviz.style.select_effects` the line is (1 + 2.5) pt = 4.9 CSS px wide: 2.4 px either side
#: of the cell border, inside the band.
SELECT_WIDTH = 1.0
# the NaN colour: poolviz.style has no colour of its own for NaN; the static plots draw NaN cells in the padding
# grey (poolviz.plots.cells.with_padding_colour), and so do the explorers, labelled "nan"
_NAN_RGB = np.round(np.multiply(to_rgb(PAD_COLOR), 255)).astype(np.uint8)
# the winner marker: a filled triangle in the top-left corner of its cell, above the centred label (legs of
# 0.36 cell, so that its halo stays clear of the label; the marker's box is the cell, as custom markers are
# scaled so that +-1 spans the marker size)
_CORNER = Path([(-1.0, 1.0), (-0.28, 1.0), (-1.0, 0.28), (-1.0, 1.0)], closed=True)
_WIDE_LABEL = "-0.00"  # the widest number the presets print: a layout must give it room at FONT_MIN


@lru_cache(maxsize=1)
def _font_path() -> str:
    return font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))


@lru_cache(maxsize=8)
def _font(px: int) -> FT2Font:
    font = FT2Font(_font_path())
    font.set_size(px, 72)  # at 72 dpi a point is a pixel
    return font


@lru_cache(maxsize=8192)
def _label_bitmap(text: str, px: int) -> tuple[np.ndarray, int]:
    """Anti-aliased coverage (h, w) of ``text`` in float32 [0, 1], and its baseline's row in that bitmap."""
    font = _font(px)
    font.set_text(text, 0.0, flags=LoadFlags.FORCE_AUTOHINT)
    font.draw_glyphs_to_bitmap(antialiased=True)
    img = np.asarray(font.get_image(), dtype=np.float32) / 255.0
    descent = int(np.ceil(font.get_descent() / 64))
    ink = np.nonzero(img.max(axis=0) > 0)[0]
    if ink.size:  # FreeType's bitmap has blank columns on the right: centre and fit the ink, not the box
        img = img[:, : ink[-1] + 1]
    return img, img.shape[0] - descent


@lru_cache(maxsize=32)
def _digit_height(px: int) -> int:
    return _label_bitmap("0", px)[1]


@lru_cache(maxsize=512)
def _advance(char: str) -> float:
    """The width of ``char`` in ems (a cheap way to find the widest of many labels)."""
    font = _font(64)
    return font.load_char(ord(char)).linearHoriAdvance / 65536 / 64


def fit_font(texts, cell: int, margin: int = BORDER_BAND, lo: int = FONT_MIN * SCALE,
             hi: int = FONT_MAX * SCALE) -> int | None:
    """The largest font size in [lo, hi] (PNG px) at which each of ``texts`` fits in a ``cell``-pixel cell
    with ``margin`` pixels clear on both sides; None if even ``lo`` does not fit. Also no larger than a
    third of the cell, so small numbers in big cells stay in proportion.
    """
    distinct = set(texts) - {""}
    hi = max(lo, min(hi, cell // 3))
    if not distinct:
        return hi
    room = cell - 2 * margin - 1
    # the widest few by their advance widths, then measured exactly (hinting moves a pixel or two)
    widest = sorted(distinct, key=lambda t: sum(_advance(ch) for ch in t))[-3:]
    for px in range(hi, lo - 1, -1):
        if max(_label_bitmap(t, px)[0].shape[1] for t in widest) <= room:
            return px
    return None


def label_texts(values, blank=None) -> list[str]:
    """The label of every cell of ``values`` (H, W), row-major ("" for a ``blank`` cell)."""
    values = np.asarray(values, dtype=float)
    if blank is None:
        return [format_value(v) for v in values.ravel()]
    return ["" if b else format_value(v) for v, b in zip(values.ravel(), np.asarray(blank).ravel())]


@lru_cache(maxsize=16)
def _colormap(name):
    return matplotlib.colormaps[name]  # the registry hands out a copy, whose table is built on first use


def _cell_rgba(values, cmap, norm) -> np.ndarray:
    """(H, W, 4) uint8 colours of ``values`` (H, W), opaque; non-finite values get the colour of 0 (callers
    repaint)."""
    return _colormap(cmap)(norm(np.where(np.isfinite(values), values, 0.0)), bytes=True, alpha=1.0)


def compose_heatmap(values, cmap, norm, cell: int, *, labels=True, font_px=None, blank=None,
                    fill=None, margin: int = BORDER_BAND, texts=None, out=None) -> np.ndarray:
    """An (H*cell, W*cell, 3) uint8 picture of ``values`` (H, W) with each value printed in its cell.

    ``cell`` and ``font_px`` are in PNG pixels; ``font_px`` defaults to :func:`fit_font` of the labels, and
    when no size from ``FONT_MIN`` up fits, no label is printed. ``blank`` is an optional (H, W) boolean
    mask of cells that hold no value (padding): they are drawn in the colours of ``fill`` (H, W, 3) uint8,
    without a label. Other non-finite values (a NaN in the data) are drawn in the padding grey, as the
    static plots draw them, labelled "nan" or "inf". Labels keep ``margin`` pixels clear on the left and
    right of their cell (the band where outlines are drawn). ``texts`` (the labels, as :func:`label_texts`
    returns them) saves computing them twice. ``out``, an (H*cell, W*cell, 4) uint8 RGBA array (a view into
    a larger picture), receives the picture (opaque) instead of a new array, and is returned.
    """
    values = np.asarray(values, dtype=float)
    H, W = values.shape
    rgba = _cell_rgba(values, cmap, norm)
    blank = np.zeros((H, W), dtype=bool) if blank is None else np.asarray(blank, dtype=bool)
    rgba[~np.isfinite(values), :3] = _NAN_RGB
    if fill is not None:
        rgba[blank, :3] = fill[blank]
    given = out is not None
    out = np.empty((H * cell, W * cell, 4), dtype=np.uint8) if out is None else out
    if out.shape != (H * cell, W * cell, 4):
        raise ValueError(f"out has shape {out.shape}; a {H}x{W} grid of {cell}-pixel cells needs "
                         f"({H * cell}, {W * cell}, 4).")
    # each cell's colour over its pixels, as one 32-bit word per pixel, in one pass (splitting axes is a view)
    words = out.view(np.uint32)[..., 0]
    np.reshape(words, (H, cell, W, cell), copy=False)[...] = rgba.view(np.uint32)[:, None, :, None, 0]
    if cell >= 4:  # thin white cell borders, like the static plots' grid
        words[::cell, :] = 0xFFFFFFFF
        words[:, ::cell] = 0xFFFFFFFF
    pic = out[..., :3]
    result = out if given else pic
    if not labels:
        return result
    texts = label_texts(values, blank) if texts is None else texts
    px = fit_font(texts, cell, margin) if font_px is None else font_px
    if px is None:
        return result
    light = is_light(rgba / 255.0)  # black on light cells, white on dark
    top_pad = (cell - _digit_height(px)) // 2
    for (i, j), text in zip(np.ndindex(H, W), texts):
        if not text:
            continue
        img, base = _label_bitmap(text, px)
        img = img[:, : cell - 1]  # never spill into the next cell
        h, w = img.shape
        y0 = i * cell + top_pad + _digit_height(px) - base
        x0 = j * cell + (cell - w + 1) // 2
        ys, xs = slice(max(y0, i * cell), min(y0 + h, (i + 1) * cell)), slice(x0, x0 + w)
        a = img[ys.start - y0: ys.stop - y0, :, None]
        region = pic[ys, xs]
        if light[i, j]:  # black ink
            pic[ys, xs] = (region * (1 - a)).astype(np.uint8)
        else:  # white ink
            pic[ys, xs] = (region + (255.0 - region) * a).astype(np.uint8)
    return result


def _text_strip(lines, width: int, height: int, px: int = TITLE_FONT * SCALE) -> np.ndarray:
    """White (height, width, 3) strip (PNG px) with the lines of text centred, from cached glyph bitmaps.

    A line too wide for the strip is set smaller, down to ``FONT_MIN``; only then is it cut.
    """
    pic = np.full((height, width, 3), 255, dtype=np.uint8)
    line_h = TITLE_LINE * SCALE
    y = max(1, (height - line_h * len(lines)) // 2)
    for line in lines:
        if line:
            size = px
            while size > FONT_MIN * SCALE and _label_bitmap(line, size)[0].shape[1] > width - 2:
                size -= 1
            img, base = _label_bitmap(line, size)
            h, w = img.shape
            w = min(w, width)
            x0 = (width - w) // 2
            y0 = y + size - base
            a = img[max(0, -y0): max(0, min(h, height - y0)), :w, None]
            rows = slice(max(0, y0), max(0, y0) + a.shape[0])
            pic[rows, x0:x0 + w] = (pic[rows, x0:x0 + w] * (1 - a)).astype(np.uint8)
        y += line_h
    return pic


@lru_cache(maxsize=1)
def need_cell() -> int:
    """The smallest cell (CSS px) that holds ``"-0.00"`` at ``FONT_MIN`` clear of the outline band."""
    ink = _label_bitmap(_WIDE_LABEL, FONT_MIN * SCALE)[0].shape[1]
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


class Renderer:
    """The explorer's figure: three panels (input, output, gradient) on one pyplot-free Figure.

    ``width`` is the picture's natural width in CSS pixels; the PNG has ``SCALE`` times as many pixels each
    way, and its height follows the layout (:func:`plan_layout`). The overlay artists are attributes,
    created once (empty) and updated in place by the scene: ``windows`` (one line per colour of
    :data:`poolviz.style.WINDOW_COLORS`), ``sel_in``/``sel_out`` (the highlighted window and output cell),
    ``members`` (a dilated window's cells), ``targets_in`` (the winner markers), ``targets_dx`` (rings where
    the highlighted output's gradient lands), ``multi`` (boxes on inputs reached 2+ times). The selection,
    the winners and the rings are :data:`poolviz.style.SELECT_COLOR` in the halo of
    :func:`poolviz.style.select_effects`.
    """

    def __init__(self, width: int = WIDTH):
        self.width = int(width)
        self.dpi = 100 * SCALE  # a point is 100/72 CSS px, as in a figure stored at 100 dpi
        self.fig = Figure(figsize=(self.width / 100, 3), dpi=self.dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        self.layout = None
        self.page = None  # the picture without its overlays: (height, width, 4) uint8, PNG px
        self._strips = {}  # title strips by (lines, width): re-composed only when their text changes
        self.axes = []
        for _ in range(3):
            ax = self.fig.add_axes((0, 0, 0.1, 0.1), zorder=1)
            ax.set_axis_off()
            ax.patch.set_alpha(0)
            self.axes.append(ax)
        pin, pout, pdx = self.axes
        sel = dict(color=SELECT_COLOR, path_effects=select_effects(SELECT_WIDTH))
        # Everything drawn over the cells stays in the band along their borders (BORDER_BAND, which the
        # labels keep clear); line widths in points, 0.72 pt = 1 CSS px.
        # Window outlines: one line per colour with NaN breaks (one path each, however many windows),
        # half a pixel off the border either way, so overlapping windows' coinciding edges show side by side.
        self.windows = [pin.plot([], [], color=c, linewidth=0.8, zorder=2)[0] for c in WINDOW_COLORS]
        self.sel_in = pin.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=SELECT_COLOR,
                                              linewidth=SELECT_WIDTH, zorder=3,
                                              path_effects=select_effects(SELECT_WIDTH)))
        (self.members,) = pin.plot([], [], "o", markersize=3.0, zorder=4, markeredgewidth=0, **sel)
        # the winner (an op that routes each window to one input): a triangle in its cell's corner, never over
        # its value
        (self.targets_in,) = pin.plot([], [], marker=_CORNER, linestyle="none", markerfacecolor=SELECT_COLOR,
                                      markeredgecolor=SELECT_COLOR, markeredgewidth=0, zorder=5,
                                      path_effects=select_effects(SELECT_WIDTH))
        self.sel_out = pout.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=SELECT_COLOR,
                                                linewidth=SELECT_WIDTH, zorder=3,
                                                path_effects=select_effects(SELECT_WIDTH)))
        # the selected output's targets: a ring on the border; inputs reached 2+ times: a thin blue box just
        # inside it, drawn over the ring's halo
        (self.targets_dx,) = pdx.plot([], [], linewidth=SELECT_WIDTH, zorder=4, clip_on=False, **sel)
        (self.multi,) = pdx.plot([], [], color=OKABE_ITO[1], linewidth=1.0, zorder=5)

    def plan(self, shapes, dx_offset=(0, 0), **fixed) -> Layout:
        """The layout of grids of ``shapes`` (see :func:`plan_layout`), at this renderer's width."""
        return plan_layout(tuple(map(tuple, shapes)), tuple(dx_offset), self.width, **fixed)

    def begin(self, layout: Layout):
        """Start a picture laid out as ``layout``: a white page when the layout changed, else the last one's
        pixels (every grid and title is drawn again over the same place)."""
        if layout != self.layout:
            S = SCALE
            Wp, Hp = layout.width * S, layout.height * S
            # a hair over the pixel count: the canvas truncates the figure's size in pixels
            self.fig.set_size_inches((Wp + 0.01) / self.dpi, (Hp + 0.01) / self.dpi)
            self.page = np.full((Hp, Wp, 4), 255, dtype=np.uint8)  # RGBA, as Agg's buffer
            self.layout = layout

    def area(self, k: int, shape) -> np.ndarray:
        """The page's pixels (RGBA view) where panel ``k``'s grid of ``shape`` (rows, cols) goes."""
        S, (gx, gy) = SCALE, self.layout.grids[k]
        c = self.layout.cell * S
        return self.page[gy * S: gy * S + shape[0] * c, gx * S: gx * S + shape[1] * c]

    def finish(self, titles, extents):
        """Write the title lines of each panel over its grid, and aim each overlay Axes at its grid: data
        coordinates span ``extents`` ((row edges), (col edges)) per panel."""
        S, layout = SCALE, self.layout
        Wp, Hp = layout.width * S, layout.height * S
        for lines, (tx, ty, tw), (gx, gy), ax, (rows, cols) in zip(titles, layout.titles, layout.grids, self.axes,
                                                                  extents):
            key = (tuple(lines), tw)
            if key not in self._strips:
                if len(self._strips) > 64:
                    self._strips.clear()
                strip = _text_strip(lines, tw * S, TITLE_H * S)
                self._strips[key] = np.dstack([strip, np.full(strip.shape[:2], 255, dtype=np.uint8)])
            strip = self._strips[key]
            self.page[ty * S: ty * S + strip.shape[0], tx * S: tx * S + strip.shape[1]] = strip
            c = layout.cell * S
            ph, pw = round((rows[1] - rows[0]) * c), round((cols[1] - cols[0]) * c)
            ax.set_position((gx * S / Wp, 1 - (gy * S + ph) / Hp, pw / Wp, ph / Hp))
            ax.set_xlim(cols)
            ax.set_ylim(rows[1], rows[0])

    def png(self, compress_level=None) -> bytes:
        """Draw the overlays on the page and encode it as PNG bytes.

        The page is copied into Agg's buffer as it is, and only the overlay Axes are drawn on it (as
        matplotlib's blitting does): no figure background, no resampled image. ``compress_level`` None: the
        fast encoding of a live update (RGBA, unfiltered, zlib level 1); 0-9: a 256-colour palette PNG at that
        zlib level, 2-3x smaller and near-lossless (the picture is flat cells and text), for pictures that
        are stored (a notebook keeps the first picture, and the kernel-free explorer's frames).
        """
        renderer = self.canvas.get_renderer()  # a new one (and buffer) when the figure's size changed
        buffer = np.asarray(renderer.buffer_rgba())
        buffer[...] = self.page
        for ax in self.axes:
            ax.draw(renderer)
        if compress_level is None:
            return _encode_png(buffer)
        h, w = buffer.shape[:2]
        img = PILImage.frombytes("RGB", (w, h), renderer.buffer_rgba(), "raw", "RGBX")
        img = img.quantize(256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
        out = io.BytesIO()
        img.save(out, format="png", compress_level=compress_level)
        return out.getvalue()


def _encode_png(rgba: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of ``rgba`` (h, w, 4) uint8, C-contiguous, rows unfiltered, zlib at ``level``.

    Quantizing a 1600x640 picture to a palette takes ~15 ms and PIL's row filters as long; flat cells
    compress well without either, so a live update encodes in a few milliseconds (at about twice the bytes).
    """
    h, w = rgba.shape[:2]
    raw = np.empty((h, 1 + 4 * w), dtype=np.uint8)
    raw[:, 0] = 0  # each row's filter type: none
    raw[:, 1:] = rgba.reshape(h, 4 * w)  # whole rows: a plain copy (dropping alpha would cost a strided one)

    def chunk(tag: bytes, data) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no filter method, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, level))
            + chunk(b"IEND", b""))


def rect_lines(r0, c0, h, w) -> tuple[np.ndarray, np.ndarray]:
    """x and y of closed rectangle outlines, NaN-separated, for one ``Line2D``.

    ``r0``, ``c0`` (n,) are the cell-centre coordinates of each rectangle's top-left cell; ``h``, ``w`` its
    height and width in cells (scalars or (n,)). Returns two arrays of shape (6 n,).
    """
    r0 = np.atleast_1d(np.asarray(r0, dtype=float)) - 0.5
    c0 = np.atleast_1d(np.asarray(c0, dtype=float)) - 0.5
    h, w = np.broadcast_to(h, r0.shape), np.broadcast_to(w, c0.shape)
    nan = np.full(r0.shape, np.nan)
    xs = np.stack([c0, c0 + w, c0 + w, c0, c0, nan], axis=1).ravel()
    ys = np.stack([r0, r0, r0 + h, r0 + h, r0, nan], axis=1).ravel()
    return xs, ys
