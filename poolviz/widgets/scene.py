"""The explorers' core, widget-free: parameters -> numbers (:meth:`Scene.compute`) -> picture (:meth:`Scene.draw`).

What an op does is read from :mod:`poolviz.ops` (does it route each window's gradient to one input? does a
tie rule decide which? does it sample?); every colour, colour scale, padded grid, window colour and number
in the picture comes from :mod:`poolviz.style`, the same as the static figures'.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from matplotlib.colors import to_rgb

from ..data import example_input
from ..geometry import pool_geometry
from ..ops import get_op
from ..routing import contributions, run_pool
from ..style import (INPUT_CMAP, OUTSIDE_COLOR, PAD_COLOR, format_value, grad_norm, gradient_sum_check, padded_grid,
                     value_norm, window_color)
from ..ties import tie_policy_contributions
from .glyphs import SCALE, fit_font, label_texts
from .layout import WIDTH
from .params import MAX_CELLS, matrix_text
from .raster import Renderer, compose_heatmap, rect_lines

__all__ = ["Scene", "check_selected", "parse_matrix"]

_DX_TITLES = {"first": "dx: what each input receives", "split": "dx, ties split equally",
              "all": "dx, every tie gets it all"}
_PAD_RGB, _OUTSIDE_RGB = (np.round(np.multiply(to_rgb(c), 255)).astype(np.uint8) for c in (PAD_COLOR, OUTSIDE_COLOR))


def parse_matrix(text: str) -> np.ndarray:
    """A small matrix typed as rows of numbers: one row per line (or separated by ``;``), entries by spaces/commas.

    Returns an ndarray of shape (H, W), at most 32x32, of finite floats.

    >>> parse_matrix("1 2; 3 4")
    array([[1., 2.],
           [3., 4.]])
    """
    rows = [r for r in text.replace(";", "\n").splitlines() if r.strip()]
    if not rows:
        raise ValueError("type a matrix: one row per line, numbers separated by spaces, e.g. '1 2 3' / '4 5 6'.")
    try:
        values = [[float(v) for v in r.replace(",", " ").split()] for r in rows]
    except ValueError as exc:
        raise ValueError(f"could not read the matrix: {exc}; use plain numbers such as 1, -0.5 or 2e3.") from None
    lengths = sorted({len(r) for r in values})
    if len(lengths) > 1:
        raise ValueError(f"every row needs the same number of entries; got rows of {lengths} entries.")
    x = np.array(values)
    if max(x.shape) > MAX_CELLS:
        raise ValueError(f"keep it small: at most {MAX_CELLS}x{MAX_CELLS}, got {x.shape[0]}x{x.shape[1]}.")
    if not np.isfinite(x).all():
        raise ValueError("the matrix must hold finite numbers (no inf or nan).")
    return x


def _sum_check(op, dx, grad_output) -> tuple[str, bool]:
    """The gradient's sum against the upstream sum, as text, and whether ``dx`` is a gradient at all.

    For an op that routes each window's gradient whole to one input (max, stochastic), the sums must agree:
    :func:`poolviz.style.gradient_sum_check`. Other ops are only reported (average pooling with padding
    legitimately loses the padding's share).
    """
    if get_op(op).routes_to_one:
        return gradient_sum_check(dx, grad_output)
    dx_sum, upstream = format_value(np.sum(dx)), format_value(np.sum(grad_output))
    return f"sum of dx = {dx_sum}, sum of upstream gradient = {upstream}", True


def check_selected(p, state):
    """Refuse ``explore(selected=...)`` outside the output ``state`` computed: it would be moved in silence."""
    Ho, Wo = state["geom"].out_shape
    if p["row"] >= Ho or p["col"] >= Wo:
        raise ValueError(f"selected={(p['row'], p['col'])} is outside the output, of shape {(Ho, Wo)}: choose a row "
                         f"below {Ho} and a column below {Wo}.")


class Scene:
    """Widget-free core of an explorer: parameters -> numbers (``compute``) -> PNG (``draw``).

    ``p`` is the dict of :func:`poolviz.widgets.params.params` (or the live explorer's control values).
    """

    def __init__(self, width=WIDTH):
        self.renderer = Renderer(width)
        self.winners = np.zeros((0, 2), dtype=int)  # (row, col) of the input cells marked by the last draw
        self.unlabelled = ()  # the panels whose cells were too small for their numbers in the last draw
        self.fonts = ()  # the font size (PNG px) of each panel's numbers in the last draw, None where none
        self.titles = ()  # each panel's title lines in the last draw
        self.fixed = {}  # a layout every picture keeps (see fix_layout)

    @staticmethod
    def input(p) -> np.ndarray:
        """The input x of shape (H, W): the custom matrix, or a preset of shape (size, size)."""
        if p["input_kind"] == "custom":
            text = p["matrix"]
            if p.get("custom_x") is not None and (not text.strip() or text == matrix_text(p["custom_x"])):
                x = p["custom_x"]  # the array given to explore(), not its printed (possibly rounded) text
            elif text.strip():
                x = parse_matrix(text)
            else:
                raise ValueError("type your own matrix in the box: one row per line, e.g. '1 2 3' / '4 5 6'.")
            if x.ndim != 2:
                raise ValueError(f"the explorer shows one 2-d input of shape (H, W); got shape {x.shape}.")
            return x
        return example_input(p["input_kind"], (p["size"], p["size"]), seed=p["seed"])

    @staticmethod
    def options(p) -> dict:
        """The op's own options from ``p`` (the ones it declares and the explorer has a control for)."""
        spec = get_op(p["op"])
        kw = {k: p[k] for k in spec.options if k in p}
        if "rng" in spec.options:  # an op that samples: a fresh sample per click of "resample"
            kw["rng"] = np.random.default_rng([p["seed"], p["sample"]])
        return kw

    def compute(self, p) -> dict:
        """Everything the picture shows, or raise the op's error (nothing is changed before it succeeds)."""
        x = self.input(p)
        k, s, op = p["kernel_size"], p["stride"] or None, p["op"]
        spec = get_op(op)
        kw = self.options(p)
        geom = pool_geometry(x.shape, k, s, kw.get("padding", 0), kw.get("dilation", 1), kw.get("ceil_mode", False))
        Ho, Wo = geom.out_shape
        row, col = min(max(p["row"], 0), Ho - 1), min(max(p["col"], 0), Wo - 1)  # the output may have shrunk
        gk = p["grad_kind"]
        if gk == "ones":
            g = np.ones((Ho, Wo))
        elif gk == "random":
            g = np.round(np.random.default_rng(p["seed"] + 1).standard_normal((Ho, Wo)), 2)
        else:
            g = np.zeros((Ho, Wo))
            g[row, col] = 1.0
        run = run_pool(op, x, k, s, grad_output=g, **kw)
        kw_c = dict(kw) if run.indices is None else {"indices": run.indices}  # replay the same sample
        policy = p["tie_policy"] if spec.breaks_ties else "first"
        if policy != "first":  # another rule for tied maxima: every window's share, from poolviz.ties
            routes = tie_policy_contributions(x, k, s, policy, **kw)  # raises for a window with NaN
            # the rows are each window's share of a unit gradient, so the backward is their g-weighted sum
            run = dataclasses.replace(run, dx=(g.reshape(-1, 1, 1) * routes).sum(axis=0))
            state = dict(routes=routes, reach=routes[row * Wo + col], counts=np.count_nonzero(routes, axis=0))
        else:
            # what the selected output's gradient reaches (for the markers), whatever its upstream value
            onehot = np.zeros((Ho, Wo))
            onehot[row, col] = 1.0
            state = dict(reach=run_pool(op, x, k, s, grad_output=onehot, **kw_c).dx)
            if spec.routes_to_one:  # each window sends its whole gradient to one input: ones -> counts
                state["counts"] = run_pool(op, x, k, s, **kw_c).dx.astype(int)
        sum_text, is_gradient = _sum_check(op, run.dx, run.grad_output)
        state.update(x=x, geom=geom, run=run, row=row, col=col, op=op, k=k, s=s, kw_c=kw_c, policy=policy,
                     sum_text=sum_text, is_gradient=is_gradient)
        return state

    @staticmethod
    def routes(state) -> np.ndarray:
        """(H_out*W_out, H, W): each output cell's backward with gradient 1 (computed only when needed)."""
        if "routes" not in state:
            state["routes"] = contributions(state["op"], state["x"], state["k"], state["s"], **state["kw_c"])
        return state["routes"]

    def dx_at(self, state, step) -> np.ndarray:
        """(H, W): the gradient accumulated from the first ``step`` output cells (row-major); all: the backward."""
        run = state["run"]
        if step >= run.y.size:
            return run.dx
        # the backward is linear in the upstream gradient: add each output's share in turn
        return np.tensordot(run.grad_output.ravel()[:step], self.routes(state)[:step], axes=1)

    @staticmethod
    def grid_shapes(state):
        """((rows, cols) of the input grid with its padding, of the output, of the gradient), and where the
        gradient's first cell lies in the input grid: what the layout depends on."""
        grid = padded_grid(state["x"], state["geom"])
        return (grid.values.shape, tuple(state["geom"].out_shape), state["x"].shape), (-grid.row0, -grid.col0)

    def fix_layout(self, states):
        """Draw every picture from now on with one layout and one size: that of the largest of ``states``.

        The kernel-free explorer's frames then have one size, so the page does not jump while they play.
        """
        plans = [self.grid_shapes(s) for s in states]
        big = tuple(tuple(max(shapes[k][d] for shapes, _ in plans) for d in range(2)) for k in range(3))
        offset = tuple(max(off[d] for _, off in plans) for d in range(2))
        layout = self.renderer.plan(big, offset)
        height = max(self.renderer.plan(shapes, off, kind=layout.kind, cell=layout.cell).height
                     for shapes, off in plans)
        self.fixed = dict(kind=layout.kind, cell=layout.cell, height=height)

    def draw(self, state, step, compress_level=None) -> bytes:
        """Update the figure's artists for ``state`` at player ``step`` and return the PNG.

        ``compress_level``: None for the fast encoding of a live update, 0-9 for a smaller palette PNG
        (see :meth:`poolviz.widgets.raster.Renderer.png`).
        """
        dx_shown = self.dx_at(state, step)
        R = self.renderer
        x, geom, run = state["x"], state["geom"], state["run"]
        H, W = x.shape
        Ho, Wo = geom.out_shape
        n_out = Ho * Wo
        grid = padded_grid(x, geom)  # the padding, and any ceil_mode window that runs past it
        layout = R.plan(*self.grid_shapes(state), **self.fixed)
        cell_in = cell_dx = layout.cell  # CSS px: every panel has the same cells
        fill = np.where(grid.padding[..., None], _PAD_RGB, _OUTSIDE_RGB)
        xnorm = value_norm(x)
        # one gradient scale for every step: never below the largest upstream gradient, so 1/k^2 looks small
        gcmap, gnorm = grad_norm(run.grad_output, run.dx)
        panels = [(grid.values, INPUT_CMAP, xnorm, grid.blank), (run.y, INPUT_CMAP, xnorm, None),
                  (dx_shown, gcmap, gnorm, None)]
        texts = [label_texts(values, blank) for values, _, _, blank in panels]
        cell = layout.cell * SCALE
        # one font size for the numbers of all three panels; a panel whose numbers do not fit at FONT_MIN
        # gets none, and the info line says so
        common = fit_font([t for ts in texts for t in ts], cell)
        fonts = [common or fit_font(ts, cell) for ts in texts]
        self.fonts = tuple(fonts)  # PNG px per panel (None: no numbers)
        self.unlabelled = tuple(name for name, font, ts in zip(("input", "output", "gradient"), fonts, texts)
                                if font is None and any(ts))
        R.begin(layout)
        for k, ((values, cmap, norm, blank), font, ts) in enumerate(zip(panels, fonts, texts)):
            compose_heatmap(values, cmap, norm, cell, labels=font is not None, font_px=font, blank=blank,
                            fill=fill if blank is not None else None, texts=ts, out=R.area(k, values.shape))
        extents = [(grid.rows, grid.cols), ((-0.5, Ho - 0.5), (-0.5, Wo - 0.5)), ((-0.5, H - 0.5), (-0.5, W - 0.5))]
        # window outlines on the cell borders, in four alternating colours. Edges that overlapping windows
        # share run side by side, half a pixel either side of the border: the windows above and below each
        # other (rows of a different parity) share vertical edges, so those move with the row's parity, and
        # horizontal edges with the column's. No outline enters the labels' part of a cell.
        oh, ow = np.meshgrid(np.arange(Ho), np.arange(Wo), indexing="ij")
        r0s, c0s = geom.h.starts[oh], geom.w.starts[ow]
        k_of = window_color(oh, ow)
        draw_all = n_out <= 100  # beyond that the outlines are a thicket; the selected window is enough
        for k, line in enumerate(R.windows):
            row_in, col_in = ((k % 2) - 0.5) / cell_in, ((k // 2) - 0.5) / cell_in
            pick = k_of == k
            line.set_data(*rect_lines(r0s[pick] + row_in, c0s[pick] + col_in, geom.h.span - 2 * row_in,
                                      geom.w.span - 2 * col_in))
            line.set_visible(draw_all)
        # the highlighted output: the player's current cell while stepping, else the selected one
        if step < n_out:
            i, j = divmod(max(step - 1, 0), Wo)
            reach = self.routes(state)[step - 1] if step > 0 else np.zeros_like(x)
        else:
            i, j = state["row"], state["col"]
            reach = state["reach"]
        show_sel = step != 0
        r0, c0 = geom.h.starts[i], geom.w.starts[j]
        R.sel_in.set_bounds(c0 - 0.5, r0 - 0.5, geom.w.span, geom.h.span)
        R.sel_in.set_visible(show_sel)
        rr, cc = np.meshgrid(geom.h.coords()[i], geom.w.coords()[j], indexing="ij")
        R.members.set_data(cc.ravel() + 0.3, rr.ravel() - 0.3)
        R.members.set_visible(show_sel and geom.h.dilation * geom.w.dilation > 1)
        ti, tj = np.nonzero(reach)
        # winners only where one input wins a window; a smooth op reaches the whole window
        winners = get_op(state["op"]).routes_to_one and show_sel
        self.winners = np.stack([ti, tj], axis=1) if winners else np.zeros((0, 2), dtype=int)
        R.targets_in.set_data(tj, ti)
        R.targets_in.set_markersize(cell_in * 0.72)  # the marker's box is the cell: points = pixels * 72/100
        R.targets_in.set_visible(winners)
        R.sel_out.set_bounds(j - 0.5, i - 0.5, 1, 1)
        R.sel_out.set_visible(show_sel)
        # a ring on the border (its halo inside the band): where the selected output's gradient lands
        R.targets_dx.set_data(*rect_lines(ti, tj, 1, 1))
        R.targets_dx.set_visible(show_sel)
        if "counts" in state:  # ops that route to one input: box the inputs that receive from 2+ windows
            counts = state["counts"] if step == n_out else np.count_nonzero(self.routes(state)[:step], axis=0)
            mi, mj = np.nonzero(counts >= 2)
        else:
            mi = mj = np.zeros(0, dtype=int)
        inset = 1.1 / cell_dx  # just inside the border, over the ring's halo, within the band
        R.multi.set_data(*rect_lines(mi + inset, mj + inset, 1 - 2 * inset, 1 - 2 * inset))
        stride = (geom.h.stride, geom.w.stride)
        where = f"after {step} of {n_out} outputs" if step < n_out else "from all outputs"
        if step == n_out and not state["is_gradient"]:  # the wrong tie rule: say so in the picture too
            note = gradient_sum_check(run.dx, run.grad_output, short=True)[0]
        else:
            note = "blue box: reached 2+ times" if len(mi) else ""
        titles = [(f"input x ({H}x{W})" + (", padding grey" if geom.h.padding or geom.w.padding else ""),
                   f"kernel {geom.kernel}, stride {stride}", f"window ({i}, {j}) outlined"),
                  (f"output y ({Ho}x{Wo})", get_op(state["op"]).label, f"cell ({i}, {j}) outlined"),
                  (_DX_TITLES[state["policy"]], f"{where}, scale 0..{format_value(gnorm.vmax)}", note)]
        self.titles = titles
        R.finish(titles, extents)
        return R.png(compress_level)
