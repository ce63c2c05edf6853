"""The kernel-free explorer: frames pre-rendered into a ``Stack``, switched by a slider linked in the browser."""
from __future__ import annotations

import base64

import ipywidgets as widgets

from ..ops import get_op
from ..style import format_value
from .layout import image_layout
from .params import check, label, params, picture_width, slider_options, sweeps
from .scene import Scene, check_selected

__all__ = ["StaticExplorer", "static_explorer"]


class StaticExplorer(widgets.VBox):
    """What :func:`static_explorer` returns: a ``VBox`` that also offers its first frame as a PNG.

    JupyterLab, Voila and static HTML with widget support show the slider and the frames; GitHub, nbviewer
    and a page without JavaScript fall back to the ``image/png`` (the first frame) and a sentence saying what
    the widget would do, instead of ``VBox(children=...)``. The display metadata ``"poolviz"`` tells a page
    builder (``tools/build_site.py``) that this widget works without a kernel.
    """

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        frames = getattr(self, "frames", None)
        if bundle is None or not frames:
            return bundle
        bundle["image/png"] = base64.b64encode(frames[0]).decode("ascii")
        bundle["text/plain"] = (f"A kernel-free explorer: {len(frames)} pictures of {self.slider.description}, "
                                f"switched by its slider in the browser (this is the first).")
        return bundle, {"image/png": {"width": self.natural_width}, "poolviz": {"explorer": "kernel-free"}}


