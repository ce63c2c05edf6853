"""Static figures: pooling windows, routed gradients, Jacobians, and tie policies.

Every function follows matplotlib's ``plotter(ax, data) -> artists`` pattern: it draws onto the
``ax`` (or ``axes``) it is given and returns what it drew. When none is given it builds a new
:class:`matplotlib.figure.Figure` *without pyplot*, so nothing is registered globally and nothing
leaks; show it by ending a notebook cell with ``ax.figure`` (or ``display(ax.figure)``)::

    ax = plot_windows(x, kernel_size=2, stride=1, selected=(0, 1))
    ax.figure

No ``plt.show()``, no ``savefig``, no rcParams changed at import.

Colours, colour scales (NaN- and infinity-safe), text colour and number formatting come from
:mod:`poolviz.style`, which the explorers use too; the reasons for each colormap are written there.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from . import max_pool as _max
from .checks import check_array
from .geometry import pool_geometry
from .ops import get_op
from .reference import max_winners
from .routing import contributions, jacobian, run_pool
from .style import (  # noqa: F401  (GRAD_CMAP, SIGNED_CMAP and grad_norm used to live here)
    GRAD_CMAP,
    INPUT_CMAP,
    OKABE_ITO,
    PAD_COLOR,
    SELECT_COLOR,
    SIGNED_CMAP,
    WINDOW_COLORS,
    format_value,
    grad_norm,
    gradient_sum_check,
    is_light,
    padded_grid,
    value_norm,
    window_color,
)
from .ties import TIE_POLICIES, tie_policy_gradients

__all__ = [
    "plot_jacobian",
    "plot_pooling_comparison",
    "plot_route_counts",
    "plot_routed_gradient",
    "plot_tie_policies",
    "plot_window_steps",
    "plot_windows",
]

MAX_LABELLED = 144  # print values in cells only up to 12x12; beyond that the digits are unreadable


def _new_axes(nrows=1, ncols=1, figsize=None, **subplot_kw):
    """Axes on a new pyplot-free Figure (nothing registered with pyplot, so nothing leaks)."""
    if figsize is None:
        figsize = (3.2 * ncols, 3.2 * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw)
    return axes


def _heatmap(ax, values, cmap, norm, *, labels=True, extent=None, fontsize=None, blank=None):
    """Draw ``values`` (H, W) as cells centred on integer coordinates; return (image, list of texts).

    Cells marked in ``blank`` (padding) are grey without a number; a NaN or an infinity in the data is
    drawn grey too, and printed ("nan", "-inf"), so it is never mistaken for a value on the scale.
    """
    values = np.asarray(values, dtype=float)
    H, W = values.shape
    cmap = _get_cmap(cmap)
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


def _get_cmap(cmap):
    import matplotlib

    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    return cm.with_extremes(bad=PAD_COLOR)


def _grid_style(ax, H, W, *, row0=0, col0=0, title=None):
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
        ax = _new_axes()[0, 0]
    H, W = x.shape
    ph, pw = geom.h.padding, geom.w.padding
    grid = padded_grid(x, geom)  # padding drawn grey; the cells beyond it (ceil_mode) stay paper-white
    inner = (slice(0, H + 2 * ph), slice(0, W + 2 * pw))
    norm = value_norm(x)
    _heatmap(ax, grid.values[inner], INPUT_CMAP, norm, extent=(-pw - 0.5, W + pw - 0.5, H + ph - 0.5, -ph - 0.5),
             blank=grid.blank[inner])
    if ph or pw:
        ring = Rectangle((-pw - 0.5, -ph - 0.5), W + 2 * pw, H + 2 * ph, fill=False, hatch="///",
                         edgecolor="#9e9e9e", linewidth=0, zorder=1.5)
        ax.add_patch(ring)
        ax.add_patch(Rectangle((-0.5, -0.5), W, H, fill=True, facecolor="none", edgecolor="black",
                               linewidth=1.0, zorder=2))
        # the hatch must not cover real cells: redraw them on top
        ax.imshow(np.ma.masked_invalid(np.asarray(x, dtype=float)), cmap=_get_cmap(INPUT_CMAP), norm=norm,
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
    _grid_style(ax, H + 2 * ph, W + 2 * pw, row0=-ph, col0=-pw)
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


def plot_routed_gradient(dx, counts=None, *, ax=None, vmax=None):
    """Heatmap of what each input receives (``dx``), with the number of windows that route to it.

    Parameters
    ----------
    dx : array_like of shape (H, W)
        The input gradient, e.g. ``poolviz.max_pool2d_backward(grad_output, x, ...)``.
    counts : array_like of int, shape (H, W), optional
        How many output cells send gradient to each input (:func:`poolviz.routing.route_counts`).
        Cells reached by two or more windows get a thick outline and an "xN" tag, so an overlapping
        maximum that receives two gradients stands out.
    ax : matplotlib Axes, optional
    vmax : float, optional
        Top of the colour scale; pass the same value to several panels to compare them fairly.

    Returns
    -------
    matplotlib Axes
        The heatmap's Axes. Its colorbar is added to the same figure (``ax.figure``), beside ``ax``; it is
        not returned.
    """
    dx = np.asarray(dx, dtype=float)
    if dx.ndim != 2:
        raise ValueError(f"dx must be a single 2-d gradient of shape (H, W), got shape {dx.shape}.")
    if ax is None:
        ax = _new_axes()[0, 0]
    cmap, norm = grad_norm(dx, vmax=vmax)
    im, _ = _heatmap(ax, dx, cmap, norm)
    H, W = dx.shape
    _grid_style(ax, H, W)
    reached = np.count_nonzero(dx)
    title = f"gradient each input receives\n{reached} of {dx.size} inputs reached ({reached / dx.size:.0%})"
    if counts is not None:
        counts = np.asarray(counts)
        if counts.shape != dx.shape:
            raise ValueError(f"counts has shape {counts.shape}, but dx has shape {dx.shape}.")
        for (i, j), n in np.ndenumerate(counts):
            if n >= 2:
                ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor=OKABE_ITO[1],
                                       linewidth=2.5, zorder=4))
                ax.text(j + 0.42, i - 0.42, f"x{n}", ha="right", va="top", fontsize=6, color="black",
                        fontweight="bold", zorder=5, bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                                           "edgecolor": "none"})
        if (counts >= 2).any():
            title += "\nboxed: reached by 2+ windows"
    ax.set_title(title, fontsize=8)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def plot_pooling_comparison(x, kernel_size, stride=None, *, beta=1.0, grad_output=None, axes=None):
    """Input gradients of max, average and LogSumExp pooling side by side, on one fixed colour scale.

    With average pooling every input of a k x k window gets ``1/k^2`` of its gradient; a shared scale
    (not one per panel) keeps that small next to max pooling's all-or-nothing 1.

    Parameters
    ----------
    x : array_like of shape (H, W)
    kernel_size, stride : int or (int, int)
    beta : float
        LogSumExp sharpness: small -> average, large -> max.
    grad_output : array_like of shape (H_out, W_out), optional
        Defaults to all ones.
    axes : sequence of 3 Axes, optional

    Returns
    -------
    list of 3 matplotlib Axes
        The three heatmaps' Axes. The shared colorbar is added to their figure (``axes[0].figure``), to the
        right of all three; it is not returned.
    """
    x = check_array(x)
    if x.ndim != 2:
        raise ValueError(f"plot_pooling_comparison draws a single 2-d input of shape (H, W), got shape {x.shape}.")
    if axes is not None:
        axes = list(axes)
        if len(axes) != 3:
            raise ValueError(f"plot_pooling_comparison draws 3 panels; got {len(axes)} axes.")
    runs = [run_pool(op, x, kernel_size, stride, grad_output=grad_output, **kw)
            for op, kw in (("max", {}), ("avg", {}), ("lse", {"beta": beta}))]
    if axes is None:
        axes = list(_new_axes(1, 3, figsize=(9.6, 3.4))[0])
    cmap, norm = grad_norm(*(r.dx for r in runs))
    titles = ["max: all to the winner", "average: 1/k^2 to each", f"LogSumExp, beta={beta:g}: softmax weights"]
    im = None
    for ax, run, title in zip(axes, runs, titles):
        im, _ = _heatmap(ax, run.dx, cmap, norm)
        _grid_style(ax, *run.dx.shape, title=f"{title}\nreached {np.count_nonzero(run.dx)}/{run.dx.size}")
    axes[0].figure.colorbar(im, ax=axes, shrink=0.8, label="dx (one shared scale)")
    return axes


def plot_jacobian(op, x, kernel_size, stride=None, *, ax=None, **options):
    """The Jacobian of a pooling layer as a matrix picture: one row per output, one column per input.

    Max pooling gives a 0/1 selection matrix (one 1 per row, at the window's maximum); average pooling a
    banded matrix (``1/k^2`` across each window).

    Parameters
    ----------
    op : str or poolviz forward function
        ``"max"``, ``"avg"``, ``"lse"``, ``"lp"``, ``"soft"``, ``"stochastic"``.
    x : array_like of shape (H, W), or a shape tuple (H, W)
        Given a shape, a seeded random input is used.
    kernel_size, stride : int or (int, int)
    ax : matplotlib Axes, optional
    **options
        The op's options (``padding``, ``dilation``, ``beta``, ...), as in :func:`poolviz.routing.run_pool`.

    Returns
    -------
    matplotlib Axes
        The matrix's Axes. Its colorbar is added to the same figure (``ax.figure``), beside ``ax``; it is
        not returned.
    """
    J = jacobian(op, x, kernel_size, stride, **options)
    if ax is None:
        n_out, n_in = J.shape
        ax = _new_axes(figsize=(min(10, 2 + n_in * 0.22), min(8, 1.5 + n_out * 0.22)))[0, 0]
    cmap, norm = grad_norm(J)
    im = ax.imshow(J, cmap=cmap, norm=norm, interpolation="nearest", aspect="equal")
    ax.set_xlabel("input (row-major index)", fontsize=8)
    ax.set_ylabel("output (row-major index)", fontsize=8)
    ax.tick_params(labelsize=7)
    n_out, n_in = J.shape
    ax.set_xticks(np.arange(-0.5, n_in, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_out, 1), minor=True)
    ax.grid(which="minor", color="#eeeeee", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"Jacobian of {get_op(op).label}: {n_out} outputs x {n_in} inputs", fontsize=9)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
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
        axes = list(_new_axes(1, 3, figsize=(8.4, 3.4))[0])
    axes = list(axes)
    if len(axes) != 3:
        raise ValueError(f"plot_window_steps draws 3 panels; got {len(axes)} axes.")
    kh, kw = w.shape
    (first,), _ = max_winners(list(w.ravel()))  # the first maximum in row-major order (a NaN: the last NaN)
    r, c = divmod(first, kw)
    norm = value_norm(w)
    _heatmap(axes[0], w, INPUT_CMAP, norm, fontsize=11)
    _grid_style(axes[0], kh, kw, title="1. forward: values in")
    _heatmap(axes[1], w, INPUT_CMAP, norm, fontsize=11)
    axes[1].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=3))
    ties = int(np.count_nonzero(w == w[r, c]))
    note = f" (first of {ties} ties)" if ties > 1 else ""
    _grid_style(axes[1], kh, kw, title=f"2. max chosen: y = {format_value(w[r, c])}{note}")
    g = np.zeros_like(w)
    g[r, c] = grad
    cmap, gnorm = grad_norm(g)
    _heatmap(axes[2], g, cmap, gnorm, fontsize=11)
    axes[2].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=3))
    _grid_style(axes[2], kh, kw, title=f"3. backward: dy = {format_value(grad)} goes\nto the max, 0 elsewhere")
    return axes


def plot_tie_policies(x, kernel_size, stride=None, *, grad_output=None, axes=None, **options):
    """Max pooling's input gradient under three tie rules, with each gradient's sum against the upstream sum.

    ``"first"`` (PyTorch, TensorFlow CPU) and ``"split"`` (a valid subgradient) hand back exactly the upstream
    gradient; ``"all"`` (full gradient to every tied maximum) hands back a different amount (more, or less when
    the upstream gradient is negative), which is why it is wrong. The check is
    :func:`poolviz.routing.gradient_sum_check`.

    Parameters
    ----------
    x : array_like of shape (H, W)
    kernel_size, stride : int or (int, int)
    grad_output : array_like of shape (H_out, W_out), optional
        Defaults to all ones.
    axes : sequence of 3 Axes, optional
    **options
        ``padding``, ``dilation``, ``ceil_mode`` as in :func:`poolviz.max_pool2d`.

    Returns
    -------
    list of 3 matplotlib Axes
        The three heatmaps' Axes. The shared colorbar is added to their figure (``axes[0].figure``), to the
        right of all three; it is not returned.

    Raises
    ------
    ValueError
        Invalid pooling arguments, or a window that contains NaN (a tie rule has nothing to compare).
    """
    if axes is not None:
        axes = list(axes)
        if len(axes) != 3:
            raise ValueError(f"plot_tie_policies draws 3 panels; got {len(axes)} axes.")
    dxs = [tie_policy_gradients(x, kernel_size, stride, p, grad_output, **options) for p in TIE_POLICIES]
    geom = pool_geometry(np.shape(x), kernel_size, stride, options.get("padding", 0), options.get("dilation", 1),
                         options.get("ceil_mode", False))
    upstream = np.ones(geom.out_shape) if grad_output is None else grad_output
    if axes is None:
        axes = list(_new_axes(1, 3, figsize=(9.6, 3.6))[0])
    cmap, norm = grad_norm(*dxs)
    names = {"first": "first maximum (PyTorch)", "split": "split among ties", "all": "all ties get it all"}
    im = None
    for ax, policy, dx in zip(axes, TIE_POLICIES, dxs):
        im, _ = _heatmap(ax, dx, cmap, norm)
        text, ok = gradient_sum_check(dx, upstream)
        verdict = text.replace(": ", ":\n")  # "not a gradient" on a line of its own: the panel is narrow
        _grid_style(ax, *dx.shape, title=f"{names[policy]}\n{verdict}")
        if not ok:
            ax.title.set_color(SELECT_COLOR)
    axes[0].figure.colorbar(im, ax=axes, shrink=0.8)
    return axes


def plot_route_counts(op, x, kernel_size, stride=None, *, ax=None, grad_output=None, **options):
    """Convenience: run ``op``'s backward and draw :func:`plot_routed_gradient` with the window counts.

    The counts come from the same run as the heatmap (for stochastic pooling, the same sample).
    Returns the heatmap's Axes; as there, its colorbar is added to the same figure and not returned.
    """
    run = run_pool(op, x, kernel_size, stride, grad_output=grad_output, **options)
    if run.indices is not None:  # an op that samples: count the windows of this very sample
        options = dict(options, indices=run.indices)
    counts = np.count_nonzero(contributions(op, x, kernel_size, stride, **options), axis=0)
    return plot_routed_gradient(run.dx, counts, ax=ax)
