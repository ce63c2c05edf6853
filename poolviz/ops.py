"""Every pooling op, declared once: its name, label, forward, backward, options and how it routes.

Routing (:func:`poolviz.routing.run_pool`), gradcheck, the explorers' menus, sliders and sweeps, and the
pictures read this table; adding an op is one entry in :data:`OPS`.

====================  ======================  ===================================  ======================================
name (aliases)        label                   options besides kernel_size, stride  routes each window's gradient
====================  ======================  ===================================  ======================================
``max``               max pooling             padding, dilation, ceil_mode         whole, to one input: a tie rule decides
``avg`` (average,     average pooling         padding, ceil_mode,                  evenly over the window
mean)                                         count_include_pad, divisor_override
``lse`` (logsumexp,   LogSumExp pooling       beta                                 by softmax(beta * window)
smooth)
``lp``                Lp pooling              norm_type, ceil_mode                 by x**(p-1) * y**(1-p)
``soft`` (softpool)   SoftPool                (none)                               by softmax(window) * (1 + x - y)
``stochastic``        stochastic pooling      rng, indices                         whole, to the sampled input
====================  ======================  ===================================  ======================================

An op may also be named by its forward function (``poolviz.max_pool2d``) or, for gradcheck, its 1-d
forward (``poolviz.max_pool1d``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import avg_pool as _avg
from . import max_pool as _max
from . import smooth_pool as _smooth

__all__ = ["NEUTRAL", "OPS", "Option", "PoolOp", "backward_of", "get_op"]


@dataclass(frozen=True)
class Option:
    """One option of an op besides ``x``, ``kernel_size`` and ``stride``.

    ``label`` names it on a control ("p" for ``norm_type``; default: the option's name). ``slider``,
    ``(low, high, step, log)``, makes the explorer show it as a slider (on a log scale if ``log``);
    ``sweep`` is what a kernel-free picture pre-renders by default. Geometry options (padding, ...) have
    neither: the explorer lays out their controls itself, as every op that has them shares them.
    """

    default: Any
    label: str = ""
    slider: tuple | None = None
    sweep: tuple = ()


@dataclass(frozen=True)
class PoolOp:
    """A pooling op: what routing, gradcheck, the pictures and the explorers need to know about it.

    ``forward(x, kernel_size=, stride=, **options)`` and ``backward(grad_output, x, kernel_size=, stride=,
    **options)`` are the 2-d functions; ``forward_1d``/``backward_1d`` the 1-d ones, where there are any.
    ``routes_to_one``: every window's gradient goes, whole, to one input (so the gradient's sum equals the
    upstream sum, and the pictures mark the winner). ``breaks_ties``: a tie rule decides which input
    (max pooling). ``nonnegative``: the input must be >= 0 (stochastic pooling samples by value).
    ``run``, if given, replaces :meth:`forward_and_backward` (an op whose backward needs more than x).
    """

    name: str
    label: str
    menu: str
    forward: Callable
    backward: Callable
    options: dict = field(default_factory=dict)
    aliases: tuple = ()
    routes_to_one: bool = False
    breaks_ties: bool = False
    nonnegative: bool = False
    forward_1d: Callable | None = None
    backward_1d: Callable | None = None
    run: Callable | None = None

    def defaults(self) -> dict:
        """The options with their defaults."""
        return {name: option.default for name, option in self.options.items()}

    def forward_and_backward(self, x, kernel_size, stride, options: dict):
        """``(y, backward, indices)``: the forward output, ``backward(grad_output) -> dx``, and the sampled
        positions (None unless the op samples)."""
        if self.run is not None:
            return self.run(x, kernel_size, stride, **options)
        y = self.forward(x, kernel_size=kernel_size, stride=stride, **options)
        return y, lambda g: self.backward(g, x, kernel_size=kernel_size, stride=stride, **options), None


def _run_stochastic(x, kernel_size, stride, rng=None, indices=None):
    """Stochastic pooling with a fresh sample (from ``rng``), or replaying ``indices``."""
    if indices is None:
        y, indices = _smooth.stochastic_pool2d(x, kernel_size, stride, rng)
    else:
        y = _smooth.stochastic_pool2d_at(x, indices, kernel_size, stride)
    return y, lambda g: _smooth.stochastic_pool2d_backward(g, x, indices, kernel_size, stride), np.asarray(indices)


_PADDING, _DILATION, _CEIL = Option(0), Option(1), Option(False)

#: The ops, in the order menus show them.
OPS = {op.name: op for op in [
    PoolOp("max", "max pooling", "max", _max.max_pool2d, _max.max_pool2d_backward,
           {"padding": _PADDING, "dilation": _DILATION, "ceil_mode": _CEIL},
           routes_to_one=True, breaks_ties=True,
           forward_1d=_max.max_pool1d, backward_1d=_max.max_pool1d_backward),
    PoolOp("avg", "average pooling", "average", _avg.avg_pool2d, _avg.avg_pool2d_backward,
           {"padding": _PADDING, "ceil_mode": _CEIL, "count_include_pad": Option(True),
            "divisor_override": Option(None)},
           aliases=("average", "mean"), forward_1d=_avg.avg_pool1d, backward_1d=_avg.avg_pool1d_backward),
    PoolOp("lse", "LogSumExp pooling", "LogSumExp", _smooth.logsumexp_pool2d, _smooth.logsumexp_pool2d_backward,
           {"beta": Option(1.0, "beta", slider=(0.1, 100.0, 0.1, True), sweep=(0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0))},
           aliases=("logsumexp", "smooth")),
    PoolOp("lp", "Lp pooling", "Lp", _avg.lp_pool2d, _avg.lp_pool2d_backward,
           {"norm_type": Option(2.0, "p", slider=(1.0, 10.0, 0.5, False), sweep=(1.0, 2.0, 4.0, 8.0)),
            "ceil_mode": _CEIL},
           forward_1d=_avg.lp_pool1d, backward_1d=_avg.lp_pool1d_backward),
    PoolOp("soft", "SoftPool", "SoftPool", _smooth.soft_pool2d, _smooth.soft_pool2d_backward, {},
           aliases=("softpool",)),
    PoolOp("stochastic", "stochastic pooling", "stochastic", _smooth.stochastic_pool2d,
           _smooth.stochastic_pool2d_backward, {"rng": Option(None), "indices": Option(None)},
           routes_to_one=True, nonnegative=True, run=_run_stochastic),
]}

#: What an op without a geometry option does anyway: passing it this value (or a tuple of it) is harmless.
NEUTRAL = {"padding": 0, "dilation": 1, "ceil_mode": False}

def get_op(op) -> PoolOp:
    """The :class:`PoolOp` named by ``op``: a name, an alias such as ``"average"``, or a forward function."""
    for spec in OPS.values():
        if op in (spec.name,) + spec.aliases if isinstance(op, str) else (op is spec.forward or op is spec.forward_1d):
            return spec
    raise ValueError(f"unknown pooling op {op!r}; choose one of {', '.join(map(repr, OPS))} "
                     f"(or pass a poolviz forward function such as poolviz.max_pool2d).")


def backward_of(forward):
    """The backward of a poolviz forward op that takes ``(grad_output, x, ...)``, or None if there is none.

    (Stochastic pooling's backward also needs the sampled indices, so it has none in this sense.)
    """
    for spec in OPS.values():
        if spec.run is None and forward is spec.forward:
            return spec.backward
        if spec.run is None and forward is spec.forward_1d is not None:
            return spec.backward_1d
    return None
