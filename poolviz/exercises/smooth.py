"""Checker for notebook 07's exercise: the backward of LogSumExp pooling.

A learner writes ``lse_pool_backward(grad_output, x, kernel_size, beta)`` for a 2-d ``x`` (H, W), k x k windows
with stride k and no padding. The forward is ``y = (1/beta) * log(mean(exp(beta * window)))``
(:func:`poolviz.logsumexp_pool2d`); notebook 07 derives its gradient: each window's ``g`` shared by
``softmax(beta * window)``, computed with the window's maximum subtracted first so that ``exp`` never
overflows. Rows and columns left over when k does not divide H or W belong to no window and receive 0.

The expected answers come from :func:`_lse_backward_model` with every mistake switched off: a loop over the
windows written here, apart from poolviz's backward (the tests compare both with PyTorch's autograd; the first
case is also worked by hand). The same model, with mistakes switched on, names what a wrong answer did:
softmax without beta, beta used as a temperature (divided), an extra factor beta, the upstream gradient
left out, one softmax over the whole input instead of each window, no max-shift (overflow, NaN), the whole
input's maximum subtracted instead of each window's (underflow, 0/0), each window's minimum, mean or first
element subtracted instead of its maximum (overflow where the window's values spread widely), an extra 1/n, and
the two limits given instead of the rule (max pooling's first maximum, the tied maxima only, or average pooling's
g/n). Two of them made together are named together.

One mistake cannot be seen here, and need not be: leaving the 1/n out of the log changes the forward by
``log(n)/beta`` (a constant) and the gradient not at all.
"""
from __future__ import annotations

import numpy as np

from .honesty import OP_MODULES, Policy
from .mistakes import Mistake
from .report import CheckResult
from .runner import _STUB, _Case, _run

__all__ = ["check_lse_backward"]

# --------------------------------------------------------------------------- the mistakes, in words

_NO_BETA = ("softmax(window) without beta: the weights are softmax(beta * window). Differentiating exp(beta * x_i) "
            "brings down a factor beta that cancels the 1/beta in front of the log, but the beta inside the "
            "exponent stays.")
_TEMPERATURE = ("softmax(window / beta): beta multiplies the window, it does not divide it (it is not a "
                "temperature). Large beta must approach max pooling and small beta average pooling; dividing by "
                "beta does the opposite.")
_TIMES_BETA = ("beta * softmax(beta * window): the chain rule through exp(beta * x_i) brings down a factor beta, but "
               "the 1/beta in front of the log cancels it. A window's shares sum to 1, so it hands back exactly its g.")
_NO_G = ("the upstream gradient is missing: multiply each window's weights by that window's grad_output[i, j] (your "
         "answer is the weights alone, as if every g were 1).")
_WHOLE_INPUT = ("one softmax over the whole input: each window's softmax runs over that window's own k*k inputs only, "
                "so divide by the sum over the window, not over all of x; then each window's shares sum to 1.")
_NO_SHIFT = ("exp(beta * x) overflowed: in float64 exp gives inf once beta * x > 709.78, and inf / inf is NaN (and "
             "where every exp underflows to 0, 0 / 0 is NaN too). Subtract each window's maximum m first: "
             "softmax(beta * x) = exp(beta * (x - m)) / sum(exp(beta * (x - m))) is the same number, every exponent "
             "is <= 0, and the largest term is exactly 1.")
_GLOBAL_SHIFT = ("you subtracted the maximum of the whole input before exp: in a window far below it, every "
                 "exp(beta * (x - M)) underflows to 0 (below exp(-745) in float64), and 0 / 0 is NaN. Subtract each "
                 "window's own maximum: then its largest term is exactly 1 and the sum is at least 1.")


def _other_shift(what):
    """The message for a window shifted by its ``what`` (minimum, mean, first element) instead of its maximum."""
    return (f"the shift is not the window's maximum: you subtracted each window's {what} before exp. Any constant c "
            "gives the same softmax in exact arithmetic, but only c = the window's maximum keeps every exponent "
            "beta * (x - c) <= 0: with a smaller c, an input more than 709.78 / beta above c makes exp overflow to "
            "inf, and inf / inf is NaN (a window whose values lie close together hides this). Subtract each "
            "window's maximum m: then the largest term is exactly 1 and the sum is at least 1.")


