"""What the user asked for, checked: ``explore()``'s arguments as the plain dict a picture is computed from.

Widget-free. The live and the kernel-free explorer both start here, so the same keyword arguments give the
same numbers. Every value is either honoured (the live explorer widens a control's range to hold it, and an
op that refuses it says so in the widget, as for any invalid setting) or refused here with a message that
names the argument and says what to do: nothing is changed in silence.

The op menu, the op-specific sliders (an :class:`poolviz.ops.Option` with a ``slider``) and their sweeps are
read from :data:`poolviz.ops.OPS` when asked for, so an op added there appears everywhere.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..ops import OPS, Option, get_op
from ..ties import TIE_POLICIES

__all__ = ["GRADS", "INPUTS", "LABELS", "MAX_CELLS", "NONNEGATIVE_INPUT", "RANGES", "STRIDES", "TIES", "check",
           "defaults", "label", "matrix_text", "params", "picture_width", "slider_options", "sweeps"]

INPUTS = [("random (continuous)", "random"), ("integers, many ties", "ties"), ("post-ReLU, many zeros", "relu"),
          ("image patch", "image"), ("my own (type below)", "custom")]
#: The preset offered to an op that needs inputs >= 0 (stochastic pooling): the default input for it, and what the
#: live explorer switches to, saying so, when such an op is chosen on a preset with negative values.
NONNEGATIVE_INPUT = "relu"
GRADS = [("all ones", "ones"), ("random", "random"), ("one-hot on the selected output", "onehot")]
# max pooling's rule for a tied maximum; "first" is the op itself (PyTorch), the others come from poolviz.ties
TIES = [("first maximum (PyTorch)", "first"), ("split equally among ties", "split"),
        ("all ties get it all (wrong)", "all")]
MAX_CELLS = 32  # the largest input side, typed or generated: beyond it the cells are too small to read
#: The integer sliders' usual ranges; a value outside one widens it (see the module docstring).
RANGES = {"kernel_size": (1, 6), "padding": (0, 3), "dilation": (1, 3), "size": (2, 16)}
STRIDES = tuple(range(1, 9))  # the stride menu, after "= kernel" (0); another stride is added to it
#: How a control (and the kernel-free explorer's slider) names each parameter; op sliders use Option.label.
LABELS = {"step": "backward step", "tie_policy": "tie rule", "kernel_size": "kernel", "stride": "stride",
          "padding": "padding", "dilation": "dilation", "ceil_mode": "ceil_mode", "op": "op",
          "grad_kind": "upstream grad", "row": "output row", "col": "output col"}
_BASE = dict(op="max", kernel_size=2, stride=0, padding=0, dilation=1, ceil_mode=False, count_include_pad=True,
             input_kind="random", size=6, matrix="", grad_kind="ones", row=0, col=0, tie_policy="first", sample=0,
             seed=0)


def slider_options() -> dict[str, Option]:
    """Every op option shown as a slider, by name, in menu order (the first op that declares a name sets it)."""
    sliders = {}
    for op in OPS.values():
        for name, option in op.options.items():
            if option.slider is not None and name not in sliders:
                if name in _BASE:  # it would replace another control of the explorer
                    raise ValueError(f"{op.name}'s option {name!r} has the name of an explorer control; rename it.")
                sliders[name] = option
    return sliders


def defaults() -> dict:
    """Every parameter of a picture with its default: the controls' names, plus ``sample`` and ``seed``."""
    return dict(_BASE, **{name: option.default for name, option in slider_options().items()})


def sweeps() -> dict:
    """What the kernel-free explorer pre-renders for each parameter when given no values."""
    sliders = {name: list(option.sweep) for name, option in slider_options().items() if option.sweep}
    return dict(sliders, kernel_size=[1, 2, 3, 4], stride=[1, 2, 3], padding=[0, 1, 2], dilation=[1, 2, 3],
                ceil_mode=[False, True], op=list(OPS), grad_kind=[v for _, v in GRADS], tie_policy=list(TIE_POLICIES))


def label(name: str) -> str:
    """The words a control or a slider uses for parameter ``name``."""
    option = slider_options().get(name)
    return (option.label or name) if option is not None else LABELS.get(name, name)


def _choices(pairs) -> str:
    return ", ".join(repr(v) for _, v in pairs)


def _integer(name, value, what="one integer") -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    hint = ""
    if isinstance(value, (tuple, list, np.ndarray)):  # the ops take (kH, kW); the explorer's control one number
        hint = (f"; the explorer shows square settings (one {name} for rows and columns): for {value!r} call "
                f"the ops themselves, e.g. poolviz.max_pool2d(x, ...)")
    raise TypeError(f"{name}={value!r}: the explorer's {name} control holds {what}{hint}.")


