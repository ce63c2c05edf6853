"""The kernel-free explorer: frames pre-rendered into a ``Stack``, switched by a slider linked in the browser."""
from __future__ import annotations

import ipywidgets as widgets

from ..style import format_value
from .explorer import image_layout
from .params import check, label, params, slider_options, sweeps
from .scene import Scene, check_selected

__all__ = ["static_explorer"]


def static_explorer(vary="step", values=None, *, compress_level=9, width=660, height=260, **explore_kwargs):
    """A kernel-free explorer: frames pre-rendered into a ``Stack``, switched by a slider linked in the browser.

    Nothing here needs Python once drawn: the slider, the Play button and the Stack are joined with
    ``jslink``, so the slider works on a static HTML page (nbconvert, nbviewer). No hidden explorer is
    created, so the page's stored widget state holds only what is shown. The same keyword arguments as
    :func:`~poolviz.widgets.explore` give the same numbers (both check them the same way).

    Parameters
    ----------
    vary : str
        What to sweep: ``"step"`` (the backward pass, one output cell at a time), or a parameter:
        an op's slider option (``"beta"``, ``"norm_type"``), ``"kernel_size"``, ``"stride"``, ``"padding"``,
        ``"dilation"``, ``"ceil_mode"``, ``"op"``, ``"grad_kind"``, ``"tie_policy"``, ``"row"``, ``"col"``.
    values : sequence, optional
        The values to pre-render; default: every step, every output row (column), or a small sweep
        (the op option's ``Option.sweep``; beta: 0.1 ... 100).
    compress_level : int
        PNG compression of the frames (0-9); higher is smaller.
    **explore_kwargs
        The arguments of :func:`~poolviz.widgets.explore` (``x``, ``op``, ``kernel_size``, ``stride``,
        ``beta``, ...).

    Returns
    -------
    ipywidgets.VBox
        With attributes ``slider`` (SelectionSlider), ``play`` (Play), ``stack`` (Stack of Images),
        ``frames`` (list of PNG bytes), ``labels``, ``dx_shown`` (list of (H, W) arrays: the gradient each
        frame shows) and ``nbytes`` (the frames' total size).

    Raises
    ------
    ValueError
        For an unknown ``vary``, or when no value gives a valid picture (with the op's message).
    TypeError, ValueError
        As :func:`~poolviz.widgets.explore`, for an argument or a swept value no control can hold.
    """
    p = params(**explore_kwargs)
    default_sweeps = sweeps()
    sweepable = [*default_sweeps, *slider_options(), "row", "col"]
    if vary != "step" and vary not in sweepable:
        raise ValueError(f"vary must be 'step' or one of {', '.join(map(repr, dict.fromkeys(sweepable)))}; "
                         f"got {vary!r}.")
    scene = Scene(width, height)
    try:
        base = scene.compute(p)
    except (ValueError, TypeError):
        if vary == "step":
            raise  # an invalid setting has no backward to step through: its own message
        base = None  # a sweep may still hold valid settings
    else:
        check_selected(p, base)
    frames, labels, dx_shown, message = [], [], [], ""
    if vary == "step":
        n_out = base["run"].y.size
        for step in range(n_out + 1) if values is None else values:
            frames.append(scene.draw(base, int(step), compress_level))
            labels.append(str(step))
            dx_shown.append(scene.dx_at(base, int(step)))
    else:
        if values is None and vary in ("row", "col"):  # every output row (column) there is
            Ho, Wo = (base or scene.compute(p))["geom"].out_shape  # an invalid setting raises its own message
            values = list(range(Ho if vary == "row" else Wo))
        elif values is None:
            if vary not in default_sweeps:
                raise ValueError(f"{vary} has no default sweep: pass values=[...].")
            values = default_sweeps[vary]
        values = [check(vary, v) for v in values]  # refused in words, as explore() would
        for v in values:
            try:
                state = scene.compute(dict(p, **{vary: v}))
            except (ValueError, TypeError) as exc:
                message = str(exc)
                continue  # an invalid setting: leave that frame out
            n_out = state["run"].y.size
            frames.append(scene.draw(state, n_out, compress_level))
            labels.append(format_value(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
            dx_shown.append(scene.dx_at(state, n_out))
    if not frames:
        raise ValueError(f"no valid frame for {vary} in {list(values)!r}: {message}")
    size = image_layout(width, height)  # one shared layout; "contain" keeps the aspect ratio in narrow panels
    images = [widgets.Image(value=f, format="png", layout=size) for f in frames]
    last = len(images) - 1
    stack = widgets.Stack(images, selected_index=last)
    slider = widgets.SelectionSlider(options=labels, value=labels[-1], description=label(vary),
                                     style={"description_width": "initial"})
    play = widgets.Play(value=last, min=0, max=last, interval=700)
    links = [widgets.jslink((slider, "index"), (stack, "selected_index")),
             widgets.jslink((play, "value"), (slider, "index"))]
    box = widgets.VBox([widgets.HBox([play, slider]), stack])
    box.slider, box.play, box.stack, box.frames, box.labels, box.links = slider, play, stack, frames, labels, links
    box.dx_shown = dx_shown
    box.nbytes = sum(len(f) for f in frames)
    return box
