"""Smoke tests for poolviz.plots: every public function draws, returns what it drew, and leaks no figure."""
import functools
import sys

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import poolviz.plots as P  # noqa: E402
from poolviz.data import example_input  # noqa: E402
from poolviz.geometry import pool_geometry as pv_geometry  # noqa: E402
from poolviz.routing import route_counts, run_pool  # noqa: E402

X = example_input("ties", (6, 6))


def _render(fig):
    # actually rasterise: layout and text errors only show up here (a pyplot-free Figure's own canvas draws nothing)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()


def _calls():
    dx = run_pool("max", X, 3, 1).dx
    return {
        "plot_windows": lambda ax: P.plot_windows(X, 3, 2, 1, 1, True, selected=(1, 1), ax=ax),
        "plot_windows_dilated": lambda ax: P.plot_windows(X, 2, 1, 0, 2, selected=(0, 0), ax=ax),
        "plot_routed_gradient": lambda ax: P.plot_routed_gradient(dx, route_counts("max", X, 3, 1), ax=ax),
        "plot_routed_gradient_signed": lambda ax: P.plot_routed_gradient(-dx, ax=ax, vmax=2.0),
        "plot_jacobian_max": lambda ax: P.plot_jacobian("max", (4, 4), 2, ax=ax),
        "plot_jacobian_avg": lambda ax: P.plot_jacobian("avg", X, 2, 1, ax=ax, padding=1),
        "plot_route_counts": lambda ax: P.plot_route_counts("lse", X, 2, ax=ax, beta=3.0),
        "plot_axis_windows": lambda ax: P.plot_axis_windows(9, 3, 2, 1, 2, ax=ax),
    }


def _multi_calls():
    return {
        "plot_pooling_comparison": lambda axes: P.plot_pooling_comparison(X, 2, 1, beta=2.0, axes=axes),
        "plot_window_steps": lambda axes: P.plot_window_steps([[1, 3], [3, 2]], grad=0.5, axes=axes),
        "plot_tie_policies": lambda axes: P.plot_tie_policies(X, 2, 1, axes=axes),
    }


@pytest.mark.parametrize("name", list(_calls()))
def test_single_axes_functions_draw_on_given_ax_and_on_their_own(name):
    call = _calls()[name]
    fig = Figure()
    ax = fig.add_subplot()
    assert call(ax) is ax
    _render(fig)
    own = call(None)
    assert isinstance(own, Axes) and own.figure is not fig
    _render(own.figure)


@pytest.mark.parametrize("name", list(_multi_calls()))
def test_three_panel_functions(name):
    call = _multi_calls()[name]
    fig = Figure(figsize=(9, 3))
    given = list(fig.subplots(1, 3))
    assert call(given) == given
    _render(fig)
    own = call(None)
    assert len(own) == 3 and all(isinstance(a, Axes) for a in own)
    _render(own[0].figure)
    with pytest.raises(ValueError, match="3 panels"):
        call(given[:2])


def test_every_public_plot_function_is_exercised():
    drawn = {n.split("_dilated")[0].split("_signed")[0].split("_max")[0].split("_avg")[0]
             for n in list(_calls()) + list(_multi_calls())}
    public = {n for n in P.__all__ if n.startswith("plot_")}
    assert public <= drawn


def test_no_pyplot_and_no_rcparams_change():
    before = dict(mpl.rcParams)
    P.plot_windows(X, 2)
    assert "matplotlib.pyplot" not in sys.modules or not __import__("matplotlib.pyplot").pyplot.get_fignums()
    assert dict(mpl.rcParams) == before


def test_import_poolviz_does_not_import_matplotlib_or_ipywidgets():
    import subprocess

    code = "import sys, poolviz; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_comparison_uses_one_fixed_scale():
    axes = P.plot_pooling_comparison(np.arange(16.0).reshape(4, 4), 2)
    norms = {(im.norm.vmin, im.norm.vmax) for ax in axes for im in ax.images}
    assert norms == {(0.0, 1.0)}  # max's 1 sets the top; average's 1/4 is drawn on the same scale


