"""Figures of the windows over an input: every window outlined, and one window's forward and backward."""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Polygon, Rectangle

from .. import max_pool as _max
from ..checks import check_array
from ..geometry import pool_geometry
from ..reference import max_winners
from ..style import (OKABE_ITO, OUTSIDE_COLOR, PAD_COLOR, TICK_FONT, TITLE_FONT, GAP_COLOR, GAP_MARK_COLOR, INPUT_CMAP, SELECT_COLOR, WINDOW_COLORS, format_value, grad_norm,
                     padded_grid, select_effects, value_norm, window_color)
from .cells import grid_figsize, grid_style, heatmap, new_axes, with_padding_colour

__all__ = ["covered_inputs", "plot_axis_windows", "plot_window_steps", "plot_windows", "window_outlines"]


def _window_rects(geom):
    """Bounding box ``(top, left, height, width, k)`` of every window, row-major, inset by colour ``k`` (0-3,
    alternating along rows and columns) so overlapping outlines separate."""
    rects = []
    for oh, r0 in enumerate(geom.h.starts):
        for ow, c0 in enumerate(geom.w.starts):
            k = window_color(oh, ow)
            inset = _inset(k)
            rects.append((r0 - 0.5 + inset, c0 - 0.5 + inset, geom.h.span - 2 * inset, geom.w.span - 2 * inset, k))
    return rects


def _inset(k):
    return 0.03 + 0.04 * k  # small insets keep the outlines off the printed numbers


def _rect_segments(y, x, h, w):
    return [[(x, y), (x + w, y)], [(x + w, y), (x + w, y + h)], [(x + w, y + h), (x, y + h)], [(x, y + h), (x, y)]]


def _dilated(geom):
    return geom.h.dilation > 1 or geom.w.dilation > 1


def _member_rects(geom, oh, ow, inset):
    """``(top, left, height, width)`` of each member cell of window ``(oh, ow)``, inset by ``inset``."""
    return [(r - 0.5 + inset, c - 0.5 + inset, 1 - 2 * inset, 1 - 2 * inset)
            for r in geom.h.coords()[oh] for c in geom.w.coords()[ow]]


def window_outlines(ax, geom, *, linewidth=1.2, zorder=4):
    """Outline every window of ``geom`` on ``ax``; return the LineCollection.

    A contiguous window gets its bounding box. A dilated window gets each of its member cells outlined
    instead: a box around it would take in the inputs it skips. Windows alternate among four colours along
    rows and columns, each slightly inset, so the outlines of overlapping windows stay apart.
    """
    segments, colors = [], []
    if _dilated(geom):
        for oh in range(geom.h.out):
            for ow in range(geom.w.out):
                k = window_color(oh, ow)
                for rect in _member_rects(geom, oh, ow, _inset(k)):
                    segments += _rect_segments(*rect)
                    colors += [WINDOW_COLORS[k]] * 4
    else:
        for y0, x0, h, w, k in _window_rects(geom):
            segments += _rect_segments(y0, x0, h, w)
            colors += [WINDOW_COLORS[k]] * 4
    return ax.add_collection(LineCollection(segments, colors=colors, linewidths=linewidth, zorder=zorder))


def covered_inputs(geom):
    """Boolean (H, W): ``True`` for every input that at least one window contains.

    The others lie in the gaps (stride larger than the span, dilation, or a remainder that floor mode drops):
    no output depends on them, so they receive no gradient from any op.
    """
    H, W = geom.in_shape
    rows, cols = np.zeros(H, dtype=bool), np.zeros(W, dtype=bool)
    for axis, length, flags in ((geom.h, H, rows), (geom.w, W, cols)):
        c = axis.coords().ravel()
        flags[c[(c >= 0) & (c < length)]] = True
    return rows[:, None] & cols[None, :]