_SHIFT_MIN = _other_shift("minimum")
_SHIFT_MEAN = _other_shift("mean")
_SHIFT_FIRST = _other_shift("first element")
_EXTRA_N = ("an extra factor 1/n (n = kernel_size**2, the window's size): the 1/n inside the log only shifts y by "
            "-log(n)/beta, a constant, so it vanishes from the derivative. A window's shares sum to 1, not 1/n.")
_MAX_FIRST = ("the whole g went to the window's (first) maximum: that is max pooling's backward, the beta -> infinity "
              "limit. At a finite beta every input of the window gets its share g * softmax(beta * window).")
_TIED_ONLY = ("g was split equally among the tied maxima and the others got nothing: that is the beta -> infinity limit "
              "at a tie (notebook 06's \"split\" rule). At a finite beta the other inputs get their smaller shares "
              "too.")
_UNIFORM = ("every input got g / n: that is average pooling's backward, the beta -> 0 limit. At beta > 0 a larger "
            "input gets a larger share: g * softmax(beta * window).")

#: The catalogue: mistakes of one group exclude each other (the weights are computed one way).
_CATALOGUE = (
    Mistake(_NO_BETA, "weights", {"beta_use": "none"}),
    Mistake(_TEMPERATURE, "weights", {"beta_use": "temperature"}),
    Mistake(_TIMES_BETA, "weights", {"beta_use": "times"}),
    Mistake(_MAX_FIRST, "weights", {"weights": "first"}),
    Mistake(_TIED_ONLY, "weights", {"weights": "tied"}),
    Mistake(_UNIFORM, "weights", {"weights": "uniform"}),
    Mistake(_NO_G, "upstream", {"upstream": False}),
    Mistake(_WHOLE_INPUT, "scope", {"scope": "input"}),
    Mistake(_NO_SHIFT, "shift", {"shift": "none"}),
    Mistake(_GLOBAL_SHIFT, "shift", {"shift": "global"}),
    Mistake(_SHIFT_MIN, "shift", {"shift": "min"}),
    Mistake(_SHIFT_MEAN, "shift", {"shift": "mean"}),
    Mistake(_SHIFT_FIRST, "shift", {"shift": "first"}),
    Mistake(_EXTRA_N, "scale", {"per_n": True}),
)


# --------------------------------------------------------------------------- the reference, and its mistake models


def _lse_backward_model(g, x, k, beta, *, weights="softmax", beta_use="beta", upstream=True, scope="window",
                        shift="window", per_n=False):
    """The LogSumExp-pool backward with deliberate mistakes switched on (defaults: the correct rule).

    Parameters
    ----------
    g : ndarray of shape (H_out, W_out)
        The upstream gradient, one value per window; ``H_out = H // k``, ``W_out = W // k``.
    x : ndarray of shape (H, W)
    k : int
        Square k x k windows, stride k, no padding.
    beta : float > 0
    weights : {"softmax", "first", "tied", "uniform"}
        How a window's g is shared: by the softmax (right); all to the first maximum (max pooling); equally
        among the tied maxima only; g / n to each input (average pooling).
    beta_use : {"beta", "none", "temperature", "times"}
        The softmax of ``beta * window`` (right), of ``window``, of ``window / beta``, or ``beta`` times the right one.
    upstream : bool
        False: the weights are not multiplied by g.
    scope : {"window", "input"}
        What the softmax is normalised over: the window (right), or the whole input ``x``.
    shift : {"window", "none", "global", "min", "mean", "first"}
        What is subtracted before ``exp``: each window's maximum (right), nothing, the whole input's maximum, or
        each window's minimum, mean or first element (with ``scope="input"``: the whole input's).
    per_n : bool
        An extra factor 1/n.

    Returns
    -------
    ndarray of shape (H, W)
        NaN where the modelled mistake gives 0/0 or inf/inf, as numpy would.
    """
    x = np.asarray(x, dtype=float)
    H, W = x.shape
    Ho, Wo = H // k, W // k
    dx = np.zeros((H, W))
    if weights == "softmax":
        scale = {"beta": beta, "times": beta, "none": 1.0, "temperature": 1.0 / beta}[beta_use]
        z_all = scale * x
        total = None
        if scope == "input":
            # one softmax over all of x: "its" maximum, minimum, mean or first element is the whole input's
            base_all = {"none": 0.0, "min": z_all.min(), "mean": z_all.mean(), "first": z_all.flat[0]}.get(
                shift, z_all.max())
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                total = np.exp(z_all - base_all).sum()
    for i in range(Ho):
        for j in range(Wo):
            window = x[i * k:(i + 1) * k, j * k:(j + 1) * k]
            n = window.size
            if weights == "first":
                share = np.zeros(n)
                share[np.argmax(window)] = 1.0
            elif weights == "tied":
                tied = window.ravel() == window.max()
                share = tied / tied.sum()
            elif weights == "uniform":
                share = np.full(n, 1.0 / n)
            else:
                z = z_all[i * k:(i + 1) * k, j * k:(j + 1) * k].ravel()
                with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
                    if scope == "input":
                        share = np.exp(z - base_all) / total
                    else:
                        base = {"window": z.max(), "global": z_all.max(), "none": 0.0, "min": z.min(),
                                "mean": z.mean(), "first": z[0]}[shift]
                        e = np.exp(z - base)
                        share = e / e.sum()
                if beta_use == "times":
                    share = beta * share
            if per_n:
                share = share / n
            if upstream:
                share = g[i, j] * share
            dx[i * k:(i + 1) * k, j * k:(j + 1) * k] = share.reshape(window.shape)
    return dx


