"""Figures of where the gradient goes: heatmaps of dx, window counts, ops and tie rules side by side, Jacobians."""
from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ..checks import check_array
from ..geometry import pool_geometry
from ..ops import get_op
from ..routing import contributions, fraction_reached, jacobian, run_pool
from ..style import OKABE_ITO, TICK_FONT, TITLE_FONT, grad_norm, gradient_sum_check
from ..ties import TIE_POLICIES, tie_policy_gradients
from .cells import colorbar, grid_figsize, grid_style, heatmap, new_axes
from .windows import window_outlines

__all__ = ["plot_jacobian", "plot_pooling_comparison", "plot_route_counts", "plot_routed_gradient",
           "plot_tie_policies"]


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
        The heatmap's Axes. Its colorbar ("gradient received") is added to the same figure (``ax.figure``),
        beside ``ax``; it is not returned.

    Numbers are printed in grids up to 12x12 (8 pt; 9 pt up to 6x6), never smaller: a larger grid has none.
    Without ``ax`` the figure is sized for them (0.4 in per cell); a given ``ax`` needs about 0.35 in per cell.
    The title gives the fraction reached: the share of inputs with a nonzero gradient.
    """
    dx = np.asarray(dx, dtype=float)
    if dx.ndim != 2:
        raise ValueError(f"dx must be a single 2-d gradient of shape (H, W), got shape {dx.shape}.")
    H, W = dx.shape
    if ax is None:
        ax = new_axes(figsize=grid_figsize(H, W, colorbar=True, title_lines=3))[0, 0]
    cmap, norm = grad_norm(dx, vmax=vmax)
    im, _ = heatmap(ax, dx, cmap, norm)
    grid_style(ax, H, W)
    reached = np.count_nonzero(dx)
    title = (f"gradient each input receives\nfraction reached: {reached} of {dx.size} inputs "
             f"({fraction_reached(dx):.0%})")
    if counts is not None:
        counts = np.asarray(counts)
        if counts.shape != dx.shape:
            raise ValueError(f"counts has shape {counts.shape}, but dx has shape {dx.shape}.")
        for (i, j), n in np.ndenumerate(counts):
            if n >= 2:
                ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor=OKABE_ITO[1],
                                       linewidth=2.5, zorder=4))
                ax.text(j + 0.42, i - 0.42, f"x{n}", ha="right", va="top", fontsize=TICK_FONT, color="black",
                        fontweight="bold", zorder=5, bbox={"boxstyle": "square,pad=0.05", "facecolor": "white",
                                                           "edgecolor": "none"})
        if (counts >= 2).any():
            title += "\nboxed: reached by 2+ windows"
    ax.set_title(title, fontsize=8)
    colorbar(im, ax, "gradient received", shrink=0.8)
    return ax


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
        The three heatmaps' Axes. The shared colorbar ("gradient received") is added to their figure
        (``axes[0].figure``), to the right of all three; it is not returned.

    Numbers are printed in grids up to 12x12 (8 pt; 9 pt up to 6x6), never smaller: a larger grid has none.
    Without ``axes`` the figure is sized for them (0.4 in per cell). Each title gives the fraction reached:
    how many inputs get a nonzero gradient.
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
        axes = list(new_axes(1, 3, figsize=grid_figsize(*x.shape, ncols=3, colorbar=True))[0])
    cmap, norm = grad_norm(*(r.dx for r in runs))
    titles = ["max: all to the winner", "average: 1/k^2 to each", f"LogSumExp, beta={beta:g}: softmax weights"]
    im = None
    for ax, run, title in zip(axes, runs, titles):
        im, _ = heatmap(ax, run.dx, cmap, norm)
        grid_style(ax, *run.dx.shape, title=f"{title}\nfraction reached {np.count_nonzero(run.dx)}/{run.dx.size}")
    colorbar(im, axes, "gradient received (one scale)", shrink=0.8)
    return axes


def plot_tie_policies(x, kernel_size, stride=None, *, grad_output=None, axes=None, **options):
    """Max pooling's input gradient under three tie rules, with each gradient's sum against the upstream sum.

    Each panel outlines the pooling windows (as :func:`poolviz.plots.plot_windows` does), so a tie can be read
    as the inputs of one window that share its gradient, or that each get all of it.

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
        The three heatmaps' Axes. The shared colorbar ("gradient received") is added to their figure
        (``axes[0].figure``), to the right of all three; it is not returned. A panel whose rule is not a
        gradient has its title in bold.

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
    H, W = np.shape(x)
    if axes is None:
        axes = list(new_axes(1, 3, figsize=grid_figsize(H, W, ncols=3, colorbar=True))[0])
    cmap, norm = grad_norm(*dxs)
    names = {"first": "first maximum (PyTorch)", "split": "split among ties", "all": "all ties get it all"}
    im = None
    for ax, policy, dx in zip(axes, TIE_POLICIES, dxs):
        im, _ = heatmap(ax, dx, cmap, norm)
        text, ok = gradient_sum_check(dx, upstream)
        verdict = text.replace(": ", ":\n")  # "not a gradient" on a line of its own: the panel is narrow
        grid_style(ax, H, W, title=f"{names[policy]}\n{verdict}")
        if not ok:
            ax.title.set_fontweight("bold")
        window_outlines(ax, geom, linewidth=1.5)
        ax.set_xlim(-0.5, W - 0.5)  # a window that reaches into the padding is cut at the input's edge
        ax.set_ylim(H - 0.5, -0.5)
    colorbar(im, axes, "gradient received", shrink=0.8)
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
        The matrix's Axes. Its colorbar ("derivative of output by input") is added to the same figure
        (``ax.figure``), beside ``ax``; it is not returned. Without ``ax`` the figure grows with the matrix
        (0.22 in per entry, up to 10 x 8 in).
    """
    J = jacobian(op, x, kernel_size, stride, **options)
    if ax is None:
        n_out, n_in = J.shape
        ax = new_axes(figsize=(min(10, 2 + n_in * 0.22), min(8, 1.5 + n_out * 0.22)))[0, 0]
    cmap, norm = grad_norm(J)
    im = ax.imshow(J, cmap=cmap, norm=norm, interpolation="nearest", aspect="equal")
    ax.set_xlabel("input (row-major index)", fontsize=TICK_FONT)
    ax.set_ylabel("output (row-major index)", fontsize=TICK_FONT)
    ax.tick_params(labelsize=TICK_FONT)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    n_out, n_in = J.shape
    ax.set_xticks(np.arange(-0.5, n_in, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_out, 1), minor=True)
    ax.grid(which="minor", color="#eeeeee", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"Jacobian of {get_op(op).label}: {n_out} outputs x {n_in} inputs", fontsize=TITLE_FONT)
    colorbar(im, ax, "derivative of\noutput by input", shrink=0.8)
    return ax
