"""poolviz: backpropagation through pooling layers, with PyTorch's exact semantics, in numpy.

The numerical ops live here; pictures are in :mod:`poolviz.plots` and :mod:`poolviz.widgets`
(which import matplotlib and ipywidgets; ``import poolviz`` does not).

Every op takes ``x`` of shape (..., H, W) (1-d ops: (..., L)) and pools the last axes.
Every backward takes ``grad_output`` of the forward output's shape and returns x's shape.
"""
from .avg_pool import (
    avg_pool1d,
    avg_pool1d_backward,
    avg_pool2d,
    avg_pool2d_backward,
    lp_pool1d,
    lp_pool1d_backward,
    lp_pool2d,
    lp_pool2d_backward,
)
from .geometry import output_size, pool_geometry
from .gradcheck import GradcheckResult, gradcheck
from .max_pool import max_pool1d, max_pool1d_backward, max_pool2d, max_pool2d_backward, max_unpool2d
from .smooth_pool import (
    logsumexp_pool2d,
    logsumexp_pool2d_backward,
    soft_pool2d,
    soft_pool2d_backward,
    stochastic_pool2d,
    stochastic_pool2d_backward,
)

__version__ = "0.1.0"

_BACKWARD = {
    max_pool2d: max_pool2d_backward,
    max_pool1d: max_pool1d_backward,
    avg_pool2d: avg_pool2d_backward,
    avg_pool1d: avg_pool1d_backward,
    lp_pool2d: lp_pool2d_backward,
    lp_pool1d: lp_pool1d_backward,
    logsumexp_pool2d: logsumexp_pool2d_backward,
    soft_pool2d: soft_pool2d_backward,
}


def backward_of(op):
    """The backward function of a poolviz forward op (None if it has none that takes ``(grad_output, x)``)."""
    return _BACKWARD.get(op)


__all__ = [
    "GradcheckResult",
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "backward_of",
    "gradcheck",
    "logsumexp_pool2d",
    "logsumexp_pool2d_backward",
    "lp_pool1d",
    "lp_pool1d_backward",
    "lp_pool2d",
    "lp_pool2d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool2d",
    "output_size",
    "pool_geometry",
    "soft_pool2d",
    "soft_pool2d_backward",
    "stochastic_pool2d",
    "stochastic_pool2d_backward",
]
