"""Text as pixels: numbers and titles drawn from cached FreeType bitmaps of matplotlib's own font.

Sizes are in CSS pixels at the picture's natural width, rendered at :data:`SCALE` PNG pixels per CSS pixel,
so a picture stays sharp on dense screens and under browser zoom. The numbers in the cells are printed at
:data:`FONT_MIN` to :data:`FONT_MAX` CSS pixels (the font size), or not at all: at the natural width that is
at least 10 px, the size every figure of the course keeps to. Drawing 64 numbers with matplotlib ``Text``
artists costs about 1 ms each on a small machine; a cached bitmap per distinct label costs microseconds.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font, LoadFlags

from ..style import format_value

__all__ = ["BORDER_BAND", "FONT_MAX", "FONT_MIN", "SCALE", "TITLE_FONT", "TITLE_LINE", "digit_height", "fit_font",
           "label_bitmap", "label_texts", "text_strip"]

SCALE = 2  #: PNG pixels per CSS pixel: sharp at 200% zoom or on a dense screen
FONT_MIN, FONT_MAX = 10, 13  #: font size of the numbers in the cells, CSS pixels at the natural width
TITLE_FONT, TITLE_LINE = 11, 15  # the titles' font size and line height (CSS px)
# Overlays live in a band of this many PNG pixels inside every cell border (window outlines half a pixel off
# the border, the selection and its halo, the rings, the blue box), and labels are kept out of it: an outline
# must never cross a digit or a minus sign.
BORDER_BAND = 5


@lru_cache(maxsize=1)
def _font_path() -> str:
    return font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))


@lru_cache(maxsize=8)
def _font(px: int) -> FT2Font:
    font = FT2Font(_font_path())
    font.set_size(px, 72)  # at 72 dpi a point is a pixel
    return font


@lru_cache(maxsize=8192)
def label_bitmap(text: str, px: int) -> tuple[np.ndarray, int]:
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
def digit_height(px: int) -> int:
    return label_bitmap("0", px)[1]


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
        if max(label_bitmap(t, px)[0].shape[1] for t in widest) <= room:
            return px
    return None


def label_texts(values, blank=None) -> list[str]:
    """The label of every cell of ``values`` (H, W), row-major ("" for a ``blank`` cell)."""
    values = np.asarray(values, dtype=float)
    if blank is None:
        return [format_value(v) for v in values.ravel()]
    return ["" if b else format_value(v) for v, b in zip(values.ravel(), np.asarray(blank).ravel())]


def text_strip(lines, width: int, height: int, px: int = TITLE_FONT * SCALE) -> np.ndarray:
    """White (height, width, 3) strip (PNG px) with the lines of text centred, from cached glyph bitmaps.

    A line too wide for the strip is set smaller, down to ``FONT_MIN``; only then is it cut.
    """
    pic = np.full((height, width, 3), 255, dtype=np.uint8)
    line_h = TITLE_LINE * SCALE
    y = max(1, (height - line_h * len(lines)) // 2)
    for line in lines:
        if line:
            size = px
            while size > FONT_MIN * SCALE and label_bitmap(line, size)[0].shape[1] > width - 2:
                size -= 1
            img, base = label_bitmap(line, size)
            h, w = img.shape
            w = min(w, width)
            x0 = (width - w) // 2
            y0 = y + size - base
            a = img[max(0, -y0): max(0, min(h, height - y0)), :w, None]
            rows = slice(max(0, y0), max(0, y0) + a.shape[0])
            pic[rows, x0:x0 + w] = (pic[rows, x0:x0 + w] * (1 - a)).astype(np.uint8)
        y += line_h
    return pic
