"""The live explorer: :class:`PoolExplorer`'s controls wired to a :class:`~poolviz.widgets.scene.Scene`.

The controls are built from the checked parameters (:mod:`poolviz.widgets.params`) and the op registry: the
op menu lists :data:`poolviz.ops.OPS`, every op option with a ``slider`` gets a slider, and a control is shown
exactly when the chosen op has that option (the others are hidden). A value outside a control's usual range
widens the range: the control shows what was asked for, and the op says in the widget if it refuses it. When
the explorer changes a setting itself (the post-ReLU input for stochastic pooling, which needs inputs >= 0),
it says so in the line under the picture.

The picture is as wide as its container, up to its natural width (800 CSS px by default), with its height
following its aspect ratio; the PNG has twice the pixels each way (:mod:`poolviz.widgets.raster`).
"""
from __future__ import annotations

import base64

import ipywidgets as widgets
import numpy as np

from ..ops import OPS, get_op
from ..routing import fraction_reached
from .controls import int_slider, option_slider
from .info import LIVE_TEXT, escape_html, info_html, input_label, note_html
from .layout import image_layout
from .params import (GRADS, INPUTS, NONNEGATIVE_INPUT, STRIDES, TIES, defaults, label, params, picture_width,
                     slider_options)
from .scene import Scene, check_selected

__all__ = ["MATRIX_WIDTH", "PoolExplorer", "explore"]

_GEOMETRY = ("padding", "dilation", "ceil_mode", "count_include_pad")  # shared by the ops that have them
#: Width (CSS px) of the matrix box: its 80-px label, then 8 columns of "-12.5" (about 300 px in a 13-px
#: DejaVu Sans, wider than most interface fonts), two spaces between columns, padding and a scroll bar.
MATRIX_WIDTH = 520