def plot_windows(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, selected=None, ax=None):
    """The input grid with its values, every max-pooling window outlined, and one window's maximum marked.

    Padding cells are grey and hatched (max pooling pads with -inf, so padding is never the maximum);
    ceil_mode's partial windows run off the padded grid; overlapping windows are drawn slightly inset in
    alternating colours so each outline stays visible. A dilated window is drawn as its member cells,
    each outlined, since a box around it would take in the inputs it skips. Inputs that no window
    contains (gaps: stride larger than the window, dilation, a remainder floor mode drops) are drawn
    white, their numbers kept, with a small x in a corner; the title counts them.

    Numbers are printed up to 12x12 inputs (8 pt; 9 pt up to 6x6), never smaller; a larger grid is drawn
    without them. Without ``ax`` the figure is sized for them (0.4 in per cell); a given ``ax`` needs about
    0.35 in per cell for "-0.54" to fit.

    Parameters
    ----------
    x : array_like of shape (H, W)
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`poolviz.max_pool2d`.
    selected : (int, int), optional
        Output indices ``(i, j)`` of the window drawn in the selection style (a white line in a black halo:
        its outline, or each of its member cells when dilated), with its maximum marked by a triangle in the
        cell's corner (the first maximum in row-major order, PyTorch's tie rule).
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
    H, W = x.shape
    ph, pw = geom.h.padding, geom.w.padding
    grid = padded_grid(x, geom)  # padding drawn grey; the cells beyond it (ceil_mode) stay paper-white
    if ax is None:
        ax = new_axes(figsize=grid_figsize(*grid.values.shape, title_lines=3))[0, 0]
    inner = (slice(0, H + 2 * ph), slice(0, W + 2 * pw))
    norm = value_norm(x)
    _, texts = heatmap(ax, grid.values[inner], INPUT_CMAP, norm,
                       extent=(-pw - 0.5, W + pw - 0.5, H + ph - 0.5, -ph - 0.5), blank=grid.blank[inner])
    if ph or pw:
        ring = Rectangle((-pw - 0.5, -ph - 0.5), W + 2 * pw, H + 2 * ph, fill=False, hatch="///",
                         edgecolor="#9e9e9e", linewidth=0, zorder=1.5)
        ax.add_patch(ring)
        ax.add_patch(Rectangle((-0.5, -0.5), W, H, fill=True, facecolor="none", edgecolor="black",
                               linewidth=1.0, zorder=2))
        # the hatch must not cover real cells: redraw them on top
        ax.imshow(np.ma.masked_invalid(np.asarray(x, dtype=float)), cmap=with_padding_colour(INPUT_CMAP), norm=norm,
                  extent=(-0.5, W - 0.5, H - 0.5, -0.5), interpolation="nearest", zorder=1.6)
        for t in texts:
            t.set_zorder(3)
    gaps = ~covered_inputs(geom)
    if gaps.any():
        _mark_gaps(ax, gaps, texts)
    window_outlines(ax, geom)
    (top, bottom), (left, right) = grid.rows, grid.cols
    ax.set_xlim(left - 0.1, right + 0.1)
    ax.set_ylim(bottom + 0.1, top - 0.1)
    grid_style(ax, H + 2 * ph, W + 2 * pw, row0=-ph, col0=-pw)
    Ho, Wo = geom.out_shape
    title = (f"{H}x{W} input, kernel {geom.kernel}, stride {(geom.h.stride, geom.w.stride)}"
             + (f", dilation {(geom.h.dilation, geom.w.dilation)}" if _dilated(geom) else "")
             + f"\n-> {Ho}x{Wo} windows")
    if selected is not None:
        i, j = (int(v) for v in selected)
        if not (0 <= i < Ho and 0 <= j < Wo):
            raise ValueError(f"selected={tuple(selected)} is outside the {Ho}x{Wo} output; "
                             f"use 0 <= i < {Ho} and 0 <= j < {Wo}.")
        r0, c0 = geom.h.starts[i], geom.w.starts[j]
        lw = 2.0
        if _dilated(geom):  # only the members: the skipped inputs between them are not in the window
            boxes = [Rectangle((c, r), w, h) for r, c, h, w in _member_rects(geom, i, j, 0.06)]
        else:
            boxes = [Rectangle((c0 - 0.5, r0 - 0.5), geom.w.span, geom.h.span)]
        for box in boxes:
            box.set(fill=False, edgecolor=SELECT_COLOR, linewidth=lw, zorder=5, path_effects=select_effects(lw))
            ax.add_patch(box)
        _, idx = _max.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
        mr, mc = divmod(int(idx[i, j]), W)
        # a corner triangle, not a centred symbol: the maximum's value must stay readable
        ax.add_patch(Polygon([(mc - 0.5, mr - 0.5), (mc - 0.08, mr - 0.5), (mc - 0.5, mr - 0.08)], closed=True,
                             facecolor=SELECT_COLOR, edgecolor=SELECT_COLOR, linewidth=0.8, zorder=6,
                             path_effects=select_effects(0.8)))
        title += f"; window {i, j}: max {format_value(x[mr, mc])} at {mr, mc}"
    if gaps.any():
        title += f"\nwhite, x: {np.count_nonzero(gaps)} inputs in no window (no gradient)"
    ax.set_title(title, fontsize=8)
    return ax


def plot_window_steps(window_values, grad=1.0, *, axes=None):
    """Forward and backward of one max-pooling window, in three steps: values in, max chosen, gradient back.

    Parameters
    ----------
    window_values : array_like of shape (kh, kw)
        One window's inputs.
    grad : float
        The upstream gradient ``g`` of this window's output.
    axes : sequence of 3 Axes, optional

    Returns
    -------
    list of 3 matplotlib Axes
        No colour bar: the values are printed in the cells.
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
    fs = 11 if max(kh, kw) <= 4 else None  # a single window: room for large numbers
    heatmap(axes[0], w, INPUT_CMAP, norm, fontsize=fs)
    grid_style(axes[0], kh, kw, title="1. forward: values in")
    heatmap(axes[1], w, INPUT_CMAP, norm, fontsize=fs)
    _select_cell(axes[1], r, c)
    ties = int(np.count_nonzero(w == w[r, c]))
    note = f" (first of {ties} ties)" if ties > 1 else ""
    grid_style(axes[1], kh, kw, title=f"2. max chosen: y = {format_value(w[r, c])}{note}")
    g = np.zeros_like(w)
    g[r, c] = grad
    cmap, gnorm = grad_norm(g)
    heatmap(axes[2], g, cmap, gnorm, fontsize=fs)
    _select_cell(axes[2], r, c)
    grid_style(axes[2], kh, kw, title=f"3. backward: g = {format_value(grad)} goes\nto the max, 0 elsewhere")
    return axes


