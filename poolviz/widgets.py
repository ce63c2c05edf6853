"""Interactive explorers: see where the error signal goes while you change the pooling.

``explore()`` returns a :class:`PoolExplorer`, an ``ipywidgets.VBox`` that displays itself. Its picture is
a PNG in an ``ipywidgets.Image``, drawn by a pyplot-free :class:`matplotlib.figure.Figure` whose artists
are updated in place. That is what keeps a notebook stable under nbval (image outputs are not compared),
works in Voila, and embeds in static HTML with the last picture.

Speed: printing 64 numbers with matplotlib ``Text`` artists costs about 1 ms each on a small machine, so
the heatmaps here are composed as pixel arrays (cell colours plus cached bitmaps of the digits, rendered
once per distinct label with matplotlib's own FreeType font) and drawn by a small artist at exact pixel
positions (no resampling); outlines and markers are ordinary artists on a transparent overlay ``Axes``,
updated in place with ``set_data``. An update of an 8x8 explorer takes about 15-25 ms here.

Ties: for max pooling, the ``tie_policy`` control compares the first maximum (the op itself, PyTorch's rule)
with splitting the gradient among tied maxima and with giving each of them all of it; the last is shown as
wrong, with its gradient sum against the upstream sum.

Kernel-free: :func:`static_explorer` pre-renders frames into a ``Stack`` linked to a slider (and a
``Play``) with ``jslink``, so the slider works on a static HTML page with no Python running.

Colormaps, as in :mod:`poolviz.plots`: ``cividis`` for values (colour-blind safe, greyscale keeps the
order), ``magma_r`` for non-negative gradients (white = no gradient), ``PuOr`` for signed ones.
"""
from __future__ import annotations

import dataclasses
import base64
import io
from functools import lru_cache

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from PIL import Image as PILImage

from .data import example_input
from .geometry import pool_geometry
from .style import GRAD_CMAP, INPUT_CMAP, OKABE_ITO, SELECT_COLOR, SIGNED_CMAP
from .routing import (OP_LABELS, TIE_POLICIES, contributions, format_value, gradient_sum_check, op_name, op_options,
                      run_pool, sparsity, tie_policy_contributions)

__all__ = ["PoolExplorer", "explore", "parse_matrix", "static_explorer"]

_OPS = [("max", "max"), ("average", "avg"), ("LogSumExp", "lse"), ("Lp", "lp"), ("SoftPool", "soft"),
        ("stochastic", "stochastic")]
_INPUTS = [("random (continuous)", "random"), ("integers, many ties", "ties"), ("post-ReLU, many zeros", "relu"),
           ("image patch", "image"), ("my own (type below)", "custom")]
_GRADS = [("all ones", "ones"), ("random", "random"), ("one-hot on the selected output", "onehot")]
# max pooling's rule for a tied maximum; "first" is the op itself (PyTorch), the others come from routing
_TIES = [("first maximum (PyTorch)", "first"), ("split equally among ties", "split"),
         ("all ties get it all (wrong)", "all")]
_DX_TITLES = {"first": "dx: what each input receives", "split": "dx, ties split equally",
              "all": "dx, every tie gets it all"}
_PAD_RGB = np.array([217, 217, 217], dtype=np.uint8)  # padding cells: light grey, no number
_OUTSIDE_RGB = np.array([245, 245, 245], dtype=np.uint8)  # beyond the padding (ceil_mode's partial windows)
_MAX_CELLS = 32
# Overlays live in a band of this many pixels inside every cell border (window outlines half a pixel off the
# border, the selection, rings, the blue box), and labels are kept out of it: an outline must never cross a
# digit or a minus sign.
_BORDER_BAND = 2
# the winner marker: a filled triangle in the top-left corner of its cell, above the centred label (legs of
# 0.42 cell; the marker's box is the cell, as custom markers are scaled so that +-1 spans the marker size)
_CORNER = Path([(-1.0, 1.0), (-0.16, 1.0), (-1.0, 0.16), (-1.0, 1.0)], closed=True)
# the static explorer's slider names the swept parameter as the live explorer's controls do
_SWEEP_LABELS = {"step": "backward step", "tie_policy": "tie rule", "beta": "beta", "norm_type": "p",
                 "kernel_size": "kernel", "stride": "stride", "padding": "padding", "dilation": "dilation",
                 "ceil_mode": "ceil_mode", "op": "op", "grad_kind": "upstream grad", "row": "output row",
                 "col": "output col"}