class PoolExplorer(widgets.VBox):
    """A pooling explorer: controls, a picture, and the state a test can read.

    State (updated after every control change; kept at the last good values when a change is invalid):

    ``x`` (H, W) the input; ``output`` (H_out, W_out) the forward output; ``grad_output`` (H_out, W_out) the
    upstream gradient (the preset ``grad_kind``); ``dx`` (H, W) the op's backward, what every input receives;
    ``dx_shown`` (H, W) the gradient accumulated up to the player's step (equals ``dx`` at the last step);
    ``fraction_reached`` the fraction of inputs that receive any gradient; ``indices`` the sampled positions (an op
    that samples); ``winners`` (n, 2) the (row, col) of the inputs marked with a corner triangle as receiving
    the highlighted output's gradient (ops that route each window to one input; a smooth op reaches its whole
    window, so none); ``message`` the error text shown in the widget ("" when fine); ``png`` the picture's
    bytes; ``sum_text`` the gradient's sum against the upstream sum ("sum of dx = 13 > upstream 9: not a
    gradient" for the wrong tie rule) and ``is_gradient`` (False exactly then).

    Max pooling's tie rule (control ``tie_policy``, enabled for an op whose ``breaks_ties``): ``"first"`` is
    the op itself (PyTorch, TensorFlow on CPU: the first maximum in row-major window order gets the whole
    gradient); ``"split"`` shares it equally among the tied maxima (a valid subgradient); ``"all"`` gives every
    tied maximum the full gradient, which hands back more than came in. For ``"split"`` and ``"all"``, ``dx``
    is :func:`poolviz.ties.tie_policy_gradients` (computed window by window with
    :func:`~poolviz.ties.tie_policy_contributions`).

    Controls (ipywidgets; set ``.value`` to drive them): ``op``, one slider per op option that has one
    (``beta``, ``norm_type``), ``resample`` (button), ``kernel_size``, ``stride`` (0 = same as the kernel),
    ``padding``, ``dilation``, ``ceil_mode``, ``count_include_pad``, ``input_kind``, ``size``, ``matrix``
    (text, for ``input_kind="custom"``), ``grad_kind``, ``row`` and ``col`` (the selected output cell),
    ``tie_policy``, ``play`` and ``step`` (the backward player: step k shows the gradient of the first k output
    cells, row-major; the last step is the whole backward). Controls an op does not have are hidden (and
    disabled); they come back when an op that has them is chosen. ``note`` is what the explorer changed by
    itself, said in the info line ("" when nothing): choosing stochastic pooling, which needs inputs >= 0, on
    a preset input with negative values switches the input to the post-ReLU preset. ``unlabelled`` names the
    panels whose cells were too small for their numbers.
    """

    def __init__(self, x=None, op="max", kernel_size=2, stride=None, *, width=None, height=None, **options):
        width = picture_width(width, height)
        p = params(x, op, kernel_size, stride, **options)
        scene = Scene(width)
        try:  # the first picture; an invalid setting is shown in the widget, below
            first = dict(scene.compute(p), params=p)
        except Exception:
            first = {}
        if first:
            check_selected(p, first)  # before any widget exists: nothing to close when it raises
        self._busy = True
        self._seed, self._sample, self._custom_x = p["seed"], 0, p["custom_x"]
        self._width = width
        self.note = ""
        if x is None and options.get("input_kind") is None and get_op(p["op"]).nonnegative:
            # the default preset was chosen for the op: say so
            self.note = (f"input: the {input_label(p['input_kind'])} preset, as {get_op(p['op']).label} needs "
                         f"inputs >= 0 (it samples each window in proportion to its values)")
        # the controls a picture depends on, fixed now (the registry may gain an op later; this menu will not)
        self._names = [name for name in defaults() if name not in ("sample", "seed")]
        style = {"description_width": "initial"}

        def small():  # every control its own Layout: hiding one must not hide the others
            return widgets.Layout(width="230px")

        self.op = widgets.Dropdown(options=[(spec.menu, name) for name, spec in OPS.items()], value=p["op"],
                                   description=label("op"), layout=widgets.Layout(width="190px"))
        self._sliders = {name: option_slider(name, option, p[name], style)
                         for name, option in slider_options().items()}
        for name, slider in self._sliders.items():
            setattr(self, name, slider)  # ex.beta, ex.norm_type, ...
        self.tie_policy = widgets.Dropdown(options=TIES, value=p["tie_policy"], description="ties",
                                           tooltip="max pooling: who gets the gradient of a tied maximum",
                                           layout=widgets.Layout(width="260px"))
        self.resample = widgets.Button(description="resample", tooltip="draw a new stochastic sample",
                                       layout=widgets.Layout(width="90px"))
        self.kernel_size = int_slider("kernel_size", p["kernel_size"], description=label("kernel_size"),
                                       style=style, layout=small())
        strides = sorted({*STRIDES, p["stride"]} - {0})  # a stride outside the menu joins it
        self.stride = widgets.Dropdown(options=[("= kernel", 0)] + [(str(s), s) for s in strides], value=p["stride"],
                                       description=label("stride"), layout=widgets.Layout(width="180px"))
        self.padding = int_slider("padding", p["padding"], description="padding", style=style, layout=small())
        self.dilation = int_slider("dilation", p["dilation"], description="dilation", style=style, layout=small())
        self.ceil_mode = widgets.Checkbox(value=p["ceil_mode"], description="ceil_mode", indent=False,
                                          layout=widgets.Layout(width="100px"))
        self.count_include_pad = widgets.Checkbox(value=p["count_include_pad"], description="count_include_pad",
                                                  indent=False, layout=widgets.Layout(width="150px"))
        self.input_kind = widgets.Dropdown(options=INPUTS, value=p["input_kind"], description="input",
                                           layout=widgets.Layout(width="240px"))
        self.size = int_slider("size", p["size"], description="size", style=style, layout=small())
        # wide enough for 8 columns of numbers such as "-12.5" without wrapping (see MATRIX_WIDTH)
        self.matrix = widgets.Textarea(value=p["matrix"], placeholder="1 2 3\n4 5 6\n7 8 9", description="matrix",
                                       continuous_update=False, rows=_text_rows(p["matrix"]),
                                       layout=widgets.Layout(width=f"{MATRIX_WIDTH}px", max_width="100%"))
        self.grad_kind = widgets.Dropdown(options=GRADS, value=p["grad_kind"], description=label("grad_kind"),
                                          style=style, layout=widgets.Layout(width="300px"))
        self.row = widgets.IntSlider(value=p["row"], min=0, max=max(p["row"], 0), description=label("row"),
                                     style=style, layout=small())
        self.col = widgets.IntSlider(value=p["col"], min=0, max=max(p["col"], 0), description="col", style=style,
                                     layout=small())
        self.play = widgets.Play(value=0, min=0, max=1, step=1, interval=700, description="play backward")
        self.step = widgets.IntSlider(value=0, min=0, max=1, description=label("step"), style=style)
        self._links = [widgets.jslink((self.play, "value"), (self.step, "value"))]
        # as wide as the page allows, up to the picture's natural width; the height follows the aspect ratio
        self.image = widgets.Image(format="png", layout=image_layout(width))
        self.info = widgets.HTML()
        self.error = widgets.HTML(layout=widgets.Layout(min_height="22px"))
        self._scene = scene
        self._renderer = scene.renderer
        self._state = first if first and _same_params(self.params(), p) else {}
        self.message = ""
        self.x = self.output = self.grad_output = self.dx = self.dx_shown = self.indices = None
        self.unlabelled = ()
        self._info_body = ""
        self.winners = np.zeros((0, 2), dtype=int)
        self.fraction_reached = float("nan")
        self.sum_text, self.is_gradient = "", True
        self.png = b""
        wrap = widgets.Layout(flex_flow="row wrap")  # narrow pages wrap the controls instead of clipping them
        super().__init__([
            widgets.HBox([self.op, self.tie_policy, *self._sliders.values(), self.resample], layout=wrap),
            widgets.HBox([self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.count_include_pad], layout=wrap),
            widgets.HBox([self.input_kind, self.size, self.grad_kind], layout=wrap),
            self.matrix,
            widgets.HBox([self.row, self.col, self.play, self.step], layout=wrap),
            self.image, self.info, self.error,
        ])
        self.add_class("poolviz-explorer")  # a stable hook for the browser tests (tests/browser/explorer_page.py)
        for name in (*self._names, "step"):
            getattr(self, name).observe(self._on_change, names="value")
        self.resample.on_click(self._on_resample)
        self._busy = False
        # the first picture is the one a notebook stores: a smaller palette PNG; later ones encode fast
        self.update(full_step=True, compress_level=9)

    def _repr_mimebundle_(self, **kwargs):
        """The widget, plus its current picture as a PNG for pages that cannot run widgets.

        JupyterLab and Voila show the live widget; GitHub, nbviewer and other static renderers fall back
        to the ``image/png`` (nbval does not compare images, so stored notebooks stay stable).
        """
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and self.png:
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
            bundle["text/plain"] = LIVE_TEXT
            # the PNG has SCALE times the pixels: show it at its natural width, not twice that; "poolviz"
            # tells a page builder (tools/build_site.py) that this widget needs a kernel
            return bundle, {"image/png": {"width": self._width}, "poolviz": {"explorer": "live"}}
        return bundle

    def close(self):
        """Close the explorer and every widget inside it (controls, layouts, links), so none stays registered."""
        for link in getattr(self, "_links", ()):  # absent when __init__ raised (an invalid argument)
            link.close()
        _close_tree(self)

    def params(self) -> dict:
        """The current control values as the plain dict the picture is computed from."""
        p = {name: getattr(self, name).value for name in self._names}
        return dict(p, sample=self._sample, seed=self._seed, custom_x=self._custom_x)

    def _on_change(self, change):
        if self._busy:
            return
        owner = change["owner"]
        if owner is self.op or owner is self.input_kind:
            self.note = ""  # a note about the input holds until the op or the input is chosen again
        if owner is self.op:
            self._offer_valid_input()
        at_end = owner is not self.step and self.step.value == self.step.max
        self.update(full_step=at_end)

    def _offer_valid_input(self):
        """An op that needs inputs >= 0 chosen on a preset with negative values: switch to the post-ReLU
        preset, and say so (a typed matrix is never changed: its message says what to do)."""
        spec = get_op(self.op.value)
        if not spec.nonnegative or self.input_kind.value == "custom":
            return
        try:
            x = self._scene.input(self.params())
        except (ValueError, TypeError):
            return
        if not (x < 0).any():
            return
        before = self.input_kind.value
        self._busy = True
        try:
            self.input_kind.value = NONNEGATIVE_INPUT
        finally:
            self._busy = False
        self.note = (f"input switched from {input_label(before)} to {input_label(NONNEGATIVE_INPUT)}: "
                     f"{spec.label} samples each window in proportion to its values, so it needs inputs >= 0")

    def _on_resample(self, _button=None):
        self._sample += 1
        self.update(full_step=self.step.value == self.step.max)

    def _sync_enabled(self):
        """Show the controls the chosen op and input use; hide (and disable) the others."""
        spec = get_op(self.op.value)
        custom = self.input_kind.value == "custom"
        for name in (*_GEOMETRY, *self._sliders):
            _show(getattr(self, name), name in spec.options)
        _show(self.tie_policy, spec.breaks_ties)
        _show(self.resample, "rng" in spec.options)  # only an op that samples can draw again
        _show(self.size, not custom)
        _show(self.matrix, custom)
        self.matrix.rows = _text_rows(self.matrix.value)

    def update(self, full_step=False, compress_level=None):
        """Recompute and redraw for the current control values; on an invalid combination, show why.

        ``compress_level`` (0-9) asks for a smaller palette PNG, slower to encode; None (live updates) for
        the fast one.
        """
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
            self.message += self._what_to_do(p)
            self.error.value = (f"<div style='color:#b2182b'><b>Not drawn:</b> {escape_html(self.message)}"
                                f"<br><i>(showing the last valid picture)</i></div>")
            self.info.value = note_html(self.note) + self._info_body  # the last valid picture's line
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
        self.fraction_reached = fraction_reached(run.dx)
        self.sum_text, self.is_gradient = state["sum_text"], state["is_gradient"]
        self._state = state
        self.png = self._scene.draw(state, step, compress_level)
        self.winners = self._scene.winners
        self.unlabelled = self._scene.unlabelled
        self.image.value = self.png
        self._info_body = info_html(state, step, self.dx_shown, self.fraction_reached, self.unlabelled)
        self.info.value = note_html(self.note) + self._info_body

    def _what_to_do(self, p) -> str:
        """The explorer's own advice after an op's message, for an op that needs inputs >= 0."""
        if not get_op(p["op"]).nonnegative:
            return ""
        try:
            x = self._scene.input(p)
        except (ValueError, TypeError):
            return ""
        if not (x < 0).any():
            return ""
        where = "your matrix has" if p["input_kind"] == "custom" else f"the {input_label(p['input_kind'])} input has"
        return (f" Here {where} negative entries: type a matrix of numbers >= 0, or choose the input "
                f"{input_label(NONNEGATIVE_INPUT)}.")