def _powers(shape):
    """Distinct upstream gradients, some negative: a misplaced or missing g cannot pass by coincidence."""
    n = int(np.prod(shape))
    return (np.arange(1, n + 1) * (-1.0) ** np.arange(n) * 1.5).reshape(shape)


def _lse_cases():
    rng = np.random.default_rng(11)
    cases = []

    def add(name, x, k, beta, g=None, on_error=""):
        x = np.asarray(x, dtype=float)
        out = (x.shape[0] // k, x.shape[1] // k)
        g = _powers(out) if g is None else np.asarray(g, dtype=float)
        expected = _lse_backward_model(g, x, k, beta)
        model = (lambda g_, x_, k_, b_: lambda **flags: _lse_backward_model(g_, x_, k_, b_, **flags))(g, x, k, beta)
        show = {"x": x, "grad_output": g, "kernel_size": k, "beta": beta}
        cases.append(_Case(name, (g, x, k, beta), {}, expected, {}, on_error, show, model, _CATALOGUE))

    # softmax(2 * log([1, 2, 3, 4]) / 2) = [1, 2, 3, 4] / 10: with g = 5 the shares are 0.5, 1, 1.5, 2
    add("one 2x2 window, beta = 2: exp(beta * x) is 1, 2, 3, 4", np.log([[1.0, 2.0], [3.0, 4.0]]) / 2, 2, 2.0,
        g=[[5.0]])
    add("2x2 windows on a 4x6 input (H != W), beta = 1.5", rng.integers(-8, 9, (4, 6)) / 4, 2, 1.5,
        on_error="a transposed index: rows go with x.shape[0] (H), columns with x.shape[1] (W).")
    add("ties, beta = 4: two equal maxima, and a window of zeros (as after a ReLU)",
        [[2.0, 2.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], 2, 4.0, g=[[3.0, 7.0]])
    add("input size not divisible by the kernel (5x5, kernel 2), beta = 1", rng.integers(-6, 7, (5, 5)) / 3, 2, 1.0,
        on_error="an off-by-one in the number of windows: H // k rows of windows fit, and the last row and column "
                 "of x belong to none (they receive 0). Reshaping x into windows needs x[:H_out*k, :W_out*k] first.")
    # beta * x reaches 1250 (exp overflows past 709.78) in window (0, 0) and -1000 in window (0, 1) (exp
    # underflows to 0); windows (1, 0) and (1, 1) lie 25 and 15 below the input's maximum, so a global shift
    # underflows them too. Window (0, 0) holds a near tie (beta * gap = 0.5): no share there is close to 0 or 1.
    add("large beta (50) with values up to 25: exp(beta * x) overflows without the max-shift",
        [[25.0, 24.99, -20.0, -20.2], [24.9, 24.0, -20.05, -21.0],
         [0.0, 0.02, 10.0, 9.98], [-0.01, -0.1, 9.95, 9.9]], 2, 50.0)
    # A wide spread within each window: beta * (x - c) overflows for c = the window's minimum, mean or first
    # element (first is the maximum in window (0, 0), not in (0, 1)), so only the window's maximum passes. The
    # four wrong shifts (none, minimum, mean, first) put their NaNs in different places, so each is named.
    add("wide spread, beta = 50: only the window's maximum is a safe shift",
        [[25.0, 0.0, 0.0, 15.0], [-5.0, 10.0, -5.0, 25.0]], 2, 50.0)
    add("tiny beta (1e-6): nearly average pooling, but not quite", rng.integers(-30, 31, (4, 4)).astype(float), 2,
        1e-6)
    add("3x3 windows on a 6x7 input (the last column in no window), beta = 0.7", rng.integers(-9, 10, (6, 7)) / 2,
        3, 0.7, on_error="kernel 3: each window is x[3i:3i+3, 3j:3j+3]; column 6 belongs to no window.")
    return cases


def _explain(got, case):
    """A likely cause that no modelled mistake gives exactly: NaN or inf, or windows whose shares do not add up."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    expected = case.expected
    if got.shape != expected.shape:
        return None
    if not np.isfinite(got).all():
        return ("your answer holds NaN or inf where every share is a finite number: " + _NO_SHIFT.split(": ", 1)[1]
                + " (If you did subtract something, it must be each window's own maximum.)")
    g, x, k, _ = case.args
    Ho, Wo = g.shape
    sums = got[:Ho * k, :Wo * k].reshape(Ho, k, Wo, k).sum(axis=(1, 3))
    off = np.argwhere(~np.isclose(sums, g, rtol=1e-9, atol=1e-9))
    if len(off):
        i, j = (int(v) for v in off[0])
        return (f"the shares of window (i, j) = ({i}, {j}) add up to {sums[i, j]:.4g}, but its g is {g[i, j]:.4g}: "
                f"softmax weights sum to 1, so each window hands back exactly its g.")
    leftover = got.copy()
    leftover[:Ho * k, :Wo * k] = 0
    if np.any(leftover != 0):
        return "inputs in no window (the last rows or columns left over when k does not divide H or W) must get 0."
    return None


#: The forward may come from poolviz; the backward, and the checker's own models, may not.
_LSE_POLICY = Policy(
    judged=OP_MODULES | {"poolviz.exercises.smooth"},
    allowed=frozenset({"poolviz.logsumexp_pool2d"}),
    allowed_text="poolviz.logsumexp_pool2d (the forward)",
    why_allowed="since the exercise is the rule that shares each window's g among its inputs, which the forward's "
                "output does not give without a derivation of your own.")


def check_lse_backward(fn) -> CheckResult:
    """Check a learner's ``lse_pool_backward(grad_output, x, kernel_size, beta) -> dx``.

    Parameters
    ----------
    fn : callable or None
        ``fn(grad_output, x, kernel_size, beta)`` with ``x`` of shape (H, W), ``grad_output`` of shape
        (H // kernel_size, W // kernel_size), k x k windows with stride k and no padding, returning ``dx`` of
        shape (H, W): each window's g shared by ``softmax(beta * window)``.

    Returns
    -------
    CheckResult
        Cases: one window worked by hand; a non-square input; ties (two equal maxima, a window of zeros); an
        input size the kernel does not divide; a large beta that overflows ``exp`` without the max-shift; a wide
        spread of values at a large beta, where only the window's maximum is a safe shift; a tiny
        beta (almost average pooling); 3 x 3 windows.

    The function may call ``poolviz.logsumexp_pool2d`` (the forward); any other pooling, routing or gradient
    checking of poolviz's inside it fails the case, and the report says so. Leaving the 1/n out of the
    forward's log changes no gradient, so this checker cannot see it (and need not).
    """
    return _run("check_lse_backward", fn, _lse_cases(), "dx", _STUB, explain=_explain, policy=_LSE_POLICY)