def parse_matrix(text: str) -> np.ndarray:
    """A small matrix typed as rows of numbers: one row per line (or separated by ``;``), entries by spaces/commas.

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
    if max(x.shape) > _MAX_CELLS:
        raise ValueError(f"keep it small: at most {_MAX_CELLS}x{_MAX_CELLS}, got {x.shape[0]}x{x.shape[1]}.")
    if not np.isfinite(x).all():
        raise ValueError("the matrix must hold finite numbers (no inf or nan).")
    return x


# ---------------------------------------------------------------------------------------------------------
# Fast labelled heatmaps as pixel arrays


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


def _abs_max(a) -> float:
    """The largest finite ``|a|`` (0 if none): a NaN must not spoil a colour scale."""
    a = np.abs(np.asarray(a, dtype=float))
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else 0.0


def _value_norm(x) -> mcolors.Normalize:
    """The colour scale of the input values: their finite range (a NaN, which max pooling propagates, must not
    turn every cell the same colour)."""
    finite = np.asarray(x, dtype=float)
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return mcolors.Normalize(lo, hi if hi > lo else lo + 1)


def _cell_rgb(values, cmap, norm):
    rgba = matplotlib.colormaps[cmap](norm(np.where(np.isfinite(values), values, 0.0)))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def _compose_heatmap(values, cmap, norm, cell: int, *, labels=True, font_px=None, blank=None,
                     fill=None, margin: float = _BORDER_BAND) -> np.ndarray:
    """An (H*cell, W*cell, 3) uint8 picture of ``values`` with each value printed in its cell.

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
    lum = rgb @ np.array([0.299, 0.587, 0.114]) / 255
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
        ink = 0.0 if lum[i, j] > 0.5 else 255.0  # black on light cells, white on dark
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
        if lines != self._title_lines:
            self._title_lines = lines
            self.title.set_pixels(_text_strip(lines, self.width, self.title_h), self.x0, self.height - self.title_h)

    def show(self, pic: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]):
        """Place ``pic`` centred in the panel; overlay data coordinates span ``rows`` x ``cols`` (cell edges)."""
        ph, pw = pic.shape[:2]
        W, H = self.fig.bbox.width, self.fig.bbox.height
        ox = self.x0 + (self.width - pw) // 2
        oy = (self.height - self.title_h - ph) // 2
        self.image.set_pixels(pic, ox, oy)
        self.ax.set_position((ox / W, oy / H, pw / W, ph / H))
        self.ax.set_xlim(cols)
        self.ax.set_ylim(rows[1], rows[0])


