"""Drive the explorer headlessly: set control values, then check what it shows against the poolviz ops."""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import ipywidgets  # noqa: E402
import matplotlib.colors  # noqa: E402

import poolviz as pv  # noqa: E402
from poolviz.data import example_input  # noqa: E402
from poolviz.plots import format_value  # noqa: E402
from poolviz.routing import tie_policy_gradients  # noqa: E402
from poolviz.widgets import PoolExplorer, explore, parse_matrix, static_explorer  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


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
    assert ex.grad is ex.dx
    np.testing.assert_array_equal(ex.dx_shown, ex.dx)
    assert ex.sparsity == pytest.approx(9 / 36)
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
    assert ex.sparsity == np.count_nonzero(ex.dx) / x.size


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


def test_irrelevant_controls_are_disabled():
    ex = explore(op="lse")
    assert ex.padding.disabled and ex.dilation.disabled and not ex.beta.disabled and ex.resample.disabled
    ex.op.value = "max"
    assert not ex.padding.disabled and not ex.dilation.disabled and ex.beta.disabled
    ex.op.value = "avg"
    assert not ex.padding.disabled and ex.dilation.disabled and not ex.count_include_pad.disabled


def test_upstream_gradient_presets():
    ex = explore(op="max", kernel_size=2, stride=1, input_kind="ties", size=5)
    x = ex.x
    ex.row.value, ex.col.value = 2, 3
    ex.grad_kind.value = "onehot"
    g = np.zeros((4, 4))
    g[2, 3] = 1
    np.testing.assert_array_equal(ex.grad_output, g)
    np.testing.assert_array_equal(ex.dx, pv.max_pool2d_backward(g, x, 2, 1))
    assert np.count_nonzero(ex.dx) == 1 and ex.sparsity == 1 / 25
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
    ex = explore(op=op, kernel_size=3, stride=1, input_kind="ties", size=5, grad="random")
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
    assert ex.sparsity == np.count_nonzero(expected) / x.size


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
    ex = explore(op="max", kernel_size=2, stride=1, input_kind="ties", size=5, grad="random", tie_policy="split")
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
    ({"op": "stochastic"}, "non-negative"),            # stochastic pooling on negative values
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
    assert ex.sparsity == pytest.approx(1 / 9)


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
    assert box.stack.selected_index == 9 and box.slider.index == 9
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
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == ex.png and ex.png.startswith(b"\x89PNG")
    ex.close()


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
    from poolviz.widgets import _value_norm

    x = np.arange(16.0).reshape(4, 4)
    x[1, 1] = np.nan
    norm = _value_norm(x)
    assert (norm.vmin, norm.vmax) == (0.0, 15.0)
    assert explore(x, kernel_size=2).message == ""


@pytest.mark.parametrize("vary, size", [("row", 4), ("col", 12), ("row", 16)])
def test_static_explorer_sweeps_every_output_row_or_column(vary, size):
    box = static_explorer(vary, kernel_size=2, stride=1, size=size)
    assert box.labels == [str(i) for i in range(size - 1)]  # the output's rows (columns), not range(8)


def test_tie_policy_contributions_are_computed_once_per_update(monkeypatch):
    from poolviz import routing
    from poolviz import widgets as W

    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return routing.tie_policy_contributions(*args, **kwargs)

    monkeypatch.setattr(W, "tie_policy_contributions", counting)
    ex = explore(op="max", kernel_size=2, stride=1, input_kind="ties", size=5, grad="random")
    ex.tie_policy.value = "split"
    assert len(calls) == 1
    np.testing.assert_allclose(ex.dx, tie_policy_gradients(ex.x, 2, 1, "split", ex.grad_output), atol=1e-12)


def test_public_names_are_defined_here():
    from poolviz import widgets as W

    assert set(W.__all__) == {"PoolExplorer", "explore", "parse_matrix", "static_explorer"}
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
    from poolviz.widgets import _BORDER_BAND, _compose_heatmap

    x = np.array([[-0.13, -2.33], [1.3, 0.0]])
    cell = 25  # an 8x8 explorer's cell
    pic = _compose_heatmap(x, "cividis", matplotlib.colors.Normalize(-3, 2), cell)
    plain = _compose_heatmap(x, "cividis", matplotlib.colors.Normalize(-3, 2), cell, labels=False)
    ink = np.nonzero((pic != plain).any(axis=2))
    cols = ink[1] % cell
    assert ink[0].size  # the labels are printed
    assert cols.min() >= _BORDER_BAND and cols.max() <= cell - 1 - _BORDER_BAND


def test_image_keeps_its_aspect_ratio_in_narrow_panels():
    ex = explore()
    assert ex.image.layout.object_fit == "contain"
    assert (ex.image.layout.width, ex.image.layout.height) == ("660px", "260px")
    box = static_explorer("kernel_size", [1, 2], size=4)
    assert all(img.layout.object_fit == "contain" for img in box.stack.children)


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
