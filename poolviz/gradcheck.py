"""Gradient checking by central differences, with ties flagged rather than trusted.

For a scalar loss ``L = sum(grad_output * f(x))`` the numerical gradient is

    dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

and should equal the analytic ``backward(grad_output, x)``. At a *tie* (two window
entries within ``eps`` of each other) ``f`` has a kink: the central difference then
averages the two one-sided slopes and gives, for example, 0.5 to each of two tied
maxima, which matches no framework's rule (PyTorch gives 1 to the first and 0 to the
other). gradcheck detects kinks by comparing the one-sided slopes
``(L(x+eps e_i) - L(x)) / eps`` and ``(L(x) - L(x-eps e_i)) / eps``: where they disagree,
the input is flagged as near a tie and left out of the error.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .ops import backward_of

__all__ = ["GradcheckResult", "gradcheck"]


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` found. ``str(result)`` explains it in words."""

    passed: bool
    max_error: float
    """Largest ``|analytic - numerical| / max(1, |analytic|, |numerical|)`` over inputs not near a tie."""
    worst_index: tuple | None
    """Where that error occurs (an index into x), or None."""
    analytic: np.ndarray
    numerical: np.ndarray
    near_tie: np.ndarray
    """Boolean, x's shape: inputs within eps of a kink (a tie), excluded from ``max_error``."""
    tol: float
    eps: float

    @property
    def n_near_ties(self) -> int:
        return int(self.near_tie.sum())

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        if self.near_tie.size and self.n_near_ties == self.near_tie.size:
            return (f"gradcheck {verdict}: nothing compared: all {self.near_tie.size} inputs are within eps of a tie, "
                    f"where finite differences are meaningless. Check on continuous random inputs instead.")
        lines = [f"gradcheck {verdict}: max relative error {self.max_error:.2e} (tolerance {self.tol:.0e}, eps {self.eps:.0e})"]
        if self.worst_index is not None:
            i = self.worst_index
            lines.append(f"  worst at x{list(i)}: analytic {self.analytic[i]:.6g}, numerical {self.numerical[i]:.6g}")
        if self.n_near_ties:
            where = [tuple(int(v) for v in t) for t in np.argwhere(self.near_tie)[:5]]
            lines.append(f"  {self.n_near_ties} input(s) within eps of a tie, not compared (finite differences split "
                         f"the gradient there; frameworks do not): {where}{' ...' if self.n_near_ties > 5 else ''}")
        return "\n".join(lines)

    def __bool__(self) -> bool:
        return self.passed

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


def _find_backward(f):
    """The poolviz backward of a poolviz forward op ``f`` (or of a functools.partial of one)."""
    func, keywords = f, {}
    if isinstance(f, functools.partial):
        if f.args:
            raise TypeError("gradcheck: bind the op's arguments by keyword, e.g. "
                            "functools.partial(max_pool2d, kernel_size=2), so that x stays the first argument.")
        func, keywords = f.func, dict(f.keywords)
    backward = backward_of(func)
    if backward is None:
        raise TypeError(f"gradcheck does not know the backward of {getattr(func, '__name__', func)!r}; "
                        f"pass it: gradcheck(f, x, backward=my_backward) with my_backward(grad_output, x).")
    keywords.pop("return_indices", None)
    return lambda grad_output, x: backward(grad_output, x, **keywords)


def gradcheck(f, x, grad_output=None, eps=1e-6, *, backward=None, tol=1e-6, seed=0) -> GradcheckResult:
    """Compare an analytic gradient with central differences.

    Parameters
    ----------
    f : callable
        The forward, ``f(x) -> y``. A poolviz op, or ``functools.partial(op, kernel_size=..., ...)``,
        finds its own backward; anything else needs ``backward``.
    x : array_like of shape (...)
        Where to check. Converted to float64.
    grad_output : array_like of y's shape, optional
        The upstream gradient; by default standard normal (seeded), which catches more
        routing mistakes than all ones.
    eps : float
        Step of the finite differences (absolute: for inputs far from 1 in size, scale it accordingly).
    backward : callable, optional
        ``backward(grad_output, x) -> dx`` of x's shape.
    tol : float
        Largest acceptable error.
    seed : int
        Seed of the default ``grad_output``.

    Returns
    -------
    GradcheckResult
        ``passed``, ``max_error`` and ``worst_index`` over inputs not near a tie, the two
        gradients, and the ``near_tie`` mask. A check in which every input is near a tie compared
        nothing, and does not pass.
    """
    x = np.array(x, dtype=np.float64)
    if backward is None:
        backward = _find_backward(f)
    forward = f

    def f(z):  # an op called with return_indices=True returns (y, indices): check y
        out = forward(z)
        return out[0] if isinstance(out, tuple) else out

    y = np.asarray(f(x))
    if grad_output is None:
        grad_output = np.random.default_rng(seed).standard_normal(y.shape)
    g = np.asarray(grad_output, dtype=np.float64)
    if g.shape != y.shape:
        raise ValueError(f"grad_output has shape {g.shape}, but f(x) has shape {y.shape}; they must match.")
    analytic = np.asarray(backward(g, x.copy()), dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(f"the backward returned shape {analytic.shape}, but x has shape {x.shape}: a gradient "
                         f"has the shape of the input it is taken with respect to.")

    def loss(z):
        return float(np.sum(g * np.asarray(f(z), dtype=np.float64)))

    base = loss(x)
    numerical = np.empty_like(x)
    near_tie = np.zeros(x.shape, dtype=bool)
    kink_tol = 1e-3 * max(1.0, float(np.max(np.abs(g), initial=0.0)))
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + eps
        up = loss(x)
        x[i] = original - eps
        down = loss(x)
        x[i] = original
        numerical[i] = (up - down) / (2 * eps)
        near_tie[i] = abs((up - base) / eps - (base - down) / eps) > kink_tol
    error = np.abs(analytic - numerical) / np.maximum(1.0, np.maximum(np.abs(analytic), np.abs(numerical)))
    error = np.where(np.isnan(error), np.inf, error)
    error = np.where(near_tie, -1.0, error)  # flagged inputs are not compared, so never the worst
    worst, max_error = None, 0.0
    if error.size and error.max() >= 0:
        worst = np.unravel_index(int(np.argmax(error)), x.shape)
        max_error = float(error[worst])
    compared = int(x.size - near_tie.sum())
    passed = compared > 0 and max_error <= tol  # a check that compared nothing proves nothing
    return GradcheckResult(bool(passed), max_error, tuple(int(v) for v in worst) if worst is not None else None,
                           analytic, numerical, near_tie, tol, eps)