def static_explorer(vary="step", values=None, *, compress_level=9, width=None, height=None, **explore_kwargs):
    """A kernel-free explorer: frames pre-rendered into a ``Stack``, switched by a slider linked in the browser.

    Nothing here needs Python once drawn: the slider, the Play button and the Stack are joined with
    ``jslink``, so the slider works on a static HTML page (nbconvert, nbviewer). No hidden explorer is
    created, so the page's stored widget state holds only what is shown. The same keyword arguments as
    :func:`~poolviz.widgets.explore` give the same numbers (both check them the same way). It opens on its
    first frame (the first value: for ``"tie_policy"``, PyTorch's rule, the first maximum), and every frame
    has the same size, so the page does not jump while they play.

    Parameters
    ----------
    vary : str
        What to sweep: ``"step"`` (the backward pass, one output cell at a time), or a parameter:
        an op's slider option (``"beta"``, ``"norm_type"``), ``"kernel_size"``, ``"stride"``, ``"padding"``,
        ``"dilation"``, ``"ceil_mode"``, ``"op"``, ``"grad_kind"``, ``"tie_policy"``, ``"row"``, ``"col"``.
    values : sequence, optional
        The values to pre-render; default: every step, every output row (column), or a small sweep
        (the op option's ``Option.sweep``; beta: 0.1 ... 100). A default sweep leaves out the values that
        give no picture (padding larger than half the kernel, stochastic pooling on negative inputs) and says
        so under the slider; values you give must all give a picture.
    compress_level : int
        PNG compression of the frames (0-9); higher is smaller.
    width : int, optional
        The pictures' natural width in CSS pixels (default 800), as in :func:`~poolviz.widgets.explore`.
    **explore_kwargs
        The arguments of :func:`~poolviz.widgets.explore` (``x``, ``op``, ``kernel_size``, ``stride``,
        ``beta``, ...).

    Returns
    -------
    StaticExplorer
        An ``ipywidgets.VBox`` with attributes ``slider`` (SelectionSlider), ``play`` (Play), ``stack`` (Stack
        of Images), ``frames`` (list of PNG bytes), ``labels``, ``dx_shown`` (list of (H, W) arrays: the gradient each
        frame shows), ``nbytes`` (the frames' total size), ``left_out`` (list of (value, reason): the default
        sweep's values that give no picture), ``note`` (what is said under the slider, "" if nothing) and
        ``natural_width`` (the pictures' width in CSS px).

    Raises
    ------
    ValueError
        For an unknown ``vary``; for given ``values`` of which some give no picture (naming them, with the
        op's reasons); when no value gives a picture.
    TypeError, ValueError
        As :func:`~poolviz.widgets.explore`, for an argument or a swept value no control can hold.
    """
    width = picture_width(width, height)
    p = params(**explore_kwargs)
    default_sweeps = sweeps()
    sweepable = [*default_sweeps, *slider_options(), "row", "col"]
    if vary != "step" and vary not in sweepable:
        raise ValueError(f"vary must be 'step' or one of {', '.join(map(repr, dict.fromkeys(sweepable)))}; "
                         f"got {vary!r}.")
    scene = Scene(width)
    try:
        base = scene.compute(p)
    except (ValueError, TypeError):
        if vary == "step":
            raise  # an invalid setting has no backward to step through: its own message
        base = None  # a sweep may still hold valid settings
    else:
        check_selected(p, base)
    notes = []
    if explore_kwargs.get("x") is None and explore_kwargs.get("input_kind") is None and get_op(p["op"]).nonnegative:
        notes.append(f"input: the post-ReLU preset, as {get_op(p['op']).label} needs inputs >= 0")
    left_out = []
    if vary == "step":
        n_out = base["run"].y.size
        steps = list(range(n_out + 1)) if values is None else [check("step", v) for v in values]
        outside = [step for step in steps if not 0 <= step <= n_out]
        if outside:
            raise ValueError(f"no picture for step in {outside!r}: the backward has steps 0 to {n_out} (one per "
                             f"output cell).")
        frames = [(base, step, str(step)) for step in steps]
    else:
        given = values is not None
        if values is None and vary in ("row", "col"):  # every output row (column) there is
            Ho, Wo = (base or scene.compute(p))["geom"].out_shape  # an invalid setting raises its own message
            values = list(range(Ho if vary == "row" else Wo))
        elif values is None:
            if vary not in default_sweeps:
                raise ValueError(f"{vary} has no default sweep: pass values=[...].")
            values = default_sweeps[vary]
        values = [check(vary, v) for v in values]  # refused in words, as explore() would
        frames = []
        for v in values:
            try:
                state = scene.compute(dict(p, **{vary: v}))
                check_selected(dict(p, **{vary: v}), state)  # a row or column outside the output is not moved
            except (ValueError, TypeError) as exc:
                left_out.append((v, str(exc)))
                continue
            frames.append((state, state["run"].y.size, _label(v)))
        if left_out and given:
            reasons = "; ".join(f"{vary}={v!r}: {why}" for v, why in left_out)
            raise ValueError(f"no picture for {vary} in {[v for v, _ in left_out]!r} ({reasons}). Leave these "
                             f"values out, or change the other arguments.")
        if left_out:
            notes.append(f"left out {vary} = {', '.join(_label(v) for v, _ in left_out)}: "
                         + "; ".join(why for _, why in left_out))
    if not frames:
        raise ValueError(f"no valid frame for {vary} in {list(values)!r}: {left_out[-1][1] if left_out else ''}")
    scene.fix_layout([state for state, _, _ in frames])  # one size for every frame
    pngs, labels, dx_shown = [], [], []
    for state, step, text in frames:
        pngs.append(scene.draw(state, step, compress_level))
        labels.append(text)
        dx_shown.append(scene.dx_at(state, step))
    size = image_layout(width)  # one shared layout: as wide as the page, up to the natural width
    images = [widgets.Image(value=f, format="png", layout=size) for f in pngs]
    stack = widgets.Stack(images, selected_index=0)  # the first frame: the first value (e.g. PyTorch's rule)
    slider = widgets.SelectionSlider(options=labels, value=labels[0], description=label(vary),
                                     style={"description_width": "initial"})
    play = widgets.Play(value=0, min=0, max=len(images) - 1, interval=700)
    links = [widgets.jslink((slider, "index"), (stack, "selected_index")),
             widgets.jslink((play, "value"), (slider, "index"))]
    note = "\n".join(notes)
    parts = [widgets.HBox([play, slider]), stack]
    if note:
        lines = "<br>".join(_html(n.rstrip(".")) for n in notes)
        parts.insert(1, widgets.HTML(f"<div style='color:#0072B2'><b>Note:</b> {lines}.</div>"))
    box = StaticExplorer(parts)
    box.slider, box.play, box.stack, box.frames, box.labels, box.links = slider, play, stack, pngs, labels, links
    box.dx_shown, box.left_out, box.note = dx_shown, left_out, note
    box.nbytes = sum(len(f) for f in pngs)
    box.natural_width = width
    return box


def _label(v) -> str:
    return format_value(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
