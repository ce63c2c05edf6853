"""Smoke tests for poolviz.plots: every public function draws, returns what it drew, and leaks no figure."""
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
    fig.canvas.draw()  # actually rasterise: layout and text errors only show up here


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