def test_plot_windows_marks_first_maximum_and_reports_invalid_arguments():
    x = np.array([[1.0, 5.0], [5.0, 0.0]])
    ax = P.plot_windows(x, 2, selected=(0, 0))
    assert "max 5 at (0, 1)" in ax.get_title()  # the first of the tied maxima, row-major
    with pytest.raises(ValueError, match="padding"):
        P.plot_windows(x, 2, padding=2)
    with pytest.raises(ValueError, match="outside"):
        P.plot_windows(x, 2, selected=(1, 0))


def test_tie_policy_titles_show_the_wrong_sum():
    x = np.zeros((2, 2))
    axes = P.plot_tie_policies(x, 2)
    assert "sum of dx = 1 = upstream 1" in axes[0].get_title()
    assert "sum of dx = 1 = upstream 1" in axes[1].get_title()
    assert "sum of dx = 4 > upstream 1:\nnot a gradient" in axes[2].get_title()


def test_tie_policy_titles_with_a_negative_upstream_gradient():
    axes = P.plot_tie_policies(np.zeros((2, 2)), 2, grad_output=[[-1.0]])
    assert "sum of dx = -1 = upstream -1" in axes[0].get_title()
    assert "sum of dx = -4 < upstream -1:\nnot a gradient" in axes[2].get_title()  # was "-4 > upstream -1"
    assert ">" not in axes[2].get_title()


def test_pooling_comparison_refuses_a_batch_and_checks_axes_first():
    with pytest.raises(ValueError, match="single 2-d input of shape .H, W., got shape .2, 6, 6."):
        P.plot_pooling_comparison(np.stack([X, X]), 2)
    fig = Figure()
    with pytest.raises(ValueError, match="3 panels; got 2"):  # before any pooling (kernel 9 does not fit)
        P.plot_pooling_comparison(X, 9, axes=fig.subplots(1, 2))


@pytest.mark.parametrize("name", list(_calls()) + list(_multi_calls()))
def test_a_colorbar_is_documented(name):
    call = {**_calls(), **_multi_calls()}[name]
    fig = Figure(figsize=(9, 3))
    given = fig.add_subplot() if name in _calls() else list(fig.subplots(1, 3))
    call(given)
    function = getattr(P, "plot_" + name.split("plot_")[1].split("_dilated")[0].split("_signed")[0]
                       .split("_max")[0].split("_avg")[0])
    if len(fig.axes) > (1 if name in _calls() else 3):  # a colorbar Axes was added to the figure
        assert "colorbar" in function.__doc__, f"{function.__name__} adds a colorbar but does not say so"


def test_all_lists_what_plots_defines_and_the_style_lives_in_style():
    import inspect

    from poolviz import style

    for name in P.__all__:
        obj = getattr(P, name)
        assert inspect.isfunction(obj) and obj.__module__.startswith(P.__name__ + "."), f"{name} is not plots' own"
    # one style for every picture: colours and scales are style's; the old names still import from plots
    assert {"OKABE_ITO", "SELECT_COLOR", "grad_norm", "format_value", "value_norm"} <= set(style.__all__)
    assert P.grad_norm is style.grad_norm and P.INPUT_CMAP == style.INPUT_CMAP
    assert "tie_policy_gradients" not in P.__all__ and "format_value" not in P.__all__


def test_window_outlines_are_one_per_window():
    geom = pv_geometry((6, 6), 3, 1)
    rects = P.windows._window_rects(geom)
    assert len(rects) == 16 and all(len(r) == 5 for r in rects)
    assert {r[-1] for r in rects} == {0, 1, 2, 3}  # four alternating colours, so overlaps stay visible


def test_stochastic_route_counts_come_from_the_drawn_sample():
    rng = np.random.default_rng(0)  # a Generator moves on with every sample: two draws would differ
    ax = P.plot_route_counts("stochastic", example_input("relu", (8, 8)) + 0.5, 2, 1, rng=rng)
    dx = ax.images[0].get_array().filled(0)
    boxed = {(round(p.get_y() + 0.45), round(p.get_x() + 0.45)) for p in ax.patches}  # inputs reached 2+ times
    tags = {(round(t.get_position()[1] + 0.42), round(t.get_position()[0] - 0.42)): t.get_text()
            for t in ax.texts if t.get_text().startswith("x")}
    assert boxed and boxed == set(tags)
    # a tagged input received the gradient of that many windows (each sends 1): the heatmap's own number
    assert all(dx[r, c] == int(text[1:]) for (r, c), text in tags.items())
    assert {(int(r), int(c)) for r, c in np.argwhere(dx >= 2)} == boxed


