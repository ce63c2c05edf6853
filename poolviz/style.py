"""One style for every picture: colours, colour scales, text on cells, numbers, padded grids.

The static figures (:mod:`poolviz.plots`) and the explorers (:mod:`poolviz.widgets`) both draw with what
is here, so a gradient looks the same in both, and a fix (a NaN in the data, say) is made once.

Colormaps, each chosen for colour-blind readers *and* greyscale print:

* input values: ``cividis``, built to look the same to readers with red-green colour blindness, with
  luminance rising monotonically so greyscale print keeps the order;
* gradients that are never negative: ``magma_r``, perceptually uniform with monotonic luminance and
  white-ish at zero, so "receives no gradient" reads as blank paper and more gradient as darker ink;
* signed gradients: ``PuOr`` (ColorBrewer purple-orange), a diverging map that stays distinguishable
  under deuteranopia/protanopia, white at zero; the sign is also printed in each cell, since greyscale
  cannot tell purple from orange of the same lightness;
* outlines use the Okabe-Ito palette, designed to stay distinct under every common colour blindness.

Colour scales ignore NaN and infinities (max pooling propagates NaN, and -inf is a legitimate input):
they span the finite values, and the cells that hold no finite value are drawn in a neutral colour.

Importing this module needs only numpy; the functions that build matplotlib objects import it when called.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "CELL_FONT",
    "CELL_INCHES",
    "FONT_MIN",
    "GAP_COLOR",
    "GAP_MARK_COLOR",
    "GRAD_CMAP",
    "INPUT_CMAP",
    "OKABE_ITO",
    "OUTSIDE_COLOR",
    "PAD_COLOR",
    "SELECT_COLOR",
    "SELECT_HALO",
    "SIGNED_CMAP",
    "TICK_FONT",
    "TITLE_FONT",
    "WINDOW_COLORS",
    "PaddedGrid",
    "compact_png",
    "finite_range",
    "format_value",
    "grad_norm",
    "gradient_sum_check",
    "is_light",
    "padded_grid",
    "select_effects",
    "show_figures_compact",
    "value_norm",
    "window_color",
]

INPUT_CMAP = "cividis"  # CVD-safe by design, monotonic luminance (greyscale keeps the order)
GRAD_CMAP = "magma_r"  # non-negative gradients: white at zero, darker = more; uniform and greyscale-safe
SIGNED_CMAP = "PuOr"  # signed gradients: diverging, CVD-safe, white at zero; signs are printed too
# Okabe-Ito: distinct for deuteranopes, protanopes and tritanopes
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000")
#: Window outlines alternate these four along rows and columns, so overlapping windows stay apart.
WINDOW_COLORS = OKABE_ITO[:4]
# The selected window and its maximum: a white line inside a black halo. Over any colour one of the two has a
# luminance contrast of at least 4.5:1 (WCAG), and colour-vision deficiencies keep luminance, so the mark stays
# visible on cividis, magma and PuOr for every reader. (Vermillion alone nearly vanished for deutan/protan vision.)
SELECT_COLOR = "#FFFFFF"
SELECT_HALO = "#000000"
PAD_COLOR = "#d9d9d9"  # padding cells: light grey, never mistaken for a value
OUTSIDE_COLOR = "#f5f5f5"  # beyond the padding, where only a ceil_mode window reaches
GAP_COLOR = "#ffffff"  # inputs that no window covers: paper white (no window reads them), their numbers kept
GAP_MARK_COLOR = "#5a5a5a"  # and a small cross in their corner, which survives greyscale print

# Text sizes, in points. Notebooks store figures at 100 dpi, where 1 pt is 100/72 px: the floor of 7.5 pt is
# 10.4 px, the smallest text that stays readable on a projector. Nothing in a picture is drawn smaller.
FONT_MIN = 7.5
CELL_FONT = 8.0  # a number in a cell of a dense grid (7x7 and up); 9 pt in smaller grids
TICK_FONT = 8.0  # cell indices, axis ticks, colour-bar ticks
TITLE_FONT = 9.0  # panel titles (8 pt where a title runs to three lines)
#: Edge of one labelled cell in a figure poolviz sizes itself, in inches (0.4 in = 29 pt): room for "-0.54" at 8 pt.
CELL_INCHES = 0.4


def finite_range(*arrays) -> tuple[float, float] | None:
    """``(lowest, highest)`` finite value over ``arrays``, or None if none holds a finite value."""
    finite = [a[np.isfinite(a)] for a in (np.asarray(a, dtype=float) for a in arrays)]
    finite = [a for a in finite if a.size]
    if not finite:
        return None
    return min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)


def value_norm(*arrays):
    """The colour scale of input values: their finite range (a scale of width 1 if they are all equal).

    A NaN or an infinity does not spoil it; the cells holding them are drawn in a neutral colour.
    Returns a :class:`matplotlib.colors.Normalize`.
    """
    from matplotlib import colors

    lo, hi = finite_range(*arrays) or (0.0, 1.0)
    return colors.Normalize(lo, hi if hi > lo else lo + 1)


def grad_norm(*arrays, vmax=None):
    """A shared colour scale for gradients: [0, top] if no finite value is negative, else [-top, top].

    ``top`` is ``vmax`` if given, else the largest finite ``|value|`` over ``arrays`` (1 if that is 0).
    Returns ``(cmap_name, Normalize)``. One fixed scale for several panels (pass them all, or the same
    ``vmax``) keeps average pooling's small ``1/k^2`` looking small next to max pooling's 1.
    """
    from matplotlib import colors

    lo, hi = finite_range(*arrays) or (0.0, 0.0)
    top = float(vmax) if vmax is not None else max(abs(lo), abs(hi))
    top = top if top > 0 and np.isfinite(top) else 1.0
    if lo < 0:
        return SIGNED_CMAP, colors.Normalize(-top, top)
    return GRAD_CMAP, colors.Normalize(0.0, top)


def is_light(rgb) -> np.ndarray:
    """Whether text on a cell of colour ``rgb`` (floats in [0, 1], shape (..., 3) or more) should be black.

    By the colour's luminance (ITU-R BT.601 weights): black on light cells, white on dark ones.
    """
    rgb = np.asarray(rgb, dtype=float)
    return rgb[..., :3] @ np.array([0.299, 0.587, 0.114]) > 0.5


def select_effects(linewidth: float) -> list:
    """Path effects that draw an artist of ``linewidth`` in :data:`SELECT_COLOR` over a :data:`SELECT_HALO` halo.

    Pass them as ``path_effects=select_effects(lw)`` to a line, marker or patch coloured ``SELECT_COLOR``.
    """
    from matplotlib import patheffects

    return [patheffects.Stroke(linewidth=linewidth + 2.5, foreground=SELECT_HALO), patheffects.Normal()]


def window_color(oh, ow) -> int:
    """Which of :data:`WINDOW_COLORS` outlines window ``(oh, ow)``: alternating along rows and columns."""
    return (oh % 2) * 2 + ow % 2


class PaddedGrid:
    """The input with its padding, and any ceil_mode window that runs past it, as one grid of cells.

    Attributes
    ----------
    values : ndarray of shape (rows, cols)
        The input's values; NaN where there is no input (padding and beyond).
    blank : ndarray of bool, shape (rows, cols)
        Cells that hold no input.
    padding : ndarray of bool, shape (rows, cols)
        Cells in the padding (a subset of ``blank``); the rest of ``blank`` lies beyond it.
    row0, col0 : int
        Input coordinates of the grid's top-left cell (``-padding``).
    """

    def __init__(self, values, blank, padding, row0, col0):
        self.values, self.blank, self.padding, self.row0, self.col0 = values, blank, padding, row0, col0

    @property
    def rows(self) -> tuple[float, float]:
        """Input coordinates of the grid's top and bottom cell edges."""
        return self.row0 - 0.5, self.row0 + self.values.shape[0] - 0.5

    @property
    def cols(self) -> tuple[float, float]:
        """Input coordinates of the grid's left and right cell edges."""
        return self.col0 - 0.5, self.col0 + self.values.shape[1] - 0.5


