"""Controls built from the checked parameters' ranges: a slider always widened to hold the value it is given."""
from __future__ import annotations

import math

import ipywidgets as widgets

from .params import RANGES, label

__all__ = ["int_slider", "option_slider"]


def int_slider(name, value, **kw) -> widgets.IntSlider:
    """An IntSlider over ``RANGES[name]``, widened to hold ``value``."""
    low, high = RANGES[name]
    return widgets.IntSlider(value=value, min=min(low, value), max=max(high, value), continuous_update=False, **kw)


def option_slider(name, option, value, style) -> widgets.Widget:
    """The slider of an op option, from its ``Option.slider`` ``(low, high, step, log)``, widened to hold ``value``.

    On a log scale ``step`` is in powers of ten, as ``FloatLogSlider`` counts.
    """
    low, high, step, log = option.slider
    kw = dict(description=label(name), continuous_update=False, style=style)
    if not log:
        return widgets.FloatSlider(value=value, min=min(low, value), max=max(high, value), step=step, **kw)
    lo, hi = math.log10(low), math.log10(high)
    if value < low:  # whole steps, rounded to a clean exponent, then checked: log10 rounds
        lo -= round(math.ceil((lo - math.log10(value)) / step) * step, 9)
    if value > high:
        hi += round(math.ceil((math.log10(value) - hi) / step) * step, 9)
    while 10 ** lo > value:
        lo -= step
    while 10 ** hi < value:
        hi += step
    return widgets.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=step, readout_format=".2g", **kw)