@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_nan_and_infinities_keep_the_colour_scales_finite(special):
    x = np.arange(16.0).reshape(4, 4)
    x[1, 2] = special
    ax = P.plot_windows(x, 2, padding=1, selected=(1, 1))
    norms = [im.norm for im in ax.images]
    assert all(np.isfinite([n.vmin, n.vmax]).all() for n in norms)
    assert (norms[0].vmin, norms[0].vmax) == (0.0, 15.0)  # the finite values' range
    assert {t.get_text() for t in ax.texts} >= {format(v) for v in ("0", "15", P.format_value(special))}
    dx = np.zeros((4, 4))
    dx[0, 0], dx[3, 3] = 1.0, special
    ax = P.plot_routed_gradient(dx)
    assert np.isfinite([ax.images[0].norm.vmin, ax.images[0].norm.vmax]).all() and ax.images[0].norm.vmax == 1.0
    P.plot_window_steps([[1.0, special], [3.0, 2.0]])
    _render(ax.figure)


# ---- readable on a projector: notebooks store figures at 100 dpi -------------------------------------------------

FLOOR_PT = 7.5  # 10 px at 100 dpi is 7.2 pt; 7.5 pt (10.4 px) leaves a margin for rounding in rasterising
X8 = np.round(example_input("relu", (8, 8)), 2)
X_RELU = np.array([[0.0, 1.1, 1.3, 0.0, 0.0, 0.0], [0.0, 1.1, 0.0, 0.0, 0.0, 0.0],
                   [0.0, 0.0, 1.2, 0.6, 0.0, 0.8], [0.3, 1.6, 0.9, 0.0, 1.0, 0.0]])  # notebook 06's tie example


def _notebook_01_panels():
    """Notebook 01's figure: input windows, max and average gradients, in one 10 x 3.4 in figure."""
    fig = Figure(figsize=(10.0, 3.4), layout="constrained")
    ax_in, ax_max, ax_avg = fig.subplots(1, 3)
    g = np.ones((4, 4))
    P.plot_windows(X8, kernel_size=2, selected=(1, 1), ax=ax_in)
    P.plot_routed_gradient(run_pool("max", X8, 2, grad_output=g).dx, ax=ax_max, vmax=1.0)
    P.plot_routed_gradient(run_pool("avg", X8, 2, grad_output=g).dx, ax=ax_avg, vmax=1.0)
    return fig