def padded_grid(x, geom) -> PaddedGrid:
    """``x`` (H, W) on the grid its windows reach: padding on every side, and ceil_mode windows past it."""
    x = np.asarray(x, dtype=float)
    H, W = x.shape
    ph, pw = geom.h.padding, geom.w.padding
    r_hi = max(H + ph, int(geom.h.starts[-1]) + geom.h.span)
    c_hi = max(W + pw, int(geom.w.starts[-1]) + geom.w.span)
    values = np.full((r_hi + ph, c_hi + pw), np.nan)
    values[ph: ph + H, pw: pw + W] = x
    blank = np.ones(values.shape, dtype=bool)
    blank[ph: ph + H, pw: pw + W] = False
    padding = blank.copy()
    padding[H + 2 * ph:, :] = False
    padding[:, W + 2 * pw:] = False
    return PaddedGrid(values, blank, padding, -ph, -pw)


def format_value(v) -> str:
    """Short text for a number in a cell or a title.

    Integers without decimals (``"3"``), else two decimals (``"0.33"``); values smaller than 0.005 with one
    significant digit (``"1e-4"``, ``"1e-10"``); large ones (``|v| >= 1e4``) with three significant digits
    (``"1e+05"``), so a label stays narrow enough for its cell.
    """
    v = float(v)
    if not np.isfinite(v):
        return "-inf" if v == -np.inf else ("inf" if v > 0 else "nan")
    if v == 0:
        return "0"
    if abs(v) >= 1e4:
        return f"{v:.3g}"
    if abs(v) < 0.005:
        return f"{v:.0e}".replace("e-0", "e-")
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v)))
    return f"{v:.2f}"


