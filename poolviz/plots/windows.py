"""Figures of the windows over an input: every window outlined, and one window's forward and backward."""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Polygon, Rectangle

from .. import max_pool as _max
from ..checks import check_array
from ..geometry import pool_geometry
from ..reference import max_winners
from ..style import INPUT_CMAP, SELECT_COLOR, WINDOW_COLORS, format_value, grad_norm, padded_grid, value_norm, window_color
from .cells import grid_style, heatmap, new_axes, with_padding_colour

__all__ = ["plot_window_steps", "plot_windows"]


def _window_rects(geom):
    """Bounding box ``(top, left, height, width, k)`` of every window, row-major, inset by colour ``k`` (0-3,
    alternating along rows and columns) so overlapping outlines separate."""
    rects = []
    for oh, r0 in enumerate(geom.h.starts):
        for ow, c0 in enumerate(geom.w.starts):
            k = window_color(oh, ow)
            inset = 0.03 + 0.04 * k  # small insets keep the outlines off the printed numbers
            rects.append((r0 - 0.5 + inset, c0 - 0.5 + inset, geom.h.span - 2 * inset, geom.w.span - 2 * inset, k))
    return rects


def _rect_segments(y, x, h, w):
    return [[(x, y), (x + w, y)], [(x + w, y), (x + w, y + h)], [(x + w, y + h), (x, y + h)], [(x, y + h), (x, y)]]


def plot_windows(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, selected=None, ax=None):
    """The input grid with its values, every max-pooling window outlined, and one window's maximum marked.

    Padding cells are grey and hatched (max pooling pads with -inf, so padding is never the maximum);
    ceil_mode's partial windows run off the padded grid; overlapping windows are drawn slightly inset in
    alternating colours so each outline stays visible; with dilation, the selected window's members are
    the marked cells inside its outline.

    Parameters
    ----------
    x : array_like of shape (H, W)
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`poolviz.max_pool2d`.
    selected : (int, int), optional
        Output cell ``(i, j)`` whose window is drawn thick, its members dotted and its maximum marked by
        a triangle in the cell's corner (the first maximum in row-major order, PyTorch's tie rule).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError, TypeError
        Invalid pooling arguments (the op's own message), or ``selected`` outside the output.
    """
    x = check_array(x)
    if x.ndim != 2:
        raise ValueError(f"plot_windows draws a single 2-d input of shape (H, W), got shape {x.shape}.")
    geom = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    if ax is None:
        ax = new_axes()[0, 0]
    H, W = x.shape
    ph, pw = geom.h.padding, geom.w.padding
    grid = padded_grid(x, geom)  # padding drawn grey; the cells beyond it (ceil_mode) stay paper-white
    inner = (slice(0, H + 2 * ph), slice(0, W + 2 * pw))
    norm = value_norm(x)
    heatmap(ax, grid.values[inner], INPUT_CMAP, norm, extent=(-pw - 0.5, W + pw - 0.5, H + ph - 0.5, -ph - 0.5),
             blank=grid.blank[inner])
    if ph or pw:
        ring = Rectangle((-pw - 0.5, -ph - 0.5), W + 2 * pw, H + 2 * ph, fill=False, hatch="///",
                         edgecolor="#9e9e9e", linewidth=0, zorder=1.5)
        ax.add_patch(ring)
        ax.add_patch(Rectangle((-0.5, -0.5), W, H, fill=True, facecolor="none", edgecolor="black",
                               linewidth=1.0, zorder=2))
        # the hatch must not cover real cells: redraw them on top
        ax.imshow(np.ma.masked_invalid(np.asarray(x, dtype=float)), cmap=with_padding_colour(INPUT_CMAP), norm=norm,
                  extent=(-0.5, W - 0.5, H - 0.5, -0.5), interpolation="nearest", zorder=1.6)
        for t in ax.texts:
            t.set_zorder(3)
    segments, seg_colors = [], []
    for y0, x0, h, w, k in _window_rects(geom):
        segments += _rect_segments(y0, x0, h, w)
        seg_colors += [WINDOW_COLORS[k]] * 4
    ax.add_collection(LineCollection(segments, colors=seg_colors, linewidths=1.2, zorder=4))
    (top, bottom), (left, right) = grid.rows, grid.cols
    ax.set_xlim(left - 0.1, right + 0.1)
    ax.set_ylim(bottom + 0.1, top - 0.1)
    grid_style(ax, H + 2 * ph, W + 2 * pw, row0=-ph, col0=-pw)
    Ho, Wo = geom.out_shape
    title = (f"{H}x{W} input, kernel {geom.kernel}, stride {(geom.h.stride, geom.w.stride)}"
             f"\n-> {Ho}x{Wo} windows")
    if selected is not None:
        i, j = (int(v) for v in selected)
        if not (0 <= i < Ho and 0 <= j < Wo):
            raise ValueError(f"selected={tuple(selected)} is outside the {Ho}x{Wo} output; "
                             f"use 0 <= i < {Ho} and 0 <= j < {Wo}.")
        r0, c0 = geom.h.starts[i], geom.w.starts[j]
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), geom.w.span, geom.h.span, fill=False,
                               edgecolor=SELECT_COLOR, linewidth=3, zorder=5))
        rr, cc = np.meshgrid(geom.h.coords()[i], geom.w.coords()[j], indexing="ij")
        ax.plot(cc.ravel() + 0.33, rr.ravel() - 0.33, "o", color=SELECT_COLOR, markersize=3, zorder=5)
        _, idx = _max.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
        mr, mc = divmod(int(idx[i, j]), W)
        # a corner triangle, not a centred symbol: the maximum's value must stay readable
        ax.add_patch(Polygon([(mc - 0.5, mr - 0.5), (mc - 0.1, mr - 0.5), (mc - 0.5, mr - 0.1)], closed=True,
                             facecolor=SELECT_COLOR, edgecolor="white", linewidth=0.8, zorder=6))
        title += f"; window {i, j}: max {format_value(x[mr, mc])} at {mr, mc}"
    ax.set_title(title, fontsize=8)
    return ax