def _figures():
    """Each public plot function on the inputs the notebooks give it (8x8 grids, a 16x16 Jacobian, ...)."""
    x6 = np.random.default_rng(0).permutation(36).reshape(6, 6).astype(float)
    x16 = example_input("relu", (16, 16))
    return {
        "plot_windows 8x8": lambda: P.plot_windows(X8, 2, selected=(1, 1)).figure,
        "plot_windows 8x8 stride 3": lambda: P.plot_windows(X8, 2, 3, selected=(0, 1)).figure,
        "plot_windows 8x8 dilated": lambda: P.plot_windows(X8, 2, 2, dilation=2, selected=(0, 0)).figure,
        "plot_windows padding ceil_mode": lambda: P.plot_windows(X, 3, 2, 1, 1, True, selected=(1, 1)).figure,
        "plot_windows 12x12": lambda: P.plot_windows(example_input("relu", (12, 12)), 3, 1, selected=(2, 3)).figure,
        "plot_windows 16x16": lambda: P.plot_windows(x16, 4, selected=(0, 0)).figure,
        "plot_routed_gradient 8x8": lambda: P.plot_routed_gradient(run_pool("max", X8, 2).dx, vmax=1.0).figure,
        "plot_routed_gradient counts": lambda: P.plot_routed_gradient(run_pool("max", x6, 3, 1).dx,
                                                                      route_counts("max", x6, 3, 1)).figure,
        "plot_routed_gradient 16x16": lambda: P.plot_routed_gradient(run_pool("avg", x16, 2).dx).figure,
        "plot_route_counts": lambda: P.plot_route_counts("max", X8, 3, 1).figure,
        "plot_jacobian 4x16": lambda: P.plot_jacobian("avg", X[:4, :4], 2).figure,
        "plot_jacobian 16x16": lambda: P.plot_jacobian("avg", (4, 4), 3, 1, padding=1).figure,
        "plot_jacobian 16x64": lambda: P.plot_jacobian("max", X8, 2).figure,
        "plot_pooling_comparison 8x8": lambda: P.plot_pooling_comparison(X8, 2)[0].figure,
        "plot_window_steps 2x2": lambda: P.plot_window_steps([[0.64, 0.1], [1.3, 0.95]], grad=2.0)[0].figure,
        "plot_window_steps 3x3": lambda: P.plot_window_steps(X8[:3, :3])[0].figure,
        "plot_tie_policies 4x6": lambda: P.plot_tie_policies(X_RELU, 2)[0].figure,
        "plot_tie_policies 8x8": lambda: P.plot_tie_policies(X8, 2)[0].figure,
        "plot_axis_windows dilated": lambda: P.plot_axis_windows(9, 3, 2, padding=1, dilation=2).figure,
        "plot_axis_windows ceil_mode": lambda: P.plot_axis_windows(5, 3, 3, 1, ceil_mode=True, cells=(-1, 9)).figure,
        "notebook 01 panels": _notebook_01_panels,
    }


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_every_public_plot_function_has_a_typical_figure():
    drawn = {name.split()[0] for name in _figures()}
    assert {n for n in P.__all__ if n.startswith("plot_")} <= drawn


@functools.lru_cache(maxsize=None)
def _rendered(name):
    """The figure ``name`` of :func:`_figures`, drawn once at 100 dpi and shared by the read-only tests below."""
    fig = _figures()[name]()
    fig.set_dpi(100)
    _render(fig)
    return fig


@pytest.mark.parametrize("name", list(_figures()))
def test_every_text_is_at_least_10_px_tall_at_100_dpi(name):
    fig = _rendered(name)
    texts = _texts(fig)
    assert texts, "nothing to check"
    small = sorted({(t.get_fontsize(), t.get_text()) for t in texts if t.get_fontsize() < FLOOR_PT})
    assert not small, f"{name}: text below {FLOOR_PT} pt (10 px at 100 dpi): {small[:5]}"
    words = {w.lower().strip(",:;()") for t in texts for w in t.get_text().split()}
    assert not words & {"dy", "sparsity", "sparse"}, f"{name}: say g (upstream gradient) and fraction reached"
    # and the font size really is the height drawn: a digit's box is at least 10 px tall at 100 dpi
    digits = [t for t in texts if t.get_text().isdigit()]
    if digits:
        renderer = fig.canvas.get_renderer()
        assert min(t.get_window_extent(renderer).height for t in digits) >= 10


@pytest.mark.parametrize("name", list(_figures()))
def test_every_colour_bar_says_what_the_colour_means(name):
    fig = _rendered(name)
    bars = {im.colorbar for ax in fig.axes for im in ax.images if getattr(im, "colorbar", None) is not None}
    for cb in bars:
        label = cb.ax.get_ylabel() if cb.orientation == "vertical" else cb.ax.get_xlabel()
        assert label.strip(), f"{name}: a colour bar without a label"
        assert cb.ax.yaxis.label.get_fontsize() >= FLOOR_PT
    if name.startswith(("plot_routed", "plot_route_counts", "plot_pooling", "plot_tie")):
        assert bars and all("gradient received" in cb.ax.get_ylabel() for cb in bars)


@pytest.mark.parametrize("name", ["plot_windows 8x8", "plot_windows 12x12", "plot_routed_gradient 8x8",
                                  "plot_pooling_comparison 8x8", "plot_tie_policies 8x8", "notebook 01 panels"])