def gradient_sum_check(dx, grad_output, *, short: bool = False) -> tuple[str, bool]:
    """Compare the gradient's sum with the upstream sum; say whether a max-pooling ``dx`` can be a gradient.

    Max pooling hands each window's gradient back whole (first maximum) or in equal shares (split among
    tied maxima), so ``dx.sum()`` equals ``grad_output.sum()``. Any other sum, larger or smaller (with a
    negative upstream gradient, giving every tied maximum the full gradient makes the sum *smaller*),
    means the rule is wrong. Use it for ops that route each window's gradient to one input (max and
    stochastic pooling); average pooling with padding legitimately hands back less (the padding's share
    is dropped).

    Parameters
    ----------
    dx : array_like of shape (..., H, W)
    grad_output : array_like of shape (..., H_out, W_out)
    short : bool
        The few words a picture's title has room for: ``"sum 1 = upstream 1"``, ``"sum 4 > upstream 1: wrong"``.

    Returns
    -------
    text : str
        ``"sum of dx = 1 = upstream 1"``, or ``"sum of dx = 4 > upstream 1: not a gradient"`` (``<`` when
        the sum falls short).
    is_gradient : bool
        Whether the two sums agree (up to float rounding).
    """
    a, b = float(np.sum(dx)), float(np.sum(grad_output))
    fa, fb = format_value(a), format_value(b)
    ok = bool(np.isclose(a, b))
    relation = "=" if ok else (">" if a > b else "<")
    if short:
        return f"sum {fa} {relation} upstream {fb}" + ("" if ok else ": wrong"), ok
    return f"sum of dx = {fa} {relation} upstream {fb}" + ("" if ok else ": not a gradient"), ok


def compact_png(fig, *, dpi=None, colors: int = 256) -> bytes:
    """PNG bytes of ``fig`` as a notebook shows it (tight bounding box), with at most ``colors`` colours.

    These pictures are flat cells, lines and text on white: 256 colours (no dithering; Pillow's
    maximum-coverage palette keeps white exact and no pixel more than a few levels off) look the same as the
    full-colour PNG matplotlib writes, in about a third of the bytes, so notebooks stored at 100 dpi stay
    smaller than they were at 70. ``dpi`` defaults to the figure's own (``rcParams["figure.dpi"]`` when it
    was made). Needs Pillow (a matplotlib dependency).
    """
    import io

    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=dpi or fig.dpi, bbox_inches="tight", facecolor=fig.get_facecolor(),
                edgecolor=fig.get_edgecolor())
    image = Image.open(io.BytesIO(raw.getvalue())).convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    paletted = flat.quantize(colors, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    paletted.save(out, "PNG", optimize=True)
    return out.getvalue()


def show_figures_compact(shell=None, *, colors: int = 256) -> None:
    """Make IPython store every matplotlib figure a notebook displays as a :func:`compact_png`.

    An opt-in for a notebook's first cell, after ``%matplotlib inline`` (which sets IPython's own PNG
    formatter; this one replaces it). Nothing else changes: no rcParams, no pyplot state.
    """
    import base64
    from functools import partial

    from matplotlib.figure import Figure

    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            get_ipython = None
        shell = get_ipython() if get_ipython else None
        if shell is None:
            raise RuntimeError("show_figures_compact() works inside IPython or Jupyter; outside, call "
                               "compact_png(fig) and write the bytes yourself")

    def formatter(fig, colors):
        return base64.b64encode(compact_png(fig, colors=colors)).decode("ascii")

    shell.display_formatter.formatters["image/png"].for_type(Figure, partial(formatter, colors=colors))
