"""Labelled cell grids on matplotlib Axes: the drawing every static figure shares."""
from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..style import CELL_FONT, CELL_INCHES, FONT_MIN, PAD_COLOR, TICK_FONT, TITLE_FONT, format_value, is_light

__all__ = ["MAX_LABELLED", "MAX_TICKS", "MAX_WIDTH", "colorbar", "grid_figsize", "grid_style", "heatmap", "new_axes",
           "with_padding_colour"]

# Numbers are printed in cells only up to 12x12. Beyond that a figure wide enough for 8 pt digits in every
# cell would not fit a notebook's column, and a smaller font would be unreadable: the colour alone tells.
MAX_LABELLED = 144
MAX_WIDTH = 10.0  # inches: 1000 px at 100 dpi, about a notebook's column
MAX_TICKS = 12  # cell indices on an axis; a longer axis is labelled every 2nd (5th, ...) cell


def new_axes(nrows=1, ncols=1, figsize=None, **subplot_kw):
    """Axes on a new pyplot-free Figure (nothing registered with pyplot, so nothing leaks)."""
    if figsize is None:
        figsize = (3.2 * ncols, 3.2 * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw)
    return axes


def grid_figsize(H, W, *, ncols=1, colorbar=False, title_lines=2) -> tuple[float, float]:
    """Figure size (inches) for ``ncols`` panels of an H x W cell grid, each cell :data:`CELL_INCHES` wide.

    Enough for the 8 pt numbers of a labelled grid (up to 12x12). The figure stays within
    :data:`MAX_WIDTH` inches (a notebook's column at 100 dpi, where a wider picture would be scaled down,
    its text with it): three 8x8 panels get 0.33 in cells, still room for "0.25". Larger grids, which carry
    no numbers, get 0.25 in cells at most.
    """
    extra_w = 0.35 * ncols + (0.9 if colorbar else 0.0)  # cell indices on the left of each panel; the colour bar
    cell = CELL_INCHES if H * W <= MAX_LABELLED else min(0.25, 6.0 / max(H, W))
    cell = max(0.1, min(cell, (MAX_WIDTH - extra_w) / (ncols * W)))
    width = ncols * max(1.6, W * cell) + extra_w
    height = max(1.6, H * cell) + 0.3 + 0.17 * title_lines  # indices below, title above
    return round(width, 2), round(height, 2)


def heatmap(ax, values, cmap, norm, *, labels=True, extent=None, fontsize=None, blank=None):
    """Draw ``values`` (H, W) as cells centred on integer coordinates; return (image, list of texts).

    Cells marked in ``blank`` (padding) are grey without a number; a NaN or an infinity in the data is
    drawn grey too, and printed ("nan", "-inf"), so it is never mistaken for a value on the scale.
    Numbers are printed at ``fontsize`` (default 9 pt up to 6x6, 8 pt above) in grids up to 12x12
    (:data:`MAX_LABELLED` cells); a cell needs about 0.35 in (25 pt) for "-0.54" to fit.
    """
    values = np.asarray(values, dtype=float)
    H, W = values.shape
    cmap = with_padding_colour(cmap)
    if extent is None:
        extent = (-0.5, W - 0.5, H - 0.5, -0.5)
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, extent=extent,
                   interpolation="nearest", origin="upper")
    texts = []
    if labels and values.size <= MAX_LABELLED:
        fs = fontsize or (9.0 if max(H, W) <= 6 else CELL_FONT)
        if fs < FONT_MIN:
            raise ValueError(f"fontsize={fs} is below the {FONT_MIN} pt floor (10 px at 100 dpi): enlarge the "
                             f"figure instead, or pass labels=False")
        x0, y0 = extent[0] + 0.5, extent[3] + 0.5
        light = is_light(cmap(norm(np.where(np.isfinite(values), values, 0.0))))
        for (i, j), v in np.ndenumerate(values):
            if blank is not None and blank[i, j]:
                continue  # padding: grey and hatched, no number
            texts.append(ax.text(x0 + j, y0 + i, format_value(v), ha="center", va="center", fontsize=fs,
                                 color="black" if light[i, j] or not np.isfinite(v) else "white"))
    return im, texts


def with_padding_colour(cmap):
    """``cmap`` (a name or a Colormap) with NaN ("bad") cells drawn in the padding grey."""
    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    return cm.with_extremes(bad=PAD_COLOR)


def _index_ticks(start, n):
    """Every cell index from ``start`` for ``n`` cells, or every 2nd, 5th, 10th, ... when there are too many."""
    step = next((s for s in (1, 2, 5, 10, 20, 50, 100) if n <= MAX_TICKS * s), 10 ** math.ceil(math.log10(n / 10)))
    first = -(-start // step) * step
    return np.arange(first, start + n, step)


def grid_style(ax, H, W, *, row0=0, col0=0, title=None):
    """Cell-index ticks, thin cell borders, no spines: a table more than a plot."""
    ax.set_xticks(_index_ticks(col0, W))
    ax.set_yticks(_index_ticks(row0, H))
    ax.tick_params(length=0, labelsize=TICK_FONT, pad=2)
    ax.set_xticks(np.arange(col0, col0 + W + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(row0, row0 + H + 1) - 0.5, minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", color="white", linewidth=0.8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=TITLE_FONT)


def colorbar(im, ax, label, **kwargs):
    """A colour bar beside ``ax`` (an Axes or a list of them) that says what the colour means; returns it."""
    cb = ax[0].figure.colorbar(im, ax=ax, **kwargs) if isinstance(ax, list) else \
        ax.figure.colorbar(im, ax=ax, **kwargs)
    cb.set_label(label, fontsize=TICK_FONT)
    cb.ax.tick_params(labelsize=TICK_FONT)
    return cb