def test_cell_numbers_fit_in_their_cells(name):
    fig = _rendered(name)
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if not ax.images:
            continue
        cell_px = abs(ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0])
        numbers = [t for t in ax.texts if t.get_text() and t.get_text()[0] in "-0123456789n"]
        assert numbers
        widest = max(t.get_window_extent(renderer).width for t in numbers)
        assert widest <= cell_px, f"{name}: a {widest:.0f} px number in a {cell_px:.0f} px cell"


def test_grids_beyond_12x12_carry_no_numbers_and_say_so():
    ax = P.plot_routed_gradient(run_pool("avg", example_input("relu", (16, 16)), 2).dx)
    assert not [t for t in ax.texts if t.get_text()[:1].isdigit()]
    assert "12x12" in P.plot_routed_gradient.__doc__ and "12x12" in P.plot_windows.__doc__


def test_figure_text_says_g_and_fraction_reached():
    steps = P.plot_window_steps([[1.0, 3.0], [3.0, 2.0]], grad=0.5)
    assert steps[2].get_title().startswith("3. backward: g = 0.50")
    assert "fraction reached: 16 of 64 inputs (25%)" in P.plot_routed_gradient(run_pool("max", X8, 2).dx).get_title()


# ---- the selection: a white line in a black halo ----------------------------------------------------------------

def _selection_artists(ax):
    from matplotlib.colors import to_rgba

    white = to_rgba(P.SELECT_COLOR)
    return [a for a in ax.patches + ax.lines
            if (hasattr(a, "get_edgecolor") and to_rgba(a.get_edgecolor()) == white)
            or (hasattr(a, "get_color") and not hasattr(a, "get_edgecolor") and to_rgba(a.get_color()) == white)]


@pytest.mark.parametrize("make", [lambda: [P.plot_windows(X8, 2, selected=(1, 1))],
                                  lambda: [P.plot_windows(X8, 2, 2, dilation=2, selected=(0, 0))],
                                  lambda: P.plot_window_steps([[1.0, 3.0], [3.0, 2.0]])[1:]])
def test_selection_and_winner_are_white_in_a_black_halo(make):
    from matplotlib.colors import to_rgb
    from matplotlib.patheffects import Stroke

    from poolviz.style import SELECT_HALO

    for ax in make():
        marks = _selection_artists(ax)
        assert marks
        for a in marks:
            halo = [e for e in a.get_path_effects() if isinstance(e, Stroke)]
            assert halo and to_rgb(halo[0]._gc["foreground"]) == to_rgb(SELECT_HALO), a
            assert halo[0]._gc["linewidth"] > a.get_linewidth()


def test_winner_triangle_sits_in_the_first_maximum():
    x = np.array([[1.0, 5.0], [5.0, 0.0]])
    ax = P.plot_windows(x, 2, selected=(0, 0))
    from matplotlib.patches import Polygon

    (tri,) = [p for p in _selection_artists(ax) if isinstance(p, Polygon) and p.get_fill()]
    cx, cy = np.asarray(tri.get_xy())[:3].mean(axis=0)
    assert (round(cy), round(cx)) == (0, 1)  # (0, 1) is the first 5 in row-major order


# ---- dilation: only the members; stride > kernel: the gaps ----------------------------------------------------

def _selected_cells(ax):
    """Input cells covered by the selection outlines (rectangles only)."""
    from matplotlib.patches import Rectangle

    cells = set()
    for p in _selection_artists(ax):
        if isinstance(p, Rectangle):
            x0, y0, w, h = p.get_x(), p.get_y(), p.get_width(), p.get_height()
            cells |= {(r, c) for r in range(-2, 10) for c in range(-2, 10) if x0 < c < x0 + w and y0 < r < y0 + h}
    return cells


def test_a_dilated_window_is_drawn_as_its_members_not_a_box():
    ax = P.plot_windows(X8, kernel_size=2, stride=2, dilation=2, selected=(1, 0))
    # window (1, 0) with kernel 2, stride 2, dilation 2: rows 2 and 4, columns 0 and 2 (by hand)
    assert _selected_cells(ax) == {(2, 0), (2, 2), (4, 0), (4, 2)}
    ax = P.plot_windows(X8, kernel_size=2, stride=2, selected=(1, 0))  # contiguous: the whole box
    assert _selected_cells(ax) == {(2, 0), (2, 1), (3, 0), (3, 1)}


