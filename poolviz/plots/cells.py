"""Labelled cell grids on matplotlib Axes: the drawing every static figure shares."""
from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..style import PAD_COLOR, format_value, is_light

__all__ = ["MAX_LABELLED", "grid_style", "heatmap", "new_axes", "with_padding_colour"]

MAX_LABELLED = 144  # print values in cells only up to 12x12; beyond that the digits are unreadable


def new_axes(nrows=1, ncols=1, figsize=None, **subplot_kw):
    """Axes on a new pyplot-free Figure (nothing registered with pyplot, so nothing leaks)."""
    if figsize is None:
        figsize = (3.2 * ncols, 3.2 * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw)
    return axes


def heatmap(ax, values, cmap, norm, *, labels=True, extent=None, fontsize=None, blank=None):
    """Draw ``values`` (H, W) as cells centred on integer coordinates; return (image, list of texts).

    Cells marked in ``blank`` (padding) are grey without a number; a NaN or an infinity in the data is
    drawn grey too, and printed ("nan", "-inf"), so it is never mistaken for a value on the scale.
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
        fs = fontsize or (9 if max(H, W) <= 6 else 7)
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


def grid_style(ax, H, W, *, row0=0, col0=0, title=None):
    """Cell-index ticks, thin cell borders, no spines: a table more than a plot."""
    ax.set_xticks(np.arange(col0, col0 + W))
    ax.set_yticks(np.arange(row0, row0 + H))
    ax.tick_params(length=0, labelsize=7)
    ax.set_xticks(np.arange(col0, col0 + W + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(row0, row0 + H + 1) - 0.5, minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", color="white", linewidth=0.8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
