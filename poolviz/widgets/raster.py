"""Fast labelled heatmaps: pictures composed as pixel arrays, drawn at exact pixels.

The page (cell colours plus the labels' cached bitmaps, :mod:`.glyphs`) is composed as one pixel array,
laid out by :mod:`.layout`. It is copied into Agg's buffer as it is, and only the outlines and markers are
drawn over it (as matplotlib's blitting does): ordinary artists on a transparent overlay ``Axes`` per panel,
updated in place with ``set_data``. A live update is encoded without a palette (quantizing a picture this
size costs more than everything else); :class:`Renderer` owns it all.

Colours, the text colour on a cell, the number format and the selection's look come from
:mod:`poolviz.style`.
"""
from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from PIL import Image as PILImage

from ..style import OKABE_ITO, PAD_COLOR, SELECT_COLOR, WINDOW_COLORS, is_light, select_effects
from .glyphs import BORDER_BAND, SCALE, digit_height, fit_font, label_bitmap, label_texts, text_strip
from .layout import TITLE_H, WIDTH, Layout, plan_layout

__all__ = ["SELECT_WIDTH", "Renderer", "compose_heatmap", "rect_lines"]

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
    top_pad = (cell - digit_height(px)) // 2
    for (i, j), text in zip(np.ndindex(H, W), texts):
        if not text:
            continue
        img, base = label_bitmap(text, px)
        img = img[:, : cell - 1]  # never spill into the next cell
        h, w = img.shape
        y0 = i * cell + top_pad + digit_height(px) - base
        x0 = j * cell + (cell - w + 1) // 2
        ys, xs = slice(max(y0, i * cell), min(y0 + h, (i + 1) * cell)), slice(x0, x0 + w)
        a = img[ys.start - y0: ys.stop - y0, :, None]
        region = pic[ys, xs]
        if light[i, j]:  # black ink
            pic[ys, xs] = (region * (1 - a)).astype(np.uint8)
        else:  # white ink
            pic[ys, xs] = (region + (255.0 - region) * a).astype(np.uint8)
    return result


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
                strip = text_strip(lines, tw * S, TITLE_H * S)
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