def _select_cell(ax, r, c, lw=2.5):
    """Outline cell ``(r, c)`` in the selection style: a white line in a black halo."""
    ax.add_patch(Rectangle((c - 0.46, r - 0.46), 0.92, 0.92, fill=False, edgecolor=SELECT_COLOR, linewidth=lw,
                           zorder=5, path_effects=select_effects(lw)))


def _mark_gaps(ax, gaps, texts):
    """Paint the input cells in no window (``gaps``, (H, W) bool) white, with a small cross in their corner.

    White takes them out of the picture (no window reads them); the cross keeps them apart from a light
    cell of the colour map in greyscale. Their numbers stay, in black.
    """
    rows, cols = np.nonzero(gaps)
    ax.add_collection(PatchCollection([Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in zip(rows, cols)],
                                      facecolor=GAP_COLOR, edgecolor="none", zorder=1.7))
    ax.plot(cols - 0.3, rows - 0.3, linestyle="none", marker="x", markersize=4, markeredgewidth=1.2,
            color=GAP_MARK_COLOR, zorder=1.8)
    for t in texts:
        c, r = t.get_position()
        if gaps[round(r), round(c)]:
            t.set_color("black")


def plot_axis_windows(length, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, cells=None,
                      rows=None, ax=None):
    """The windows along one axis: input indices on top, then one row per window with its members only.

    The top row numbers the cells of the axis: the input ``0 .. length-1``, the padding (grey, hatched) and
    any cells beyond the padding (dotted), which only a ``ceil_mode`` window or the next window reaches. Row
    ``i + 1`` marks the ``kernel_size`` members of window ``i`` (``dilation - 1`` cells apart), and a dashed
    last row, *next*, the window ``i = L_out`` that is not counted. The geometry is poolviz's
    (:func:`poolviz.geometry.pool_geometry`, PyTorch's rule), so the picture checks a rule derived elsewhere.

    Parameters
    ----------
    length : int
        The axis's length ``L``.
    kernel_size, stride, padding, dilation, ceil_mode
        As in ``max_pool1d``; ``stride=None`` means the kernel size.
    cells : (int, int), optional
        The range ``[lo, hi)`` of cell indices drawn; several panels with the same range share a scale.
    rows : int, optional
        Rows of windows to leave room for (at least the windows plus *next*), to align several panels.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    geom = pool_geometry((length,), kernel_size, stride, padding, dilation, ceil_mode, dims=1).w
    s, p, d, k = geom.stride, geom.padding, geom.dilation, geom.kernel
    members = list(geom.coords()) + [geom.out * s - p + d * np.arange(k)]   # the windows, then the next one
    last = max(length + p, int(members[-1][-1]) + 1)
    lo, hi = cells or (-p, last)
    if ax is None:
        ax = new_axes(figsize=(min(10.0, 0.4 * (hi - lo) + 1.4), 0.4 * (len(members) + 1) + 0.7))[0, 0]
    for c in range(-p, last):
        padding_cell, beyond = not 0 <= c < length, c >= length + p
        hatched = padding_cell and not beyond  # a hatch takes the edge colour: a light one keeps the index legible
        ax.add_patch(Rectangle((c - 0.5, -0.5), 1, 1, linestyle=":" if beyond else "-",
                               facecolor=OUTSIDE_COLOR if beyond else PAD_COLOR if padding_cell else "white",
                               edgecolor="0.65" if hatched else "0.45", hatch="///" if hatched else None))
        ax.text(c, 0, str(c), ha="center", va="center", fontsize=TICK_FONT, color="0.3" if padding_cell else "black")
    for i, row in enumerate(members, start=1):
        is_next = i == len(members)
        for c in row:
            ax.add_patch(Rectangle((c - 0.4, i - 0.4), 0.8, 0.8, facecolor="none" if is_next else OKABE_ITO[3],
                                   edgecolor="0.3" if is_next else OKABE_ITO[3], linestyle="--" if is_next else "-"))
    labels = ["input index"] + [f"window {i}" for i in range(len(members) - 1)] + ["next"]
    ax.set_yticks(range(len(members) + 1), labels, fontsize=TICK_FONT)
    ax.tick_params(length=0)
    ax.set_xticks([])
    ax.set_xlim(lo - 0.6, hi - 0.4)
    ax.set_ylim(max(rows or 0, len(members)) + 0.5, -0.5)
    ax.set_aspect("equal")
    ax.spines[:].set_visible(False)
    options = f"L={length}, k={k}, s={s}" + (f", p={p}" if p else "") + (f", d={d}" if d > 1 else "")
    ax.set_title(options + (", ceil_mode" if ceil_mode else "") + f"\n{geom.out} windows", fontsize=TITLE_FONT)
    return ax