class _Renderer:
    """The explorer's figure: three panels (input, output, gradient) on one pyplot-free Figure."""

    def __init__(self, width=660, height=260, dpi=100):
        self.fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        self.title_h = 50
        self.area = min(width // 3 - 12, height - self.title_h - 6)
        self.panels = [_Panel(self.fig, 4 + k * (width // 3), width // 3 - 8, height, self.title_h) for k in range(3)]
        pin, pout, pdx = (p.ax for p in self.panels)
        # Everything drawn over the cells stays in the band along their borders (_BORDER_BAND, which the
        # labels keep clear); line widths in points, 0.72 pt = 1 px at 100 dpi.
        # Window outlines: one line per colour with NaN breaks (one path each, however many windows),
        # half a pixel off the border either way, so overlapping windows' coinciding edges show side by side.
        self.windows = [pin.plot([], [], color=c, linewidth=0.8, zorder=2)[0] for c in OKABE_ITO[:4]]
        self.sel_in = pin.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=2.5,
                                              zorder=3))
        (self.members,) = pin.plot([], [], "o", color=SELECT_COLOR, markersize=2.5, zorder=4)
        # the winner (max, stochastic): a triangle in its cell's corner, never over its value
        (self.targets_in,) = pin.plot([], [], marker=_CORNER, linestyle="none", markerfacecolor=SELECT_COLOR,
                                      markeredgecolor="white", markeredgewidth=0.8, zorder=5)
        self.sel_out = pout.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=SELECT_COLOR, linewidth=2.5,
                                                zorder=3))
        # inputs reached 2+ times: a thin blue box just inside the border; the selected output's targets: an
        # orange ring just outside it
        (self.multi,) = pdx.plot([], [], color=OKABE_ITO[1], linewidth=1.3, zorder=2)
        (self.targets_dx,) = pdx.plot([], [], color=SELECT_COLOR, linewidth=2.0, zorder=5, clip_on=False)

    def cell_size(self, n_rows, n_cols):
        return max(3, min(40, self.area // max(n_rows, n_cols)))

    def png(self, compress_level=1) -> bytes:
        self.canvas.draw()
        w, h = self.canvas.get_width_height()
        buf = io.BytesIO()
        img = PILImage.frombuffer("RGBA", (w, h), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
        # a 256-colour palette: the picture is flat cells and text, so this is near-lossless, and both
        # faster to encode and 2-3x smaller than RGB (which matters for frames stored in a notebook)
        img = img.quantize(256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
        img.save(buf, format="png", compress_level=compress_level)
        return buf.getvalue()


def _rect_lines(r0, c0, h, w):
    """x and y of closed rectangle outlines (cell-centre coordinates of their top-left cell), NaN-separated."""
    r0 = np.atleast_1d(np.asarray(r0, dtype=float)) - 0.5
    c0 = np.atleast_1d(np.asarray(c0, dtype=float)) - 0.5
    h, w = np.broadcast_to(h, r0.shape), np.broadcast_to(w, c0.shape)
    nan = np.full(r0.shape, np.nan)
    xs = np.stack([c0, c0 + w, c0 + w, c0, c0, nan], axis=1).ravel()
    ys = np.stack([r0, r0, r0 + h, r0 + h, r0, nan], axis=1).ravel()
    return xs, ys


# ---------------------------------------------------------------------------------------------------------
# The explorer


_DEFAULTS = dict(op="max", kernel_size=2, stride=0, padding=0, dilation=1, ceil_mode=False, beta=1.0,
                 norm_type=2.0, count_include_pad=True, input_kind="random", size=6, matrix="", grad_kind="ones",
                 row=0, col=0, tie_policy="first", sample=0, seed=0)


def _params(x=None, op="max", kernel_size=2, stride=None, *, padding=0, dilation=1, ceil_mode=False, beta=1.0,
            norm_type=2.0, count_include_pad=True, input_kind=None, size=6, grad="ones", selected=(0, 0),
            tie_policy="first", seed=0):
    """Everything a picture depends on, as a plain dict (the explorer's controls mirror it)."""
    custom = x is not None
    if tie_policy not in TIE_POLICIES:
        raise ValueError(f"tie_policy must be one of {', '.join(map(repr, TIE_POLICIES))}, got {tie_policy!r}.")
    return dict(_DEFAULTS, op=op_name(op), kernel_size=kernel_size, stride=0 if stride is None else stride, padding=padding,
                dilation=dilation, ceil_mode=ceil_mode, beta=beta, norm_type=norm_type,
                count_include_pad=count_include_pad, input_kind="custom" if custom else (input_kind or "random"),
                size=size, grad_kind=grad, row=selected[0], col=selected[1], tie_policy=tie_policy, seed=seed,
                custom_x=np.asarray(x, dtype=float) if custom else None,
                matrix=_matrix_text(x) if custom else "")


def _matrix_text(x) -> str:
    return "\n".join(" ".join(f"{v:g}" for v in row) for row in np.atleast_2d(np.asarray(x, dtype=float)))


def _sum_check(op, dx, grad_output) -> tuple[str, bool]:
    """The gradient's sum against the upstream sum, as text, and whether ``dx`` is a gradient at all.

    For max pooling, :func:`poolviz.routing.gradient_sum_check`. Other ops are only reported (average
    pooling with padding legitimately loses the padding's share).
    """
    if op == "max":
        return gradient_sum_check(dx, grad_output)
    dx_sum, upstream = format_value(np.sum(dx)), format_value(np.sum(grad_output))
    return f"sum of dx = {dx_sum}, sum of upstream gradient = {upstream}", True


class _Scene:
    """Widget-free core of an explorer: parameters -> numbers (``compute``) -> PNG (``draw``)."""

    def __init__(self, width=660, height=260):
        self.renderer = _Renderer(width, height)
        self.winners = np.zeros((0, 2), dtype=int)  # (row, col) of the input cells marked by the last draw

    @staticmethod
    def input(p) -> np.ndarray:
        if p["input_kind"] == "custom":
            text = p["matrix"]
            if p.get("custom_x") is not None and (not text.strip() or text == _matrix_text(p["custom_x"])):
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
        allowed = op_options(p["op"])
        kw = {k: p[k] for k in ("padding", "dilation", "ceil_mode", "count_include_pad", "beta", "norm_type")
              if k in allowed}
        if p["op"] == "stochastic":
            kw["rng"] = np.random.default_rng([p["seed"], p["sample"]])
        return kw

    def compute(self, p) -> dict:
        """Everything the picture shows, or raise the op's error (nothing is changed before it succeeds)."""
        x = self.input(p)
        k, s, op = p["kernel_size"], p["stride"] or None, p["op"]
        kw = self.options(p)
        geom = pool_geometry(x.shape, k, s, kw.get("padding", 0), kw.get("dilation", 1), kw.get("ceil_mode", False))
        Ho, Wo = geom.out_shape
        row, col = min(max(p["row"], 0), Ho - 1), min(max(p["col"], 0), Wo - 1)
        gk = p["grad_kind"]
        if gk == "ones":
            g = np.ones((Ho, Wo))
        elif gk == "random":
            g = np.round(np.random.default_rng(p["seed"] + 1).standard_normal((Ho, Wo)), 2)
        else:
            g = np.zeros((Ho, Wo))
            g[row, col] = 1.0
        run = run_pool(op, x, k, s, grad_output=g, **kw)
        kw_c = {"indices": run.indices} if op == "stochastic" else dict(kw)
        policy = p["tie_policy"] if op == "max" else "first"
        if policy not in TIE_POLICIES:
            raise ValueError(f"tie_policy must be one of {', '.join(map(repr, TIE_POLICIES))}, got {policy!r}.")
        if policy != "first":  # another rule for tied maxima: every window's share, from routing
            routes = tie_policy_contributions(x, k, s, policy, **kw)  # raises for a window with NaN
            # the rows are each window's share of a unit gradient, so the backward is their g-weighted sum
            run = dataclasses.replace(run, dx=(g.reshape(-1, 1, 1) * routes).sum(axis=0))
            state = dict(routes=routes, reach=routes[row * Wo + col], counts=np.count_nonzero(routes, axis=0))
        else:
            # what the selected output's gradient reaches (for the markers), whatever its upstream value
            onehot = np.zeros((Ho, Wo))
            onehot[row, col] = 1.0
            state = dict(reach=run_pool(op, x, k, s, grad_output=onehot, **kw_c).dx)
            if op in ("max", "stochastic"):  # each window sends its whole gradient to one input: ones -> counts
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
        """The gradient accumulated from the first ``step`` output cells (row-major); all of them: the backward."""
        run = state["run"]
        if step >= run.y.size:
            return run.dx
        # the backward is linear in the upstream gradient: add each output's share in turn
        return np.tensordot(run.grad_output.ravel()[:step], self.routes(state)[:step], axes=1)

    def draw(self, state, step, compress_level=1) -> bytes:
        """Update the figure's artists for ``state`` at player ``step`` and return the PNG."""
        dx_shown = self.dx_at(state, step)
        R = self.renderer
        x, geom, run = state["x"], state["geom"], state["run"]
        H, W = x.shape
        Ho, Wo = geom.out_shape
        n_out = Ho * Wo
        # the input grid spans the padding and any ceil_mode window that runs past it
        ph, pw = geom.h.padding, geom.w.padding
        r_lo, c_lo = -ph, -pw
        r_hi = max(H + ph, int(geom.h.starts[-1]) + geom.h.span)
        c_hi = max(W + pw, int(geom.w.starts[-1]) + geom.w.span)
        grid = np.full((r_hi - r_lo, c_hi - c_lo), np.nan)
        grid[ph:ph + H, pw:pw + W] = x
        blank = np.ones(grid.shape, dtype=bool)
        blank[ph:ph + H, pw:pw + W] = False
        fill = np.empty(grid.shape + (3,), dtype=np.uint8)
        fill[...] = _OUTSIDE_RGB
        fill[: H + 2 * ph, : W + 2 * pw] = _PAD_RGB
        xnorm = _value_norm(x)
        cell_in = R.cell_size(*grid.shape)
        cell_out = R.cell_size(Ho, Wo)
        cell_dx = R.cell_size(H, W)
        pin, pout, pdx = R.panels
        pin.show(_compose_heatmap(grid, INPUT_CMAP, xnorm, cell_in, blank=blank, fill=fill),
                 (r_lo - 0.5, r_hi - 0.5), (c_lo - 0.5, c_hi - 0.5))
        pout.show(_compose_heatmap(run.y, INPUT_CMAP, xnorm, cell_out), (-0.5, Ho - 0.5), (-0.5, Wo - 0.5))
        # one fixed gradient scale: never below the largest upstream gradient, so 1/k^2 looks small
        top = max(_abs_max(run.grad_output), _abs_max(run.dx), 1e-12)
        signed = (run.dx < 0).any() or (run.grad_output < 0).any()
        gcmap, gnorm = (SIGNED_CMAP, mcolors.Normalize(-top, top)) if signed else (GRAD_CMAP,
                                                                                 mcolors.Normalize(0, top))
        pdx.show(_compose_heatmap(dx_shown, gcmap, gnorm, cell_dx), (-0.5, H - 0.5), (-0.5, W - 0.5))
        # window outlines on the cell borders, in four alternating colours. Edges that overlapping windows
        # share run side by side, half a pixel either side of the border: the windows above and below each
        # other (rows of a different parity) share vertical edges, so those move with the row's parity, and
        # horizontal edges with the column's. No outline enters the labels' part of a cell.
        oh, ow = np.meshgrid(np.arange(Ho), np.arange(Wo), indexing="ij")
        r0s, c0s = geom.h.starts[oh], geom.w.starts[ow]
        k_of = (oh % 2) * 2 + ow % 2
        draw_all = n_out <= 100  # beyond that the outlines are a thicket; the selected window is enough
        for k, line in enumerate(R.windows):
            row_in, col_in = ((k % 2) - 0.5) / cell_in, ((k // 2) - 0.5) / cell_in
            pick = k_of == k
            line.set_data(*_rect_lines(r0s[pick] + row_in, c0s[pick] + col_in, geom.h.span - 2 * row_in,
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
        # winners only where one input wins a window (max, stochastic); a smooth op reaches the whole window
        winners = state["op"] in ("max", "stochastic") and show_sel
        self.winners = np.stack([ti, tj], axis=1) if winners else np.zeros((0, 2), dtype=int)
        R.targets_in.set_data(tj, ti)
        R.targets_in.set_markersize(cell_in * 0.72)  # the marker's box is the cell: points = pixels * 72/100
        R.targets_in.set_visible(winners)
        R.sel_out.set_bounds(j - 0.5, i - 0.5, 1, 1)
        R.sel_out.set_visible(show_sel)
        out = 1.0 / cell_dx  # a ring 1 px outside the border: where the selected output's gradient lands
        R.targets_dx.set_data(*_rect_lines(ti - out, tj - out, 1 + 2 * out, 1 + 2 * out))
        R.targets_dx.set_visible(show_sel)
        if "counts" in state:  # routing ops (max, stochastic): box the inputs that receive from 2+ windows
            counts = state["counts"] if step == n_out else np.count_nonzero(self.routes(state)[:step], axis=0)
            mi, mj = np.nonzero(counts >= 2)
        else:
            mi = mj = np.zeros(0, dtype=int)
        inset = 1.1 / cell_dx  # just inside the border (and the orange ring), within the band
        R.multi.set_data(*_rect_lines(mi + inset, mj + inset, 1 - 2 * inset, 1 - 2 * inset))
        stride = (geom.h.stride, geom.w.stride)
        pin.set_title(f"input x ({H}x{W})" + (", padding grey" if ph or pw else ""),
                      f"kernel {geom.kernel}, stride {stride}", f"window ({i}, {j}) outlined")
        pout.set_title(f"output y ({Ho}x{Wo})", OP_LABELS[state["op"]], f"cell ({i}, {j}) outlined")
        where = f"after {step} of {n_out} outputs" if step < n_out else "from all outputs"
        if step == n_out and not state["is_gradient"]:  # the wrong tie rule: say so in the picture too
            a, b = run.dx.sum(), run.grad_output.sum()
            note = f"sum {format_value(a)} {'>' if a > b else '<'} upstream {format_value(b)}: wrong"
        else:
            note = "blue box: reached 2+ times" if len(mi) else ""
        pdx.set_title(_DX_TITLES[state["policy"]], f"{where}, scale 0..{format_value(top)}", note)
        return R.png(compress_level)




class PoolExplorer(widgets.VBox):
    """A pooling explorer: controls, a picture, and the state a test can read.

    State (updated after every control change; kept at the last good values when a change is invalid):

    ``x`` (H, W) the input; ``output`` (H_out, W_out) the forward output; ``grad_output`` the upstream
    gradient; ``dx`` (alias ``grad``) the op's backward, what every input receives; ``dx_shown`` the
    gradient accumulated up to the player's step (equals ``dx`` at the last step); ``sparsity`` the fraction
    of inputs that receive any gradient; ``indices`` the sampled positions (stochastic pooling); ``winners``
    (n, 2) the (row, col) of the inputs marked with a corner triangle as receiving the highlighted output's
    gradient (max and stochastic pooling only; a smooth op reaches its whole window, so none); ``message``
    the error text shown in the widget ("" when fine); ``png`` the picture's bytes; ``sum_text`` the
    gradient's sum against the upstream sum ("sum of dx = 13 > upstream 9: not a gradient" for the wrong
    tie rule) and ``is_gradient`` (False exactly then).

    Max pooling's tie rule (control ``tie_policy``): ``"first"`` is the op itself (PyTorch, TensorFlow on
    CPU: the first maximum in row-major window order gets the whole gradient); ``"split"`` shares it
    equally among the tied maxima (a valid subgradient); ``"all"`` gives every tied maximum the full
    gradient, which hands back more than came in. For ``"split"`` and ``"all"``, ``dx`` is
    :func:`poolviz.routing.tie_policy_gradients` (computed window by window with
    :func:`~poolviz.routing.tie_policy_contributions`); the other ops have no ties to break, and the control
    is disabled.

    Controls (ipywidgets; set ``.value`` to drive them): ``op``, ``beta``, ``norm_type``, ``resample``
    (button), ``kernel_size``, ``stride`` (0 = same as the kernel), ``padding``, ``dilation``, ``ceil_mode``,
    ``count_include_pad``, ``input_kind``, ``size``, ``matrix`` (text, for ``input_kind="custom"``),
    ``grad_kind``, ``row`` and ``col`` (the selected output cell), ``tie_policy``, ``play`` and ``step`` (the backward
    player: step k shows the gradient of the first k output cells, row-major; the last step is the whole
    backward). Controls an op does not have are disabled.
    """

    def __init__(self, x=None, op="max", kernel_size=2, stride=None, *, width=660, height=260, **options):
        p = _params(x, op, kernel_size, stride, **options)
        self._busy = True
        self._seed, self._sample, self._custom_x = p["seed"], 0, p["custom_x"]
        style = {"description_width": "initial"}
        small = widgets.Layout(width="230px")
        self.op = widgets.Dropdown(options=_OPS, value=p["op"], description="op",
                                   layout=widgets.Layout(width="190px"))
        self.beta = widgets.FloatLogSlider(value=p["beta"], base=10, min=-1, max=2, step=0.1, description="beta",
                                           readout_format=".2g", continuous_update=False, style=style)
        self.norm_type = widgets.FloatSlider(value=p["norm_type"], min=1, max=10, step=0.5, description="p",
                                             continuous_update=False, style=style)
        self.tie_policy = widgets.Dropdown(options=_TIES, value=p["tie_policy"], description="ties",
                                           tooltip="max pooling: who gets the gradient of a tied maximum",
                                           layout=widgets.Layout(width="260px"))
        self.resample = widgets.Button(description="resample", tooltip="draw a new stochastic sample",
                                       layout=widgets.Layout(width="90px"))
        self.kernel_size = widgets.IntSlider(value=p["kernel_size"], min=1, max=6, description="kernel",
                                             style=style, layout=small, continuous_update=False)
        self.stride = widgets.Dropdown(options=[("= kernel", 0)] + [(str(s), s) for s in range(1, 9)],
                                       value=p["stride"], description="stride", layout=widgets.Layout(width="180px"))
        self.padding = widgets.IntSlider(value=p["padding"], min=0, max=3, description="padding", style=style,
                                         layout=small, continuous_update=False)
        self.dilation = widgets.IntSlider(value=p["dilation"], min=1, max=3, description="dilation", style=style,
                                          layout=small, continuous_update=False)
        self.ceil_mode = widgets.Checkbox(value=p["ceil_mode"], description="ceil_mode", indent=False,
                                          layout=widgets.Layout(width="100px"))
        self.count_include_pad = widgets.Checkbox(value=p["count_include_pad"], description="count_include_pad",
                                                  indent=False, layout=widgets.Layout(width="150px"))
        self.input_kind = widgets.Dropdown(options=_INPUTS, value=p["input_kind"], description="input",
                                           layout=widgets.Layout(width="240px"))
        self.size = widgets.IntSlider(value=p["size"], min=2, max=16, description="size", style=style,
                                      layout=small, continuous_update=False)
        self.matrix = widgets.Textarea(value=p["matrix"], placeholder="1 2 3\n4 5 6\n7 8 9", description="matrix",
                                       continuous_update=False, rows=_text_rows(p["matrix"]),
                                       layout=widgets.Layout(width="260px"))
        self.grad_kind = widgets.Dropdown(options=_GRADS, value=p["grad_kind"], description="upstream grad",
                                          style=style, layout=widgets.Layout(width="300px"))
        self.row = widgets.IntSlider(value=p["row"], min=0, max=max(p["row"], 0), description="output row",
                                     style=style, layout=small)
        self.col = widgets.IntSlider(value=p["col"], min=0, max=max(p["col"], 0), description="col", style=style,
                                     layout=small)
        self.play = widgets.Play(value=0, min=0, max=1, step=1, interval=700, description="play backward")
        self.step = widgets.IntSlider(value=0, min=0, max=1, description="backward step", style=style)
        self._links = [widgets.jslink((self.play, "value"), (self.step, "value"))]
        # a fixed size, so the page does not jump when the picture changes; "contain" keeps the aspect ratio
        # when a narrow panel shrinks the width (the picture is letterboxed, not squashed)
        self.image = widgets.Image(format="png", layout=_image_layout(width, height))
        self.info = widgets.HTML()
        self.error = widgets.HTML(layout=widgets.Layout(min_height="22px"))
        self._scene = _Scene(width, height)
        self._renderer = self._scene.renderer
        self._state = {}
        self.message = ""
        self.x = self.output = self.grad_output = self.dx = self.dx_shown = self.indices = None
        self.winners = np.zeros((0, 2), dtype=int)
        self.sparsity = float("nan")
        self.sum_text, self.is_gradient = "", True
        self.png = b""
        wrap = widgets.Layout(flex_flow="row wrap")  # narrow pages wrap the controls instead of clipping them
        super().__init__([
            widgets.HBox([self.op, self.tie_policy, self.beta, self.norm_type, self.resample], layout=wrap),
            widgets.HBox([self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.count_include_pad], layout=wrap),
            widgets.HBox([self.input_kind, self.size, self.grad_kind], layout=wrap),
            self.matrix,
            widgets.HBox([self.row, self.col, self.play, self.step], layout=wrap),
            self.image, self.info, self.error,
        ])
        for w in (self.op, self.tie_policy, self.beta, self.norm_type, self.kernel_size, self.stride, self.padding,
                  self.dilation, self.ceil_mode, self.count_include_pad, self.input_kind, self.size, self.matrix,
                  self.grad_kind, self.row, self.col, self.step):
            w.observe(self._on_change, names="value")
        self.resample.on_click(self._on_resample)
        self._busy = False
        self.update(full_step=True)

    def _repr_mimebundle_(self, **kwargs):
        """The widget, plus its current picture as a PNG for pages that cannot run widgets.

        JupyterLab and Voila show the live widget; GitHub, nbviewer and other static renderers fall back
        to the ``image/png`` (nbval does not compare images, so stored notebooks stay stable).
        """
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and self.png:
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle

    def close(self):
        """Close the explorer and every widget inside it (controls, layouts, links), so none stays registered."""
        for link in getattr(self, "_links", ()):  # absent when __init__ raised (an invalid argument)
            link.close()
        _close_tree(self)

    @property
    def grad(self):
        """Alias of ``dx``: the op's backward for the current settings."""
        return self.dx

    def params(self) -> dict:
        """The current control values as the plain dict the picture is computed from."""
        p = {name: getattr(self, name).value for name in _DEFAULTS if name not in ("sample", "seed")}
        return dict(p, sample=self._sample, seed=self._seed, custom_x=self._custom_x)

    def _on_change(self, change):
        if self._busy:
            return
        at_end = change["owner"] is not self.step and self.step.value == self.step.max
        self.update(full_step=at_end)

    def _on_resample(self, _button=None):
        self._sample += 1
        self.update(full_step=self.step.value == self.step.max)

    def _sync_enabled(self):
        allowed = op_options(self.op.value)
        for name in ("padding", "dilation", "ceil_mode", "count_include_pad"):
            getattr(self, name).disabled = name not in allowed
        self.tie_policy.disabled = self.op.value != "max"
        self.beta.disabled = self.op.value != "lse"
        self.norm_type.disabled = self.op.value != "lp"
        self.resample.disabled = self.op.value != "stochastic"
        self.size.disabled = self.input_kind.value == "custom"
        self.matrix.layout.display = None if self.input_kind.value == "custom" else "none"
        self.matrix.rows = _text_rows(self.matrix.value)

    def update(self, full_step=False):
        """Recompute and redraw for the current control values; on an invalid combination, show why."""
        self._sync_enabled()
        p = self.params()
        try:
            if _same_params(p, self._state.get("params")):
                state = self._state  # only the player's step moved: keep the numbers (and cached routes)
            else:
                state = self._scene.compute(p)
                state["params"] = p
        except Exception as exc:  # never raise into the notebook: show the op's own message instead
            self.message = str(exc) if isinstance(exc, (ValueError, TypeError)) else f"{type(exc).__name__}: {exc}"
            self.error.value = (f"<div style='color:#b2182b'><b>Not drawn:</b> {_html(self.message)}"
                                f"<br><i>(showing the last valid picture)</i></div>")
            return
        self.message = ""
        self.error.value = ""
        Ho, Wo = state["geom"].out_shape
        n_out = Ho * Wo
        self._busy = True
        try:  # controls that depend on the output's shape, without triggering another update
            self.row.max, self.col.max = Ho - 1, Wo - 1
            self.row.value, self.col.value = state["row"], state["col"]
            self.play.max = self.step.max = n_out
            if full_step or not (0 <= self.step.value <= n_out):
                self.step.value = self.play.value = n_out
        finally:
            self._busy = False
        step = self.step.value
        run = state["run"]
        self.x, self.output, self.grad_output, self.dx = state["x"], run.y, run.grad_output, run.dx
        self.indices = run.indices
        self.dx_shown = self._scene.dx_at(state, step)
        self.sparsity = sparsity(run.dx)
        self.sum_text, self.is_gradient = state["sum_text"], state["is_gradient"]
        self._state = state
        self.png = self._scene.draw(state, step)
        self.winners = self._scene.winners
        self.image.value = self.png
        self.info.value = _info_html(state, step, self.dx_shown, self.sparsity)


def _info_html(state, step, dx_shown, sparsity_) -> str:
    """The line under the picture. While the player is stepping, the picture shows a partial backward: the
    step's own count comes first, and the whole backward's numbers are labelled as such."""
    run = state["run"]
    n_in, n_out = run.dx.size, run.y.size
    reached = int(np.count_nonzero(run.dx))
    rule = f", tie rule: <i>{dict((v, k) for k, v in _TIES)[state['policy']]}</i>" if state["op"] == "max" else ""
    sums = _html(state["sum_text"])
    if not state["is_gradient"]:
        sums = f"<b style='color:#b2182b'>{sums}</b>"
    head = f"<b>{OP_LABELS[state['op']]}</b>{rule}"
    if step >= n_out:
        return (f"{head}: the error signal reaches <b>{reached} of {n_in}</b> inputs "
                f"(sparsity: {sparsity_:.0%} receive any); {sums}")
    so_far = int(np.count_nonzero(dx_shown))
    return (f"{head}: <b>step {step} of {n_out}</b>, the error signal has reached <b>{so_far} of {n_in}</b> "
            f"inputs so far; <i>whole backward:</i> {reached} of {n_in} inputs ({sparsity_:.0%} receive any), {sums}")


def _text_rows(text: str) -> int:
    """Rows of the matrix box: the matrix's height (at least 2, at most 8); 3 for the empty box's example."""
    n = len([r for r in text.replace(";", "\n").splitlines() if r.strip()])
    return 3 if n == 0 else min(8, max(2, n))


def _image_layout(width: int, height: int) -> widgets.Layout:
    return widgets.Layout(width=f"{width}px", height=f"{height}px", object_fit="contain")


def _same_params(a, b) -> bool:
    if b is None or a.keys() != b.keys():
        return False
    return all(a[k] is b[k] if isinstance(a[k], np.ndarray) else a[k] == b[k] for k in a)


def _close_tree(widget, seen=None):
    """Close ``widget`` and every widget it refers to (children, layout, style), depth first."""
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return
    seen.add(id(widget))
    for name in widget.keys:
        value = getattr(widget, name, None)
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, widgets.Widget):
                _close_tree(item, seen)
    widgets.Widget.close(widget)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def explore(x=None, op="max", kernel_size=2, stride=None, **options) -> PoolExplorer:
    """Open an explorer of a pooling layer's forward and backward pass.

    Parameters
    ----------
    x : array_like of shape (H, W), optional
        Your own input; default: a 6x6 random preset (choose others in the widget).
    op : {"max", "avg", "lse", "lp", "soft", "stochastic"}
    kernel_size : int
    stride : int, optional
        Default: the kernel size, as in PyTorch.
    **options
        ``padding``, ``dilation``, ``ceil_mode``, ``beta``, ``norm_type``, ``count_include_pad``,
        ``input_kind`` ("random", "ties", "relu", "image"), ``size``, ``grad`` ("ones", "random", "onehot"),
        ``selected`` ((row, col) of an output cell), ``tie_policy`` ("first", "split", "all"; max pooling's
        rule for a tied maximum), ``seed``, ``width``, ``height`` (pixels).

    Returns
    -------
    PoolExplorer
        Displays itself; its controls are attributes (``ex.kernel_size.value = 3``), and so is what it
        shows (``ex.output``, ``ex.dx``, ``ex.sparsity``, ``ex.message``).
    """
    return PoolExplorer(x, op, kernel_size, stride, **options)


_SWEEPS = {"beta": [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], "norm_type": [1.0, 2.0, 4.0, 8.0],
           "kernel_size": [1, 2, 3, 4], "stride": [1, 2, 3], "padding": [0, 1, 2], "dilation": [1, 2, 3],
           "ceil_mode": [False, True], "op": [v for _, v in _OPS], "grad_kind": [v for _, v in _GRADS],
           "tie_policy": list(TIE_POLICIES)}


def static_explorer(vary="step", values=None, *, compress_level=9, width=660, height=260, **explore_kwargs):
    """A kernel-free explorer: frames pre-rendered into a ``Stack``, switched by a slider linked in the browser.

    Nothing here needs Python once drawn: the slider, the Play button and the Stack are joined with
    ``jslink``, so the slider works on a static HTML page (nbconvert, nbviewer). No hidden explorer is
    created, so the page's stored widget state holds only what is shown.

    Parameters
    ----------
    vary : str
        What to sweep: ``"step"`` (the backward pass, one output cell at a time), or a parameter:
        ``"beta"``, ``"norm_type"``, ``"kernel_size"``, ``"stride"``, ``"padding"``, ``"dilation"``,
        ``"ceil_mode"``, ``"op"``, ``"grad_kind"``, ``"tie_policy"``, ``"row"``, ``"col"``.
    values : sequence, optional
        The values to pre-render; default: every step, every output row (column), or a small sweep
        (beta: 0.1 ... 100).
    compress_level : int
        PNG compression of the frames (0-9); higher is smaller.
    **explore_kwargs
        The arguments of :func:`explore` (``x``, ``op``, ``kernel_size``, ``stride``, ``beta``, ...).

    Returns
    -------
    ipywidgets.VBox
        With attributes ``slider`` (SelectionSlider), ``play`` (Play), ``stack`` (Stack of Images),
        ``frames`` (list of PNG bytes), ``labels`` and ``nbytes`` (the frames' total size).

    Raises
    ------
    ValueError
        For an unknown ``vary``, or when no value gives a valid picture (with the op's message).
    """
    p = _params(**explore_kwargs)
    scene = _Scene(width, height)
    if vary != "step" and vary not in _SWEEPS and vary not in ("row", "col"):
        raise ValueError(f"vary must be 'step' or one of {', '.join(map(repr, [*_SWEEPS, 'row', 'col']))}; "
                         f"got {vary!r}.")
    frames, labels, message = [], [], ""
    if vary == "step":
        state = scene.compute(p)  # an invalid setting raises its own message here
        n_out = state["run"].y.size
        for step in range(n_out + 1) if values is None else values:
            frames.append(scene.draw(state, int(step), compress_level))
            labels.append(str(step))
    else:
        if values is None and vary in ("row", "col"):  # every output row (column) there is
            Ho, Wo = scene.compute(p)["geom"].out_shape
            values = list(range(Ho if vary == "row" else Wo))
        elif values is None:
            values = _SWEEPS[vary]
        for v in values:
            try:
                state = scene.compute(dict(p, **{vary: v}))
            except (ValueError, TypeError) as exc:
                message = str(exc)
                continue  # an invalid setting: leave that frame out
            frames.append(scene.draw(state, state["run"].y.size, compress_level))
            labels.append(format_value(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
    if not frames:
        raise ValueError(f"no valid frame for {vary} in {list(values)!r}: {message}")
    size = _image_layout(width, height)  # one shared layout; "contain" keeps the aspect ratio in narrow panels
    images = [widgets.Image(value=f, format="png", layout=size) for f in frames]
    last = len(images) - 1
    stack = widgets.Stack(images, selected_index=last)
    slider = widgets.SelectionSlider(options=labels, value=labels[-1], description=_SWEEP_LABELS[vary],
                                     style={"description_width": "initial"})
    play = widgets.Play(value=last, min=0, max=last, interval=700)
    links = [widgets.jslink((slider, "index"), (stack, "selected_index")),
             widgets.jslink((play, "value"), (slider, "index"))]
    box = widgets.VBox([widgets.HBox([play, slider]), stack])
    box.slider, box.play, box.stack, box.frames, box.labels, box.links = slider, play, stack, frames, labels, links
    box.nbytes = sum(len(f) for f in frames)
    return box
