"""poolviz: backpropagation through pooling layers, with PyTorch's exact semantics, in numpy.

The numerical ops live here; pictures are in :mod:`poolviz.plots` and :mod:`poolviz.widgets`
(which import matplotlib and ipywidgets; ``import poolviz`` does not), the exercise checkers in
:mod:`poolviz.exercises`. Each op is declared once in :mod:`poolviz.ops`; which implementation computes
it is set in :mod:`poolviz.paths`.

Every op takes ``x`` of shape (..., H, W) (1-d ops: (..., L)) and pools the last axes.
Every backward takes ``grad_output`` of the forward output's shape and returns x's shape.
"""
from . import paths
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
from .max_pool import (
    max_pool1d,
    max_pool1d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_unpool2d,
)
from .ops import backward_of
from .smooth_pool import (
    logsumexp_pool2d,
    logsumexp_pool2d_backward,
    soft_pool2d,
    soft_pool2d_backward,
    stochastic_pool2d,
    stochastic_pool2d_backward,
)

__version__ = "0.1.0"

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
    "paths",
    "pool_geometry",
    "soft_pool2d",
    "soft_pool2d_backward",
    "stochastic_pool2d",
    "stochastic_pool2d_backward",
]
