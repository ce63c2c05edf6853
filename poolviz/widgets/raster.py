"""Fast labelled heatmaps: pictures composed as pixel arrays and drawn at exact pixel positions.

Printing 64 numbers with matplotlib ``Text`` artists costs about 1 ms each on a small machine, so the
heatmaps here are composed as pixel arrays (cell colours plus cached bitmaps of the digits, rendered once
per distinct label with matplotlib's own FreeType font) and drawn by a small artist at exact pixel
positions (no resampling). Outlines and markers are ordinary artists on a transparent overlay ``Axes``
per panel, updated in place with ``set_data``; :class:`Renderer` owns them all and encodes the PNG.

Colours, the text colour on a cell and the number format come from :mod:`poolviz.style`.
"""
from __future__ import annotations

import io
from functools import lru_cache

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from PIL import Image as PILImage

from ..style import OKABE_ITO, SELECT_COLOR, WINDOW_COLORS, format_value, is_light

__all__ = ["BORDER_BAND", "Renderer", "compose_heatmap", "rect_lines"]

# Overlays live in a band of this many pixels inside every cell border (window outlines half a pixel off the
# border, the selection, rings, the blue box), and labels are kept out of it: an outline must never cross a
# digit or a minus sign.
BORDER_BAND = 2
# the winner marker: a filled triangle in the top-left corner of its cell, above the centred label (legs of
# 0.42 cell; the marker's box is the cell, as custom markers are scaled so that +-1 spans the marker size)
_CORNER = Path([(-1.0, 1.0), (-0.16, 1.0), (-1.0, 0.16), (-1.0, 1.0)], closed=True)


@lru_cache(maxsize=1)
def _font_path() -> str:
    return font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))


@lru_cache(maxsize=4)
def _font(px: int) -> FT2Font:
    font = FT2Font(_font_path())
    font.set_size(px, 72)  # at 72 dpi a point is a pixel
    return font


@lru_cache(maxsize=4096)
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


@lru_cache(maxsize=16)
def _digit_height(px: int) -> int:
    return _label_bitmap("0", px)[1]


def _cell_rgb(values, cmap, norm) -> np.ndarray:
    """(H, W, 3) uint8 colours of ``values`` (H, W); non-finite values get the colour of 0 (callers repaint)."""
    rgba = matplotlib.colormaps[cmap](norm(np.where(np.isfinite(values), values, 0.0)))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def compose_heatmap(values, cmap, norm, cell: int, *, labels=True, font_px=None, blank=None,
                    fill=None, margin: float = BORDER_BAND) -> np.ndarray:
    """An (H*cell, W*cell, 3) uint8 picture of ``values`` (H, W) with each value printed in its cell.

    ``blank`` is an optional (H, W) boolean mask of cells that hold no value (padding): they are drawn in
    the colours of ``fill`` (H, W, 3) uint8, without a label. Other non-finite values (a NaN in the data)
    are drawn white, labelled "nan" or "inf". Labels keep ``margin`` pixels clear on the left and right of
    their cell (the band where outlines are drawn); labels that do not fit are left out.
    """
    values = np.asarray(values, dtype=float)
    H, W = values.shape
    rgb = _cell_rgb(values, cmap, norm)
    blank = np.zeros((H, W), dtype=bool) if blank is None else np.asarray(blank, dtype=bool)
    rgb[~np.isfinite(values)] = 255
    if fill is not None:
        rgb[blank] = fill[blank]
    pic = np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)
    if cell >= 4:  # thin white cell borders, like the static plots' grid
        pic[::cell, :] = 255
        pic[:, ::cell] = 255
    if not labels or cell < 12:
        return pic
    texts = ["" if b else format_value(v) for v, b in zip(values.ravel(), blank.ravel())]
    px = font_px or max(6, min(12, int(cell * 0.32)))
    distinct = set(texts) - {""}
    room = cell - int(np.ceil(2 * margin))

    def widest(px):
        return max((_label_bitmap(t, px)[0].shape[1] for t in distinct), default=0)

    while px > 6 and widest(px) > room:
        px -= 1  # shrink the font until the widest label fits; if even 6 px does not, print none
    if widest(px) > room:
        return pic
    light = is_light(rgb / 255.0)  # black on light cells, white on dark
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
        ink = 0.0 if light[i, j] else 255.0
        region = pic[ys, xs]
        pic[ys, xs] = (region * (1 - a) + ink * a).astype(np.uint8)
    return pic


class _PixelImage(Artist):
    """An RGB(A) uint8 array drawn at an exact pixel offset: no resampling, no interpolation, so it is cheap."""

    def __init__(self):
        super().__init__()
        self.rgba = None
        self.ox = self.oy = 0  # left, bottom, in pixels

    def set_pixels(self, pic: np.ndarray, ox: int, oy: int):
        """Show ``pic`` of shape (h, w, 3 or 4), uint8, with its bottom-left corner at pixel ``(ox, oy)``."""
        if pic.shape[2] == 3:
            pic = np.concatenate([pic, np.full(pic.shape[:2] + (1,), 255, dtype=np.uint8)], axis=2)
        self.rgba, self.ox, self.oy = np.ascontiguousarray(pic), int(ox), int(oy)
        self.stale = True

    def draw(self, renderer):
        if self.rgba is None or not self.get_visible():
            return
        gc = renderer.new_gc()
        renderer.draw_image(gc, self.ox, self.oy, self.rgba[::-1])  # Agg counts rows from the bottom
        gc.restore()


