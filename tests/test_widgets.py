"""Drive the explorer headlessly: set control values, then check what it shows against the poolviz ops."""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import ipywidgets  # noqa: E402
import matplotlib.colors  # noqa: E402

import poolviz as pv  # noqa: E402
from conftest import sum_pool2d, sum_pool2d_backward  # noqa: E402
from poolviz.data import example_input  # noqa: E402
from poolviz.plots import format_value  # noqa: E402
from poolviz.routing import tie_policy_gradients  # noqa: E402
from poolviz.widgets import PoolExplorer, explore, parse_matrix, static_explorer  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(png):
    """(width, height) in pixels, from the PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _ones(y):
    return np.ones(np.shape(y))


def test_explore_defaults_show_a_picture_and_the_max_pool_state():
    ex = explore()
    assert isinstance(ex, PoolExplorer) and isinstance(ex, ipywidgets.VBox)
    assert ex.message == "" and ex.image.value == ex.png and ex.png.startswith(PNG)
    x = example_input("random", (6, 6))
    np.testing.assert_array_equal(ex.x, x)
    np.testing.assert_array_equal(ex.output, pv.max_pool2d(x, 2))
    np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(np.ones((3, 3)), x, 2))
    assert not hasattr(ex, "grad")  # one name, one meaning: dx is the gradient, grad_kind the upstream preset
    assert ex.grad_kind.value == "ones"
    np.testing.assert_array_equal(ex.dx_shown, ex.dx)
    assert ex.fraction_reached == pytest.approx(9 / 36)
    assert "9 of 36" in ex.info.value


@pytest.mark.parametrize("kind", ["random", "ties", "relu", "image"])
@pytest.mark.parametrize("stride", [0, 1])
def test_max_pool_state_matches_the_op(kind, stride):
    ex = explore(op="max")
    ex.input_kind.value = kind
    ex.size.value = 7
    ex.kernel_size.value = 3
    ex.stride.value = stride
    ex.padding.value = 1
    ex.ceil_mode.value = True
    x = example_input(kind, (7, 7))
    s = stride or None
    y = pv.max_pool2d(x, 3, s, 1, 1, True)
    assert ex.message == ""
    np.testing.assert_array_equal(ex.output, y)
    np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(_ones(y), x, 3, s, 1, 1, True))
    assert ex.fraction_reached == np.count_nonzero(ex.dx) / x.size


@pytest.mark.parametrize("op,setup,forward,backward", [
    ("avg", {"padding": 1, "count_include_pad": False},
     lambda x: pv.avg_pool2d(x, 3, 1, 1, False, False),
     lambda g, x: pv.avg_pool2d_backward(g, x, 3, 1, 1, False, False)),
    ("lse", {"beta": 10.0},
     lambda x: pv.logsumexp_pool2d(x, 3, 1, beta=10.0),
     lambda g, x: pv.logsumexp_pool2d_backward(g, x, 3, 1, beta=10.0)),
    ("lp", {"norm_type": 3.0},
     lambda x: pv.lp_pool2d(x, 3.0, 3, 1),
     lambda g, x: pv.lp_pool2d_backward(g, x, 3.0, 3, 1)),
    ("soft", {}, lambda x: pv.soft_pool2d(x, 3, 1), lambda g, x: pv.soft_pool2d_backward(g, x, 3, 1)),
    ("max", {"dilation": 2}, lambda x: pv.max_pool2d(x, 3, 1, dilation=2),
     lambda g, x: pv.max_pool2d_backward(g, x, 3, 1, dilation=2)),
])
def test_every_op_matches_its_backward(op, setup, forward, backward):
    ex = explore(op=op, kernel_size=3, stride=1, input_kind="relu", size=7)
    for name, value in setup.items():
        getattr(ex, name).value = value
    assert ex.message == ""
    x = example_input("relu", (7, 7))
    y = forward(x)
    np.testing.assert_allclose(ex.output, y, rtol=0, atol=0)
    np.testing.assert_array_equal(ex.dx, backward(_ones(y), x))


def _hidden(control):
    return control.layout.display == "none"


def test_irrelevant_controls_are_hidden_and_come_back():
    ex = explore(op="lse")
    assert ex.padding.disabled and ex.dilation.disabled and not ex.beta.disabled and ex.resample.disabled
    assert _hidden(ex.padding) and _hidden(ex.dilation) and _hidden(ex.ceil_mode) and _hidden(ex.resample)
    assert _hidden(ex.tie_policy) and _hidden(ex.norm_type) and not _hidden(ex.beta)
    ex.op.value = "max"
    assert not ex.padding.disabled and not ex.dilation.disabled and ex.beta.disabled
    assert not _hidden(ex.padding) and not _hidden(ex.dilation) and not _hidden(ex.tie_policy) and _hidden(ex.beta)
    assert _hidden(ex.count_include_pad)
    ex.op.value = "avg"
    assert not ex.padding.disabled and ex.dilation.disabled and not ex.count_include_pad.disabled
    assert not _hidden(ex.count_include_pad) and _hidden(ex.dilation) and _hidden(ex.tie_policy)
    ex.op.value = "stochastic"
    assert not _hidden(ex.resample) and not ex.resample.disabled and _hidden(ex.padding)
    # controls every op uses stay, and hiding one control leaves those that share its row alone
    for name in ("op", "kernel_size", "stride", "input_kind", "size", "grad_kind", "row", "col", "step"):
        assert not _hidden(getattr(ex, name)), name
    ex.input_kind.value = "custom"
    assert _hidden(ex.size) and not _hidden(ex.matrix)
    ex.input_kind.value = "ties"
    assert not _hidden(ex.size) and _hidden(ex.matrix)


def test_upstream_gradient_presets():
    ex = explore(op="max", kernel_size=2, stride=1, input_kind="ties", size=5)
    x = ex.x
    ex.row.value, ex.col.value = 2, 3
    ex.grad_kind.value = "onehot"
    g = np.zeros((4, 4))
    g[2, 3] = 1
    np.testing.assert_array_equal(ex.grad_output, g)
    np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(g, x, 2, 1))
    assert np.count_nonzero(ex.dx) == 1 and ex.fraction_reached == 1 / 25
    ex.grad_kind.value = "random"
    assert (ex.grad_output != 1).any()
    np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(ex.grad_output, x, 2, 1))
    ex.grad_kind.value = "ones"
    np.testing.assert_array_equal(ex.grad_output, np.ones((4, 4)))


def test_selection_is_clamped_when_the_output_shrinks():
    ex = explore(kernel_size=1, size=6)
    ex.row.value, ex.col.value = 5, 5
    ex.kernel_size.value = 3
    assert (ex.row.max, ex.col.max) == (1, 1) and (ex.row.value, ex.col.value) == (1, 1)
    assert ex.message == ""


@pytest.mark.parametrize("op", ["max", "avg", "lse"])
def test_player_accumulates_one_output_cell_at_a_time(op):
    ex = explore(op=op, kernel_size=3, stride=1, input_kind="ties", size=5, grad_kind="random")
    n = ex.step.max
    assert n == 9 and ex.step.value == n and ex.play.max == n
    x, g = ex.x, ex.grad_output
    back = {"max": lambda g: pv.max_pool2d_backward(g, x, 3, 1),
            "avg": lambda g: pv.avg_pool2d_backward(g, x, 3, 1),
            "lse": lambda g: pv.logsumexp_pool2d_backward(g, x, 3, 1)}[op]
    before = ex.png
    for k in (0, 1, 4, 8):
        ex.step.value = k
        kept = (np.arange(g.size) < k).reshape(g.shape)  # the first k output cells, row-major
        np.testing.assert_allclose(ex.dx_shown, back(np.where(kept, g, 0.0)), atol=1e-12)
        np.testing.assert_array_equal(ex.dx, back(g))  # the full backward does not change
    assert ex.png != before
    ex.step.value = n
    np.testing.assert_array_equal(ex.dx_shown, ex.dx)
    ex.kernel_size.value = 2  # a new shape: the player goes back to the whole backward
    assert ex.step.max == 16 and ex.step.value == 16


@pytest.mark.parametrize("policy", ["first", "split", "all"])
@pytest.mark.parametrize("geometry", [
    {"kernel_size": 2},                                          # non-overlapping windows
    {"kernel_size": 2, "stride": 1},                             # overlapping: a tie can be reached twice
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 2, "stride": 1, "dilation": 2},
])
@pytest.mark.parametrize("grad", ["ones", "random"])
def test_tie_policy_shows_the_rule_and_the_sum(policy, geometry, grad):
    ex = explore(op="max", input_kind="ties", size=7)
    ex.grad_kind.value = grad
    for name, value in geometry.items():
        getattr(ex, name).value = value
    ex.tie_policy.value = policy
    assert ex.message == "" and not ex.tie_policy.disabled
    x, g = example_input("ties", (7, 7)), ex.grad_output
    k, s = geometry["kernel_size"], geometry.get("stride")
    opts = {n: geometry[n] for n in ("padding", "dilation", "ceil_mode") if n in geometry}
    expected = tie_policy_gradients(x, k, s, policy, g, **opts)  # the plain-loop reference
    # the explorer weights each window's unit shares by g: g * (1/t) can differ from the loop's g / t in the last bit
    np.testing.assert_allclose(ex.dx, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ex.dx_shown, ex.dx)
    if policy == "first":  # the op itself: PyTorch's first maximum
        np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(g, x, k, s, **opts))
    total, upstream = format_value(expected.sum()), format_value(g.sum())
    if policy == "all" and grad == "ones":  # the ties preset has tied maxima in these windows
        assert expected.sum() > g.sum()
    if policy == "all" and not np.isclose(expected.sum(), g.sum()):
        relation = ">" if expected.sum() > g.sum() else "<"
        assert ex.sum_text == f"sum of dx = {total} {relation} upstream {upstream}: not a gradient"
        assert not ex.is_gradient
    else:
        assert ex.sum_text == f"sum of dx = {total} = upstream {upstream}" and ex.is_gradient
    assert ex.sum_text.replace(">", "&gt;").replace("<", "&lt;") in ex.info.value
    assert ex.fraction_reached == np.count_nonzero(expected) / x.size


def test_tie_policy_text_for_one_tied_window():
    ex = explore(np.array([[1.0, 1.0], [1.0, 1.0]]), kernel_size=2, tie_policy="all")
    assert ex.sum_text == "sum of dx = 4 > upstream 1: not a gradient"
    np.testing.assert_array_equal(ex.dx, np.ones((2, 2)))
    ex.tie_policy.value = "split"
    assert ex.sum_text == "sum of dx = 1 = upstream 1" and ex.is_gradient
    np.testing.assert_array_equal(ex.dx, np.full((2, 2), 0.25))
    ex.tie_policy.value = "first"
    np.testing.assert_array_equal(ex.dx, [[1, 0], [0, 0]])
    with pytest.raises(ValueError, match="tie_policy must be one of"):
        explore(tie_policy="random")


def test_tie_policy_player_accumulates_the_shares():
    ex = explore(op="max", kernel_size=2, stride=1, input_kind="ties", size=5, grad_kind="random", tie_policy="split")
    x, g = ex.x, ex.grad_output
    before = ex.png
    for step in (0, 3, 10):
        ex.step.value = step
        kept = np.where((np.arange(g.size) < step).reshape(g.shape), g, 0.0)
        np.testing.assert_allclose(ex.dx_shown, tie_policy_gradients(x, 2, 1, "split", kept), atol=1e-12)
    assert ex.png != before
    ex.step.value = ex.step.max
    np.testing.assert_allclose(ex.dx_shown, tie_policy_gradients(x, 2, 1, "split", g), rtol=0, atol=1e-12)


@pytest.mark.parametrize("op", ["avg", "lse", "soft"])
def test_tie_policy_is_disabled_and_ignored_for_other_ops(op):
    ex = explore(op="max", kernel_size=2, input_kind="ties", size=6, tie_policy="all")
    assert not ex.is_gradient
    ex.op.value = op
    assert ex.tie_policy.disabled and ex.is_gradient and ex.message == ""
    ex.tie_policy.value = "split"  # no ties to break: the op's own backward
    np.testing.assert_array_equal(ex.dx, pv.routing.run_pool(op, ex.x, 2).dx)
    assert "tie rule" not in ex.info.value and "not a gradient" not in ex.sum_text
    ex.op.value = "max"
    assert not ex.tie_policy.disabled
    np.testing.assert_array_equal(ex.dx, tie_policy_gradients(ex.x, 2, policy="split"))


def test_static_explorer_sweeps_the_tie_rules():
    box = static_explorer("tie_policy", op="max", kernel_size=2, stride=1, input_kind="ties", size=4)
    assert box.labels == ["first", "split", "all"] and len(set(box.frames)) == 3


@pytest.mark.parametrize("change,expected", [
    ({"padding": 2}, "padding"),                       # padding larger than kernel // 2
    ({"size": 4, "kernel_size": 6}, "does not fit"),   # kernel larger than the input
    ({"input_kind": "custom", "matrix": "1 -2\n3 4", "op": "stochastic"}, "non-negative"),  # a typed matrix < 0
    ({"matrix": "1 2\n3", "input_kind": "custom"}, "same number of entries"),
    ({"matrix": "1 x", "input_kind": "custom"}, "could not read"),
    ({"kernel_size": 3, "stride": 1, "dilation": 3}, "does not fit"),  # the dilated window is too wide
])
def test_invalid_combination_shows_the_message_and_keeps_the_picture(change, expected):
    ex = explore(op="max", kernel_size=2, input_kind="random", size=6)
    *valid, (last, bad) = change.items()
    for name, value in valid:
        getattr(ex, name).value = value
    assert ex.message == ""
    png, dx, y = ex.image.value, ex.dx.copy(), ex.output.copy()
    getattr(ex, last).value = bad  # must not raise
    assert expected in ex.message
    assert expected in ex.error.value and "last valid picture" in ex.error.value
    assert ex.image.value == png
    np.testing.assert_array_equal(ex.dx, dx)
    np.testing.assert_array_equal(ex.output, y)


def test_recovering_from_an_invalid_combination_clears_the_message():
    ex = explore(kernel_size=2)
    ex.padding.value = 2
    assert ex.message
    ex.kernel_size.value = 4
    assert ex.message == "" and ex.error.value == ""
    np.testing.assert_array_equal(ex.output, pv.max_pool2d(ex.x, 4, None, 2))


def test_custom_matrix():
    ex = explore(np.array([[1.0, 5.0], [5.0, 0.0]]), kernel_size=2)
    assert ex.input_kind.value == "custom" and ex.size.disabled
    np.testing.assert_array_equal(ex.dx, [[0, 1], [0, 0]])  # first maximum wins the tie
    ex.matrix.value = "1 2 3\n4 9 6\n7 8 9"
    np.testing.assert_array_equal(ex.x, np.arange(1, 10).reshape(3, 3) * 1.0 + np.array([[0, 0, 0], [0, 4, 0],
                                                                                           [0, 0, 0]]))
    np.testing.assert_array_equal(ex.output, [[9.0]])
    assert ex.fraction_reached == pytest.approx(1 / 9)


def test_parse_matrix():
    np.testing.assert_array_equal(parse_matrix("1, 2; 3 4\n"), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="at most"):
        parse_matrix("\n".join(["1 " * 40] * 2))


def test_stochastic_resample_routes_to_the_sampled_inputs():
    ex = explore(op="stochastic", kernel_size=2, input_kind="relu", size=6)
    assert ex.message == ""
    first = ex.indices.copy()
    seen = {first.tobytes()}
    for _ in range(5):
        ex.resample.click()
        seen.add(ex.indices.tobytes())
        np.testing.assert_array_equal(
            ex.dx, pv.stochastic_pool2d_backward(np.ones((3, 3)), ex.x, ex.indices, 2))
        flat = ex.x.ravel()
        np.testing.assert_array_equal(ex.output, flat[ex.indices])
    assert len(seen) > 1


def test_static_explorer_has_browser_side_links():
    box = static_explorer("step", op="max", kernel_size=2, stride=1, input_kind="ties", size=4)
    assert len(box.frames) == 10 and all(f.startswith(PNG) for f in box.frames)
    assert box.nbytes == sum(map(len, box.frames)) and box.nbytes < 200_000
    assert isinstance(box.stack, ipywidgets.Stack) and len(box.stack.children) == 10
    assert box.stack.selected_index == 0 and box.slider.index == 0 and box.play.value == 0  # the first frame
    with pytest.raises(ValueError, match="vary"):
        static_explorer("nonsense")


def test_static_explorer_embeds_in_html(tmp_path):
    from ipywidgets.embed import dependency_state, embed_minimal_html

    from ipywidgets.widgets.widget import _instances  # the live-widget registry (Widget.widgets is deprecated)

    before = set(_instances)
    box = static_explorer("beta", [0.1, 1.0, 10.0], op="lse", kernel_size=2, input_kind="relu", size=6)
    # the explorer that rendered the frames is closed: only the box, its parts and the links stay alive
    new = [_instances[k] for k in set(_instances) - before]
    assert sum(isinstance(w, ipywidgets.Image) for w in new) == 3
    out = tmp_path / "page.html"
    embed_minimal_html(out, views=[box], state=dependency_state(box), title="lse")
    html = out.read_text()
    assert "jupyter-widgets" in html and html.count("LinkModel") >= 2
    assert out.stat().st_size < 1.5 * box.nbytes + 20_000  # base64 of the frames plus a little


def test_static_explorer_sweeps_leave_out_invalid_settings():
    box = static_explorer("padding", kernel_size=2, size=6)
    assert box.labels == ["0", "1"]  # padding 2 > kernel_size // 2 has no picture
    box = static_explorer("op", kernel_size=2, input_kind="random", size=6)
    assert "stochastic" not in box.labels and "max" in box.labels  # negative inputs cannot be sampled
    with pytest.raises(ValueError, match="too large"):
        static_explorer("step", kernel_size=2, padding=3)


def test_explorer_display_carries_a_png_fallback_for_static_pages():
    import base64

    ex = explore(op="avg", kernel_size=2)
    bundle, metadata = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == ex.png and ex.png.startswith(b"\x89PNG")
    assert metadata["image/png"] == {"width": 800}  # shown at its natural width, not at its 1600 pixels
    assert metadata["poolviz"] == {"explorer": "live"}  # tools/build_site.py replaces it: it needs a kernel
    assert "needs a running Python kernel" in bundle["text/plain"]
    ex.close()


def test_static_explorer_display_carries_its_first_frame_and_says_what_it_is():
    import base64

    box = static_explorer(vary="kernel_size", values=[2, 3])
    bundle, metadata = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == box.frames[0] != box.frames[1]
    assert metadata == {"image/png": {"width": 800}, "poolviz": {"explorer": "kernel-free"}}
    assert bundle["text/plain"].startswith("A kernel-free explorer: 2 pictures of ")
    assert "VBox" not in bundle["text/plain"]


def test_nan_input_first_rule_works_and_other_tie_rules_say_why_not():
    x = np.arange(16.0).reshape(4, 4)
    x[0, 1] = np.nan
    ex = explore(x, kernel_size=2)
    assert ex.message == ""  # "first" is the op itself: max pooling propagates the NaN
    np.testing.assert_array_equal(ex.output, pv.max_pool2d(x, 2))
    np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(np.ones((2, 2)), x, 2))
    for policy in ("split", "all"):
        ex.tie_policy.value = policy  # must not raise, nor draw a wrong gradient
        assert "a window with NaN has no tie to break" in ex.message and "Not drawn" in ex.error.value
        np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(np.ones((2, 2)), x, 2))  # the last good one
    ex.tie_policy.value = "first"
    assert ex.message == ""
    ex = explore(x, kernel_size=2, tie_policy="split")
    assert "no tie to break" in ex.message


def test_nan_input_keeps_the_colour_scale_of_the_other_values():
    from poolviz.style import value_norm

    x = np.arange(16.0).reshape(4, 4)
    x[1, 1] = np.nan
    norm = value_norm(x)
    assert (norm.vmin, norm.vmax) == (0.0, 15.0)
    assert explore(x, kernel_size=2).message == ""


@pytest.mark.parametrize("vary, size", [("row", 4), ("col", 12), ("row", 16)])
def test_static_explorer_sweeps_every_output_row_or_column(vary, size):
    box = static_explorer(vary, kernel_size=2, stride=1, size=size, compress_level=1)
    assert box.labels == [str(i) for i in range(size - 1)]  # the output's rows (columns), not range(8)


def test_tie_policy_contributions_are_computed_once_per_update(monkeypatch):
    from poolviz import routing
    from poolviz.widgets import scene as W

    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return routing.tie_policy_contributions(*args, **kwargs)

    monkeypatch.setattr(W, "tie_policy_contributions", counting)
    ex = explore(op="max", kernel_size=2, stride=1, input_kind="ties", size=5, grad_kind="random")
    ex.tie_policy.value = "split"
    assert len(calls) == 1
    np.testing.assert_allclose(ex.dx, tie_policy_gradients(ex.x, 2, 1, "split", ex.grad_output), atol=1e-12)


def test_public_names_are_defined_here():
    from poolviz import widgets as W

    assert set(W.__all__) == {"PoolExplorer", "StaticExplorer", "explore", "parse_matrix", "static_explorer"}
    assert not hasattr(W, "compose_heatmap")  # a helper of the renderer, not an API


@pytest.mark.parametrize("op, marked", [("max", True), ("stochastic", True), ("avg", False), ("lse", False),
                                        ("lp", False), ("soft", False)])
def test_winner_markers_only_for_ops_that_pick_one_input(op, marked):
    ex = explore(op=op, kernel_size=2, input_kind="relu", size=6)
    ex.row.value, ex.col.value = 1, 1
    assert ex.message == ""
    if marked:  # one input of window (1, 1) wins: it is the only one the selected output reaches
        assert len(ex.winners) == 1
        (r, c), = ex.winners
        assert 2 <= r < 4 and 2 <= c < 4
    else:  # a smooth op reaches every input of its 2x2 window: no input "wins", none is marked
        assert ex.winners.shape == (0, 2)
    assert ex._renderer.targets_in.get_visible() is marked


def test_tied_maxima_are_all_marked_under_the_split_rule():
    ex = explore(np.array([[1.0, 1.0], [0.0, 0.5]]), kernel_size=2)
    np.testing.assert_array_equal(ex.winners, [[0, 0]])  # first maximum (PyTorch)
    ex.tie_policy.value = "split"
    np.testing.assert_array_equal(ex.winners, [[0, 0], [0, 1]])


def test_labels_keep_clear_of_the_outline_band():
    from poolviz.widgets.glyphs import BORDER_BAND as _BORDER_BAND
    from poolviz.widgets.raster import compose_heatmap as _compose_heatmap

    x = np.array([[-0.13, -2.33], [1.3, 0.0]])
    cell = 62  # a 16x16 explorer's cell, in PNG pixels
    pic = _compose_heatmap(x, "cividis", matplotlib.colors.Normalize(-3, 2), cell)
    plain = _compose_heatmap(x, "cividis", matplotlib.colors.Normalize(-3, 2), cell, labels=False)
    ink = np.nonzero((pic != plain).any(axis=2))
    cols = ink[1] % cell
    assert ink[0].size  # the labels are printed
    assert cols.min() >= _BORDER_BAND and cols.max() <= cell - 1 - _BORDER_BAND


def test_image_is_as_wide_as_its_container_up_to_its_natural_width():
    ex = explore()
    layout = ex.image.layout
    assert (layout.width, layout.max_width, layout.height) == ("100%", "800px", "auto")
    box = static_explorer("kernel_size", [1, 2], size=4)
    assert all((img.layout.width, img.layout.max_width, img.layout.height) == ("100%", "800px", "auto")
               for img in box.stack.children)
    ex = explore(width=600)
    assert ex.image.layout.max_width == "600px" and _png_size(ex.png)[0] == 1200  # twice the pixels
    with pytest.raises(TypeError, match="height=260.*width= alone"):
        explore(height=260)
    with pytest.raises(ValueError, match="width=100"):
        static_explorer("step", width=100)


def test_dropdowns_are_wide_enough_for_their_labels():
    ex = explore()
    assert int(ex.stride.layout.width.rstrip("px")) >= 180  # "= kernel"
    assert int(ex.op.layout.width.rstrip("px")) >= 190  # "LogSumExp"


@pytest.mark.parametrize("rows, shown", [(2, 2), (4, 4), (8, 8), (12, 8)])
def test_matrix_box_shows_every_row_up_to_eight(rows, shown):
    ex = explore(np.arange(rows * 3.0).reshape(rows, 3), kernel_size=1)
    assert ex.matrix.rows == shown
    ex.matrix.value = "1 2\n3 4\n5 6"
    assert ex.matrix.rows == 3


def test_info_line_labels_the_whole_backward_while_stepping():
    ex = explore(op="max", kernel_size=2, stride=1, input_kind="ties", size=5)
    n = ex.step.max
    assert "whole backward" not in ex.info.value and "step" not in ex.info.value
    ex.step.value = 3
    so_far, whole = np.count_nonzero(ex.dx_shown), np.count_nonzero(ex.dx)
    assert f"step 3 of {n}" in ex.info.value
    assert f"<b>{so_far} of 25</b> inputs so far" in ex.info.value
    assert f"whole backward:</i> {whole} of 25 inputs" in ex.info.value
    ex.step.value = n
    assert "whole backward" not in ex.info.value and f"{whole} of 25" in ex.info.value


@pytest.mark.parametrize("vary, label", [("tie_policy", "tie rule"), ("step", "backward step"), ("beta", "beta"),
                                         ("kernel_size", "kernel"), ("norm_type", "p")])
def test_static_explorer_slider_has_a_human_label(vary, label):
    box = static_explorer(vary, op="lse" if vary == "beta" else "lp" if vary == "norm_type" else "max",
                          kernel_size=2, size=4, input_kind="relu")
    assert box.slider.description == label


# --- one registry: the explorer's menus, sliders, sweeps and markers come from poolviz.ops ------------------

def _gain_pool2d(x, kernel_size, stride=None, gain=2.0):
    """Average pooling times ``gain``: a toy op with a slider option."""
    return pv.avg_pool2d(x, kernel_size, stride) * gain


def _gain_pool2d_backward(grad_output, x, kernel_size, stride=None, gain=2.0):
    return pv.avg_pool2d_backward(grad_output, x, kernel_size, stride) * gain


def _min_pool2d(x, kernel_size, stride=None):
    """Min pooling: max pooling of -x, negated; each window routes to one input (its first minimum)."""
    return -pv.max_pool2d(-np.asarray(x), kernel_size, stride)


def _min_pool2d_backward(grad_output, x, kernel_size, stride=None):
    return pv.max_pool2d_backward(grad_output, -np.asarray(x), kernel_size, stride)


def test_op_menu_sliders_and_sweeps_come_from_the_registry():
    from poolviz import ops

    ex = explore()
    assert list(ex.op.options) == [(spec.menu, name) for name, spec in ops.OPS.items()]
    lse, lp = ops.OPS["lse"].options["beta"], ops.OPS["lp"].options["norm_type"]
    low, high, step, log = lse.slider
    assert isinstance(ex.beta, ipywidgets.FloatLogSlider) and log
    assert (10 ** ex.beta.min, 10 ** ex.beta.max, ex.beta.step) == pytest.approx((low, high, step))
    assert ex.beta.description == lse.label and ex.beta.value == lse.default
    assert isinstance(ex.norm_type, ipywidgets.FloatSlider) and not lp.slider[3]
    assert (ex.norm_type.min, ex.norm_type.max, ex.norm_type.step) == lp.slider[:3]
    assert ex.norm_type.description == "p" == lp.label and ex.norm_type.value == lp.default
    assert static_explorer("beta", op="lse", kernel_size=2, size=4).labels == [format_value(v) for v in lse.sweep]
    assert static_explorer("op", kernel_size=2, input_kind="relu", size=4).labels == list(ops.OPS)


def test_a_toy_op_registered_in_ops_appears_in_the_explorer(monkeypatch):
    from poolviz import ops

    monkeypatch.setitem(ops.OPS, "sum", ops.PoolOp("sum", "sum pooling", "sum", sum_pool2d, sum_pool2d_backward))
    ex = explore(kernel_size=2, stride=1, input_kind="relu", size=5)
    assert ("sum", "sum") in ex.op.options
    ex.op.value = "sum"
    assert ex.message == ""
    y = sum_pool2d(ex.x, 2, 1)
    np.testing.assert_array_equal(ex.output, y)
    np.testing.assert_array_equal(ex.dx, sum_pool2d_backward(np.ones(y.shape), ex.x, 2, 1))
    assert ex.padding.disabled and ex.dilation.disabled and ex.ceil_mode.disabled and ex.beta.disabled
    assert ex.tie_policy.disabled and ex.resample.disabled
    assert ex.winners.shape == (0, 2) and "sum pooling" in ex.info.value
    assert ex.sum_text == f"sum of dx = {format_value(ex.dx.sum())}, sum of upstream gradient = 16"
    ex.step.value = 3  # the player walks the toy op's windows too
    np.testing.assert_array_equal(ex.dx_shown, sum_pool2d_backward(
        np.where((np.arange(16) < 3).reshape(4, 4), 1.0, 0.0), ex.x, 2, 1))
    assert explore(op="sum", kernel_size=2).message == ""
    assert "sum" in static_explorer("op", kernel_size=2, input_kind="relu", size=4).labels


def test_a_toy_op_with_a_slider_option_gets_a_slider(monkeypatch):
    import dataclasses

    from poolviz import ops

    gain = ops.Option(2.0, "gain g", slider=(0.5, 8.0, 0.5, False), sweep=(1.0, 4.0))
    monkeypatch.setitem(ops.OPS, "gain", ops.PoolOp("gain", "gain pooling", "gain", _gain_pool2d,
                                                    _gain_pool2d_backward, {"gain": gain}))
    ex = explore(op="gain", kernel_size=2, gain=4.0)
    assert isinstance(ex.gain, ipywidgets.FloatSlider) and ex.gain.description == "gain g"
    assert (ex.gain.min, ex.gain.max, ex.gain.step, ex.gain.value) == (0.5, 8.0, 0.5, 4.0)
    assert not ex.gain.disabled and ex.beta.disabled and ex.message == ""
    np.testing.assert_array_equal(ex.dx, _gain_pool2d_backward(np.ones((3, 3)), ex.x, 2, gain=4.0))
    ex.gain.value = 1.5
    np.testing.assert_array_equal(ex.dx, _gain_pool2d_backward(np.ones((3, 3)), ex.x, 2, gain=1.5))
    ex.op.value = "max"
    assert ex.gain.disabled and ex.message == ""
    box = static_explorer("gain", op="gain", kernel_size=2, size=4)
    assert box.labels == ["1", "4"] and box.slider.description == "gain g"
    x = example_input("random", (4, 4))
    np.testing.assert_array_equal(box.dx_shown[1], _gain_pool2d_backward(np.ones((2, 2)), x, 2, gain=4.0))
    monkeypatch.setitem(ops.OPS, "gain", dataclasses.replace(ops.OPS["gain"], options={"gain": dataclasses.replace(
        gain, sweep=())}))
    with pytest.raises(ValueError, match="gain has no default sweep: pass values="):
        static_explorer("gain", op="gain", kernel_size=2, size=4)
    assert static_explorer("gain", [3.0], op="gain", kernel_size=2, size=4).labels == ["3"]


@pytest.mark.parametrize("routes_to_one", [True, False])
def test_winner_markers_and_the_sum_check_follow_routes_to_one(monkeypatch, routes_to_one):
    from poolviz import ops

    monkeypatch.setitem(ops.OPS, "min", ops.PoolOp("min", "min pooling", "min", _min_pool2d, _min_pool2d_backward,
                                                   routes_to_one=routes_to_one))
    x = np.array([[4.0, 1.0, 5.0, 5.0], [3.0, 2.0, 6.0, 5.0], [1.0, 9.0, 9.0, 9.0], [8.0, 1.0, 9.0, 9.0]])
    ex = explore(x, op="min", kernel_size=2, stride=1, selected=(0, 0))
    assert ex.message == ""
    np.testing.assert_array_equal(ex.dx, _min_pool2d_backward(np.ones((3, 3)), x, 2, 1))
    if routes_to_one:
        np.testing.assert_array_equal(ex.winners, [[0, 1]])  # window (0, 0)'s minimum
        assert ex.sum_text == "sum of dx = 9 = upstream 9" and ex._renderer.targets_in.get_visible()
        assert ex._renderer.multi.get_xdata().size > 0  # x[0, 1] and x[2, 0] are minima of two windows: boxed
    else:
        assert ex.winners.shape == (0, 2) and not ex._renderer.targets_in.get_visible()
        assert ex.sum_text == "sum of dx = 9, sum of upstream gradient = 9"
        assert ex._renderer.multi.get_xdata().size == 0


@pytest.mark.parametrize("breaks_ties", [True, False])
def test_the_tie_rule_control_follows_breaks_ties(monkeypatch, breaks_ties):
    import dataclasses

    from poolviz import ops

    spec = dataclasses.replace(ops.OPS["max"], name="mymax", menu="my max", aliases=(), breaks_ties=breaks_ties)
    monkeypatch.setitem(ops.OPS, "mymax", spec)
    ex = explore(np.array([[1.0, 1.0], [1.0, 1.0]]), op="mymax", kernel_size=2, tie_policy="split")
    assert ex.tie_policy.disabled is not breaks_ties
    np.testing.assert_array_equal(ex.dx, np.full((2, 2), 0.25) if breaks_ties else [[1, 0], [0, 0]])
    assert ("tie rule" in ex.info.value) is breaks_ties


# --- the one style: the gradient's colour scale ------------------------------------------------------------

def test_gradient_scale_is_fixed_and_never_below_the_largest_upstream_gradient():
    ex = explore(op="avg", kernel_size=2, size=4)
    np.testing.assert_array_equal(ex.dx, np.full((4, 4), 0.25))  # each input: 1/k^2 of the upstream 1
    titles = ex._scene.titles[2]
    assert titles[1] == "from all outputs, scale 0..1"  # not 0..0.25: 1/k^2 must look small
    ex.step.value = 1  # while stepping, the scale stays that of the whole backward
    assert ex._scene.titles[2][1] == "after 1 of 4 outputs, scale 0..1"
    ex.step.value = ex.step.max
    ex.op.value = "max"
    assert ex._scene.titles[2][1] == "from all outputs, scale 0..1"
    ex.grad_kind.value = "random"  # signed: the scale is symmetric, up to the largest |gradient|
    top = max(np.abs(ex.grad_output).max(), np.abs(ex.dx).max())
    assert ex._scene.titles[2][1] == f"from all outputs, scale 0..{format_value(top)}"


# --- never change what the user asked for in silence ---------------------------------------------------------

@pytest.mark.parametrize("kwargs, control, expected", [
    ({"kernel_size": 8, "size": 10}, "kernel_size", lambda x: pv.max_pool2d_backward(np.ones((1, 1)), x, 8)),
    ({"op": "lse", "beta": 1000}, "beta",
     lambda x: pv.logsumexp_pool2d_backward(np.ones((3, 3)), x, 2, beta=1000.0)),
    ({"op": "lse", "beta": 0.01}, "beta", lambda x: pv.logsumexp_pool2d_backward(np.ones((3, 3)), x, 2, beta=0.01)),
    ({"size": 20}, "size", lambda x: pv.max_pool2d_backward(np.ones((10, 10)), x, 2)),
    ({"op": "lp", "norm_type": 0.5}, "norm_type", lambda x: pv.lp_pool2d_backward(np.ones((3, 3)), x, 0.5, 2)),
    ({"op": "lp", "norm_type": 12.0}, "norm_type", lambda x: pv.lp_pool2d_backward(np.ones((3, 3)), x, 12.0, 2)),
    ({"kernel_size": 8, "padding": 4, "size": 4}, "padding",
     lambda x: pv.max_pool2d_backward(np.ones((1, 1)), x, 8, padding=4)),
    ({"kernel_size": 2, "dilation": 4, "size": 10}, "dilation",
     lambda x: pv.max_pool2d_backward(np.ones((3, 3)), x, 2, dilation=4)),
    ({"kernel_size": 2, "stride": 12, "size": 14}, "stride", lambda x: pv.max_pool2d_backward(np.ones((2, 2)), x, 2, 12)),
])
def test_explore_honours_values_outside_its_controls_ranges(kwargs, control, expected):
    ex = explore(input_kind="relu", **kwargs)
    assert getattr(ex, control).value == kwargs[control]  # not clamped to the slider's usual range
    assert ex.message == ""
    np.testing.assert_allclose(ex.dx, expected(ex.x), rtol=1e-12, atol=0)
    box = static_explorer("step", [ex.step.max], input_kind="relu", **kwargs)  # the same arguments, numbers
    np.testing.assert_array_equal(box.dx_shown[-1], ex.dx)


@pytest.mark.parametrize("kwargs, expected", [
    ({"kernel_size": 0}, "kernel_size must be positive"),
    ({"dilation": 0}, "dilation"),
    ({"padding": 5, "kernel_size": 2}, "padding"),
    ({"stride": -1}, "stride must be positive"),
    ({"op": "lp", "norm_type": -1.0}, "norm_type must be positive"),
    ({"size": 0}, "shape must be positive"),
])
def test_explore_shows_the_ops_own_message_for_a_value_it_refuses(kwargs, expected):
    ex = explore(**kwargs)
    name = next(n for n in kwargs if n not in ("op", "kernel_size")) if len(kwargs) > 1 else next(iter(kwargs))
    assert getattr(ex, name).value == kwargs[name]  # shown as asked, not moved into the range
    assert expected in ex.message and "Not drawn" in ex.error.value
    with pytest.raises(ValueError, match=expected.split()[0]):
        static_explorer("step", **kwargs)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"kernel_size": (2, 3)}, TypeError, r"kernel_size=\(2, 3\).*one integer.*poolviz.max_pool2d"),
    ({"kernel_size": 2.5}, TypeError, "kernel_size=2.5"),
    ({"kernel_size": "3"}, TypeError, "kernel_size='3'"),
    ({"stride": (1, 2)}, TypeError, r"stride=\(1, 2\)"),
    ({"stride": 0}, ValueError, "stride=None"),
    ({"padding": True}, TypeError, "padding=True"),
    ({"op": "lse", "beta": 0}, ValueError, "beta=0.*log scale.*beta > 0"),
    ({"op": "lse", "beta": -2.0}, ValueError, "beta=-2.*beta > 0"),
    ({"op": "lse", "beta": "big"}, TypeError, "beta='big'"),
    ({"op": "lse", "beta": float("inf")}, ValueError, "beta=inf.*finite"),
    ({"size": 40}, ValueError, "size=40.*at most 32"),
    ({"ceil_mode": 1}, TypeError, "ceil_mode=1.*True or False"),
    ({"grad_kind": "zeros"}, ValueError, "grad_kind must be one of 'ones', 'random', 'onehot'"),
    ({"input_kind": "noise"}, ValueError, "input_kind must be one of"),
    ({"x": np.ones((4, 4)), "input_kind": "relu"}, ValueError, "input_kind='relu' with your own x"),
    ({"selected": (9, 9)}, ValueError, r"selected=\(9, 9\) is outside the output, of shape \(3, 3\)"),
    ({"selected": (-1, 0)}, ValueError, "row=-1"),
    ({"selected": 3}, TypeError, r"\(row, col\)"),
    ({"tie_policy": "random"}, ValueError, "tie_policy must be one of"),
    ({"paddin": 1}, TypeError, "unexpected keyword argument 'paddin'"),
])
def test_explore_refuses_in_words_a_value_no_control_can_hold(kwargs, error, words):
    from ipywidgets.widgets.widget import _instances

    before = len(_instances)
    with pytest.raises(error, match=words):
        explore(**kwargs)
    assert len(_instances) == before  # refused before any widget was made
    with pytest.raises(error, match=words):
        static_explorer("step", **kwargs)


def test_static_explorer_checks_the_values_it_sweeps():
    with pytest.raises(TypeError, match=r"kernel_size=\(2, 2\)"):
        static_explorer("kernel_size", [2, (2, 2)])
    box = static_explorer("beta", [1000.0], op="lse", kernel_size=2, size=4)
    ex = explore(op="lse", kernel_size=2, size=4, beta=1000.0)
    np.testing.assert_array_equal(box.dx_shown[0], ex.dx)


# --- one name, one meaning: grad_kind is the upstream-gradient preset ----------------------------------------

def test_grad_is_gone_and_grad_kind_is_the_upstream_preset():
    with pytest.raises(TypeError, match=r"grad_kind=.*'ones', 'random', 'onehot'"):
        explore(grad="random")
    with pytest.raises(TypeError, match=r"grad_kind="):
        static_explorer("step", grad="random")
    ex = explore(grad_kind="random", kernel_size=2)
    assert ex.grad_kind.value == "random" and (ex.grad_output != 1).any()
    assert not hasattr(ex, "grad")
    box = static_explorer("grad_kind", kernel_size=2, size=4)
    assert box.labels == ["ones", "random", "onehot"] and box.slider.description == "upstream grad"


# --- stochastic pooling needs inputs >= 0: offered one, in words ------------------------------------------------

def test_choosing_stochastic_pooling_on_a_signed_preset_switches_to_post_relu_and_says_so():
    ex = explore(op="max", kernel_size=2, input_kind="random", size=6)
    assert (ex.x < 0).any() and ex.note == ""
    ex.op.value = "stochastic"
    assert ex.input_kind.value == "relu" and ex.message == "" and "Not drawn" not in ex.error.value
    x = example_input("relu", (6, 6))
    np.testing.assert_array_equal(ex.x, x)
    np.testing.assert_array_equal(ex.dx, pv.stochastic_pool2d_backward(np.ones((3, 3)), x, ex.indices, 2))
    assert "switched from" in ex.note and "random (continuous)" in ex.note and "post-ReLU" in ex.note
    assert "Note:" in ex.info.value and "switched from" in ex.info.value
    ex.row.value = 1  # the note stays while the learner explores
    assert "switched from" in ex.info.value
    ex.op.value = "max"  # a new choice of op: the note goes, and the input stays what it was said to be
    assert ex.note == "" and "Note:" not in ex.info.value and ex.input_kind.value == "relu"


def test_a_non_negative_preset_is_kept_when_stochastic_pooling_is_chosen():
    ex = explore(op="max", kernel_size=2, input_kind="ties", size=6)
    ex.op.value = "stochastic"
    assert ex.input_kind.value == "ties" and ex.note == "" and ex.message == ""


def test_stochastic_pooling_asked_for_on_a_signed_input_says_why_not_and_what_to_do():
    ex = explore(op="stochastic", kernel_size=2, input_kind="random", size=6)  # asked for: never changed
    assert ex.input_kind.value == "random"
    assert "non-negative" in ex.message and "post-ReLU" in ex.message and "Not drawn" in ex.error.value
    ex = explore(op="stochastic", kernel_size=2, input_kind="relu", size=6)
    ex.input_kind.value = "random"
    assert ex.input_kind.value == "random" and "non-negative" in ex.message
    ex = explore(np.array([[1.0, -2.0], [3.0, 4.0]]), op="max", kernel_size=2)
    ex.op.value = "stochastic"  # a typed matrix is never replaced
    assert ex.input_kind.value == "custom" and ex.note == ""
    assert "non-negative" in ex.message and "your matrix has negative entries" in ex.message
    assert "type a matrix of numbers >= 0" in ex.message
    ex.matrix.value = "1 2\n3 4"
    assert ex.message == ""


def test_stochastic_pooling_by_default_gets_the_post_relu_preset_and_says_so():
    ex = explore(op="stochastic", kernel_size=2)
    assert ex.input_kind.value == "relu" and ex.message == "" and "post-ReLU" in ex.note
    assert "Note:" in ex.info.value
    box = static_explorer("step", op="stochastic", kernel_size=2, size=4)
    np.testing.assert_array_equal(box.dx_shown[-1], explore(op="stochastic", kernel_size=2, size=4).dx)
    assert "post-ReLU" in box.note and any(isinstance(w, ipywidgets.HTML) for w in box.children)


# --- the kernel-free explorer: first frame, and refusals in words ------------------------------------------------

def test_static_explorer_opens_on_the_first_frame_pytorchs_rule():
    x = np.array([[1.0, 1.0, 0.0, 2.0], [0.0, 0.5, 2.0, 2.0]])
    box = static_explorer("tie_policy", x=x, op="max", kernel_size=2)
    assert box.labels[0] == "first" and box.slider.value == "first" and box.slider.index == 0
    assert box.stack.selected_index == 0 and box.play.value == 0
    # what the first frame shows is PyTorch's rule: the first maximum of each window gets its gradient
    np.testing.assert_array_equal(box.dx_shown[0], [[1, 0, 0, 1], [0, 0, 0, 0]])
    step = static_explorer("step", op="max", kernel_size=2, size=4)
    assert step.stack.selected_index == 0 and step.labels[0] == "0"


def test_static_explorer_refuses_given_values_it_cannot_draw_naming_them():
    with pytest.raises(ValueError, match=r"no picture for padding in \[2\].*padding=2: .*padding"):
        static_explorer("padding", [0, 1, 2], kernel_size=2, size=6)
    with pytest.raises(ValueError, match=r"op in \['stochastic'\].*non-negative"):
        static_explorer("op", ["max", "stochastic"], kernel_size=2, input_kind="random", size=6)


def test_static_explorer_default_sweeps_say_what_they_leave_out():
    box = static_explorer("padding", kernel_size=2, size=6)
    assert box.labels == ["0", "1"] and [v for v, _ in box.left_out] == [2]
    assert "left out padding = 2" in box.note
    notes = [w.value for w in box.children if isinstance(w, ipywidgets.HTML)]
    assert notes and "left out padding = 2" in notes[0]
    box = static_explorer("op", kernel_size=2, input_kind="random", size=6)
    assert [v for v, _ in box.left_out] == ["stochastic"] and "left out op = stochastic" in box.note
    assert static_explorer("padding", [0, 1], kernel_size=2, size=6).note == ""


# --- vocabulary -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["max", "avg", "lse", "stochastic"])
def test_the_info_line_speaks_of_the_error_signal_reaching_inputs(op):
    import re

    ex = explore(op=op, kernel_size=2, input_kind="relu", size=6)
    text = re.sub(r"<[^>]+>", "", ex.info.value)
    reached = np.count_nonzero(ex.dx)
    assert f"the error signal reaches {reached} of 36 inputs ({reached / 36:.0%})" in text
    ex.step.value = 2
    texts = [re.sub(r"<[^>]+>", "", ex.info.value), *(line for lines in ex._scene.titles for line in lines)]
    for t in texts:
        assert "sparsity" not in t.lower() and not re.search(r"\bdy\b", t), t


def test_default_info_line_reads_9_of_36():
    import re

    text = re.sub(r"<[^>]+>", "", explore().info.value)
    assert "the error signal reaches 9 of 36 inputs (25%)" in text


def test_static_explorer_refuses_rows_and_steps_outside_the_output():
    with pytest.raises(ValueError, match=r"no picture for row in \[5\].*selected=\(5, 0\) is outside the output"):
        static_explorer("row", [0, 5], kernel_size=2, size=6)
    with pytest.raises(ValueError, match=r"no picture for step in \[10, -1\].*steps 0 to 9"):
        static_explorer("step", [0, 10, -1], kernel_size=2, size=6)
    with pytest.raises(TypeError, match="step=1.5"):
        static_explorer("step", [1.5], kernel_size=2, size=6)
    assert static_explorer("row", [2, 0], kernel_size=2, size=6).labels == ["2", "0"]