def test_other_dilated_windows_outline_members_only():
    from matplotlib.collections import LineCollection

    ax = P.plot_windows(X8, kernel_size=2, stride=2, dilation=2)
    (outlines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = outlines.get_segments()
    assert len(segments) == 9 * 4 * 4  # 3x3 windows, 4 member cells each, 4 sides each
    centres = {(round(float(np.mean(s[:, 1]))), round(float(np.mean(s[:, 0])))) for s in segments}
    spans = {round(float(np.ptp(s[:, 0]) + np.ptp(s[:, 1])), 2) for s in segments}
    assert max(spans) < 1  # every side is shorter than one cell: no box across the skipped inputs
    assert all(r % 2 == 0 or c % 2 == 0 for r, c in centres)


@pytest.mark.parametrize("k, s, d, gap_rows", [(2, 3, 1, {2, 5}), (2, 2, 2, {1, 3, 5, 7}), (3, 3, 1, {6, 7})])
def test_gap_cells_are_marked_and_the_title_says_so(k, s, d, gap_rows):
    # by hand, 8 inputs per axis: k=2 s=3 windows cover 0-1, 3-4, 6-7; k=2 s=2 d=2 covers 0, 2, 4, 6;
    # k=3 s=3 covers 0-5 (floor mode drops 6-7)
    expected = {(r, c) for r in range(8) for c in range(8) if r in gap_rows or c in gap_rows}
    ax = P.plot_windows(X8, kernel_size=k, stride=s, dilation=d)
    marks = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert len(marks) == 1
    got = {(round(y), round(x)) for x, y in zip(*marks[0].get_data())}
    assert got == expected
    assert f"{len(expected)} inputs in no window" in ax.get_title()
    assert "x" in ax.get_title().split("\n")[-1]  # the title names the mark


def test_no_gap_mark_when_every_input_is_in_a_window():
    ax = P.plot_windows(X8, kernel_size=2)
    assert not [ln for ln in ax.lines if ln.get_marker() == "x"] and "no window" not in ax.get_title()


def test_tie_policy_panels_outline_the_windows():
    from matplotlib.collections import LineCollection

    axes = P.plot_tie_policies(X_RELU, 2)
    for ax in axes:
        (outlines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        boxes = set()
        for i in range(0, len(outlines.get_segments()), 4):
            pts = np.concatenate(outlines.get_segments()[i:i + 4])
            boxes.add((round(float(pts[:, 1].min())), round(float(pts[:, 0].min()))))  # top-left cell
        assert boxes == {(0, 0), (0, 2), (0, 4), (2, 0), (2, 2), (2, 4)}  # 2x2 windows over 4x6, by hand
    assert axes[2].title.get_fontweight() == "bold" and axes[0].title.get_fontweight() == "normal"


@pytest.mark.parametrize("L, k, s, p, d, ceil, windows", [
    (9, 3, 2, 1, 2, False, [[-1, 1, 3], [1, 3, 5], [3, 5, 7], [5, 7, 9]]),   # by hand: start i*s - p, d apart
    (5, 3, 3, 1, 1, True, [[-1, 0, 1], [2, 3, 4]]),                          # the third would start at L: dropped
    (6, 3, 2, 0, 1, True, [[0, 1, 2], [2, 3, 4], [4, 5, 6]]),                # ceil_mode adds a window past the end
])
def test_plot_axis_windows_marks_each_window_s_members_and_the_next(L, k, s, p, d, ceil, windows):
    ax = P.plot_axis_windows(L, k, s, p, d, ceil)
    filled = {}
    for patch in ax.patches:
        x, y = patch.get_xy()
        if patch.get_width() == 0.8:   # a member mark, in row y + 0.4
            filled.setdefault(round(y + 0.4), []).append(round(x + 0.4))
    rows = [sorted(filled[r]) for r in sorted(filled)]
    assert rows[:-1] == windows
    assert rows[-1] == [c + s * len(windows) for c in windows[0]]   # the next window, dashed
    assert ax.get_title().endswith(f"{len(windows)} windows")