def plot_window_steps(window_values, grad=1.0, *, axes=None):
    """Forward and backward of one max-pooling window, in three steps: values in, max chosen, gradient back.

    Parameters
    ----------
    window_values : array_like of shape (kh, kw)
        One window's inputs.
    grad : float
        The upstream gradient of this window's output.
    axes : sequence of 3 Axes, optional

    Returns
    -------
    list of 3 matplotlib Axes
    """
    w = check_array(window_values).astype(float)
    if w.ndim != 2:
        raise ValueError(f"window_values must be one window of shape (kh, kw), got shape {w.shape}.")
    if axes is None:
        axes = list(new_axes(1, 3, figsize=(8.4, 3.4))[0])
    axes = list(axes)
    if len(axes) != 3:
        raise ValueError(f"plot_window_steps draws 3 panels; got {len(axes)} axes.")
    kh, kw = w.shape
    (first,), _ = max_winners(list(w.ravel()))  # the first maximum in row-major order (a NaN: the last NaN)
    r, c = divmod(first, kw)
    norm = value_norm(w)
    heatmap(axes[0], w, INPUT_CMAP, norm, fontsize=11)
    grid_style(axes[0], kh, kw, title="1. forward: values in")
    heatmap(axes[1], w, INPUT_CMAP, norm, fontsize=11)
    axes[1].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=3))
    ties = int(np.count_nonzero(w == w[r, c]))
    note = f" (first of {ties} ties)" if ties > 1 else ""
    grid_style(axes[1], kh, kw, title=f"2. max chosen: y = {format_value(w[r, c])}{note}")
    g = np.zeros_like(w)
    g[r, c] = grad
    cmap, gnorm = grad_norm(g)
    heatmap(axes[2], g, cmap, gnorm, fontsize=11)
    axes[2].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=3))
    grid_style(axes[2], kh, kw, title=f"3. backward: dy = {format_value(grad)} goes\nto the max, 0 elsewhere")
    return axes