def _show(widget, visible: bool):
    """Show ``widget``, or hide it (and disable it, where it can be): an unused control takes no room."""
    widget.layout.display = None if visible else "none"
    if hasattr(widget, "disabled"):
        widget.disabled = not visible


def _text_rows(text: str) -> int:
    """Rows of the matrix box: the matrix's height (at least 2, at most 8); 3 for the empty box's example."""
    n = len([r for r in text.replace(";", "\n").splitlines() if r.strip()])
    return 3 if n == 0 else min(8, max(2, n))


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


def explore(x=None, op="max", kernel_size=2, stride=None, **options) -> PoolExplorer:
    """Open an explorer of a pooling layer's forward and backward pass.

    Parameters
    ----------
    x : array_like of shape (H, W), optional
        Your own input; default: a 6x6 random preset (choose others in the widget).
    op : str
        A name in :data:`poolviz.ops.OPS` (``"max"``, ``"avg"``, ``"lse"``, ``"lp"``, ``"soft"``,
        ``"stochastic"``) or an alias.
    kernel_size : int
    stride : int, optional
        Default: the kernel size, as in PyTorch.
    **options
        ``padding``, ``dilation``, ``ceil_mode``, ``count_include_pad``; each op option that has a slider
        (``beta``, ``norm_type``); ``input_kind`` ("random", "ties", "relu", "image"), ``size`` (at most 32),
        ``grad_kind`` (the upstream gradient: "ones", "random", "onehot"), ``selected`` ((row, col) of an
        output cell), ``tie_policy`` ("first", "split", "all"; max pooling's rule for a tied maximum),
        ``seed``, ``width`` (the picture's natural width in CSS pixels, default 800; on a page it is as wide as
        its container, up to this; its height follows the layout). The input preset defaults to ``"random"``,
        or ``"relu"`` for an op that needs inputs >= 0 (stochastic pooling), which the info line says.

    Returns
    -------
    PoolExplorer
        Displays itself; its controls are attributes (``ex.kernel_size.value = 3``), and so is what it
        shows (``ex.output``, ``ex.dx``, ``ex.fraction_reached``, ``ex.message``).

    Raises
    ------
    TypeError, ValueError
        For a value no control can hold (a tuple ``kernel_size``, ``beta <= 0`` on its log slider, a ``size``
        above 32, an unknown preset), naming the argument; for a ``height`` (it follows from the layout) or a
        ``width`` outside 252..4000. A value a control can hold is never changed: a
        control's range widens to hold it, and an op that refuses it says why in the widget.
    """
    return PoolExplorer(x, op, kernel_size, stride, **options)