def check(name: str, value):
    """``value`` as the explorer's control ``name`` holds it, or a TypeError/ValueError saying what to do.

    Values a control can hold are returned unchanged (as plain Python numbers), even outside the control's
    usual range: the explorer widens the range, and the op refuses a value it cannot use in its own words.
    """
    if name == "op":
        return get_op(value).name
    if name == "stride":
        if value is None:
            return 0  # the menu's "= kernel"
        stride = _integer(name, value, "one integer, or None for the kernel size")
        if stride == 0:  # 0 is the menu's "= kernel": it cannot also mean a stride of 0
            raise ValueError("stride=0: a stride must be positive; use stride=None for the default "
                             "(stride = kernel_size, as in PyTorch).")
        return stride
    if name in ("kernel_size", "padding", "dilation", "seed"):
        return _integer(name, value)
    if name == "size":
        size = _integer(name, value)
        if size > MAX_CELLS:
            raise ValueError(f"size={size}: keep it small, at most {MAX_CELLS} (a {MAX_CELLS}x{MAX_CELLS} input); "
                             f"for a larger one call the ops themselves.")
        return size
    if name == "step":  # the backward player's step: checked against the output by the caller
        return _integer(name, value)
    if name in ("row", "col"):
        index = _integer(name, value)
        if index < 0:
            raise ValueError(f"{name}={index}: output rows and columns count from 0 (no negative indices).")
        return index
    if name in ("ceil_mode", "count_include_pad"):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise TypeError(f"{name}={value!r}: the explorer's {name} checkbox holds True or False.")
    for key, pairs in (("input_kind", INPUTS), ("grad_kind", GRADS), ("tie_policy", TIES)):
        if name == key:
            if not isinstance(value, str) or value not in [v for _, v in pairs]:
                raise ValueError(f"{name} must be one of {_choices(pairs)}, got {value!r}.")
            return value
    option = slider_options().get(name)
    if option is None:
        raise ValueError(f"{name!r} is not a parameter of the explorer.")
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r}: the explorer's {label(name)} slider holds one number.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}={value}: a slider holds finite numbers only.")
    if option.slider[3] and value <= 0:
        raise ValueError(f"{name}={value:g}: the {label(name)} slider has a log scale, which holds only values > 0; "
                         f"choose {name} > 0.")
    return value


def picture_width(width=None, height=None) -> int:
    """The picture's natural width in CSS pixels (default 800), checked; its height follows from the layout."""
    from .layout import MARGIN, TITLE_W, WIDTH

    if height is not None:
        raise TypeError(f"height={height!r}: the picture's height follows from its layout and its width; give "
                        f"width= alone (the natural width in CSS pixels, default {WIDTH}).")
    if width is None:
        return WIDTH
    low = TITLE_W + 2 * MARGIN
    if not isinstance(width, numbers.Integral) or isinstance(width, (bool, np.bool_)) or not low <= width <= 4000:
        raise ValueError(f"width={width!r}: give the picture's natural width in CSS pixels, an integer from {low} "
                         f"to 4000 (default {WIDTH}).")
    return int(width)


def matrix_text(x) -> str:
    """``x`` (H, W) as the matrix box shows it: one row per line."""
    return "\n".join(" ".join(f"{v:g}" for v in row) for row in np.atleast_2d(np.asarray(x, dtype=float)))


def params(x=None, op="max", kernel_size=2, stride=None, *, padding=0, dilation=1, ceil_mode=False,
           count_include_pad=True, input_kind=None, size=6, grad_kind="ones", selected=(0, 0), tie_policy="first",
           seed=0, **op_options) -> dict:
    """Everything a picture depends on, checked, as a plain dict (the live explorer's controls mirror it).

    The arguments are :func:`poolviz.widgets.explore`'s; ``**op_options`` are the ops' slider options
    (``beta``, ``norm_type``, ...). Raises TypeError or ValueError, naming the argument, for a value no
    control can hold (see :func:`check`), and TypeError for an unknown keyword.
    """
    sliders = slider_options()
    for name in op_options:
        if name == "grad":  # once the preset's name, while ex.grad meant dx: one name, one meaning
            raise TypeError(f"explore() has no 'grad' argument: the upstream-gradient preset is grad_kind=, one of "
                            f"{_choices(GRADS)}.")
        if name not in sliders:
            known = sorted({*_BASE, *sliders, "x", "selected"} - {"sample", "row", "col", "matrix"})
            raise TypeError(f"explore() got an unexpected keyword argument {name!r}; it takes {', '.join(known)}.")
    if x is not None and input_kind not in (None, "custom"):
        raise ValueError(f"input_kind={input_kind!r} with your own x: give one of them (x is shown as 'custom').")
    if not isinstance(selected, (tuple, list)) or len(selected) != 2:
        raise TypeError(f"selected={selected!r}: give the output cell as (row, col).")
    if x is not None:
        input_kind = "custom"
    elif input_kind is None:  # the default preset: one the op can take (stochastic pooling needs inputs >= 0)
        input_kind = NONNEGATIVE_INPUT if get_op(check("op", op)).nonnegative else "random"
    given = dict(op=op, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                 ceil_mode=ceil_mode, count_include_pad=count_include_pad, size=size, grad_kind=grad_kind,
                 row=selected[0], col=selected[1], tie_policy=tie_policy, seed=seed, input_kind=input_kind,
                 **op_options)
    p = dict(defaults(), **{name: check(name, value) for name, value in given.items()})
    custom = None if x is None else np.asarray(x, dtype=float)
    return dict(p, custom_x=custom, matrix="" if custom is None else matrix_text(custom))