def _text_strip(lines, width: int, height: int, px: int = 11) -> np.ndarray:
    """White (height, width, 3) strip with the lines of text centred, composed from cached glyph bitmaps."""
    pic = np.full((height, width, 3), 255, dtype=np.uint8)
    line_h = px + 4
    y = max(1, (height - line_h * len(lines)) // 2)
    for line in lines:
        if line:
            img, base = _label_bitmap(line, px)
            h, w = img.shape
            w = min(w, width)
            x0 = (width - w) // 2
            y0 = y + px - base
            a = img[max(0, -y0): max(0, min(h, height - y0)), :w, None]
            rows = slice(max(0, y0), max(0, y0) + a.shape[0])
            pic[rows, x0:x0 + w] = (pic[rows, x0:x0 + w] * (1 - a)).astype(np.uint8)
        y += line_h
    return pic


class _Panel:
    """One heatmap: a pixel image at an exact position, a transparent overlay Axes on it, and a title strip."""

    def __init__(self, fig: Figure, x0: int, width: int, height: int, title_h: int):
        self.fig, self.x0, self.width, self.height, self.title_h = fig, x0, width, height, title_h
        self.image = fig.add_artist(_PixelImage())
        self.title = fig.add_artist(_PixelImage())
        self._title_lines = None
        W, H = fig.bbox.width, fig.bbox.height
        self.ax = fig.add_axes((x0 / W, 0, 1 / W, 1 / H), zorder=1)
        self.ax.set_axis_off()
        self.ax.patch.set_alpha(0)

    def set_title(self, *lines):
        if lines != self._title_lines:  # the strip is re-composed only when its text changes
            self._title_lines = lines
            self.title.set_pixels(_text_strip(lines, self.width, self.title_h), self.x0, self.height - self.title_h)

    def show(self, pic: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]):
        """Place ``pic`` (h, w, 3) centred in the panel; overlay data coordinates span ``rows`` x ``cols``
        (the cell edges, in the cells' own coordinates)."""
        ph, pw = pic.shape[:2]
        W, H = self.fig.bbox.width, self.fig.bbox.height
        ox = self.x0 + (self.width - pw) // 2
        oy = (self.height - self.title_h - ph) // 2
        self.image.set_pixels(pic, ox, oy)
        self.ax.set_position((ox / W, oy / H, pw / W, ph / H))
        self.ax.set_xlim(cols)
        self.ax.set_ylim(rows[1], rows[0])


class Renderer:
    """The explorer's figure: three panels (input, output, gradient) on one pyplot-free Figure.

    The overlay artists are attributes, created once (empty) and updated in place by the scene:
    ``windows`` (one line per colour of :data:`poolviz.style.WINDOW_COLORS`), ``sel_in``/``sel_out`` (the
    highlighted window and output cell), ``members`` (a dilated window's cells), ``targets_in`` (the winner
    markers), ``targets_dx`` (rings where the highlighted output's gradient lands), ``multi`` (boxes on
    inputs reached 2+ times).
    """

    def __init__(self, width=660, height=260, dpi=100):
        self.fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        self.title_h = 50
        self.area = min(width // 3 - 12, height - self.title_h - 6)
        self.panels = [_Panel(self.fig, 4 + k * (width // 3), width // 3 - 8, height, self.title_h) for k in range(3)]
        pin, pout, pdx = (p.ax for p in self.panels)
        # Everything drawn over the cells stays in the band along their borders (BORDER_BAND, which the
        # labels keep clear); line widths in points, 0.72 pt = 1 px at 100 dpi.
        # Window outlines: one line per colour with NaN breaks (one path each, however many windows),
        # half a pixel off the border either way, so overlapping windows' coinciding edges show side by side.
        self.windows = [pin.plot([], [], color=c, linewidth=0.8, zorder=2)[0] for c in WINDOW_COLORS]
        self.sel_in = pin.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=2.5,
                                              zorder=3))
        (self.members,) = pin.plot([], [], "o", color=SELECT_COLOR, markersize=2.5, zorder=4)
        # the winner (an op that routes each window to one input): a triangle in its cell's corner, never over
        # its value
        (self.targets_in,) = pin.plot([], [], marker=_CORNER, linestyle="none", markerfacecolor=SELECT_COLOR,
                                      markeredgecolor="white", markeredgewidth=0.8, zorder=5)
        self.sel_out = pout.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=2.5,
                                                zorder=3))
        # inputs reached 2+ times: a thin blue box just inside the border; the selected output's targets: an
        # orange ring just outside it
        (self.multi,) = pdx.plot([], [], color=OKABE_ITO[1], linewidth=1.3, zorder=2)
        (self.targets_dx,) = pdx.plot([], [], color=SELECT_COLOR, linewidth=2.0, zorder=5, clip_on=False)

    def cell_size(self, n_rows, n_cols) -> int:
        """Pixels per cell for a grid of ``n_rows`` x ``n_cols`` cells in one panel (3 to 40)."""
        return max(3, min(40, self.area // max(n_rows, n_cols)))

    def png(self, compress_level=1) -> bytes:
        """Draw the figure and encode it as PNG bytes."""
        self.canvas.draw()
        w, h = self.canvas.get_width_height()
        buf = io.BytesIO()
        img = PILImage.frombuffer("RGBA", (w, h), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
        # a 256-colour palette: the picture is flat cells and text, so this is near-lossless, and both
        # faster to encode and 2-3x smaller than RGB (which matters for frames stored in a notebook)
        img = img.quantize(256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
        img.save(buf, format="png", compress_level=compress_level)
        return buf.getvalue()


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
