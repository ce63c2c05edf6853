"""Notebook 07 against PyTorch: the worked solution of exercise 1, the notebook's own functions, and the gradients
the lesson derives (LogSumExp, Lp, SoftPool, stochastic pooling's test-time rule, mixed pooling).

The notebook's functions (``mixed_pool2d``, ``mixed_pool2d_backward``) are run from its cells, so that what the
learner reads is what is tested. PyTorch is the oracle: it never appears in the notebook.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import poolviz as pv
from conftest import require_solutions
from poolviz.exercises.smooth import check_lse_backward

require_solutions()  # in a copy without notebooks/solutions/ (a handout) this module skips, saying so
torch = pytest.importorskip("torch")
F = torch.nn.functional

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "07-smooth-and-stochastic-pooling.ipynb"
from solutions.lse_pool_backward import lse_pool_backward  # noqa: E402


def _notebook_functions(*names):
    """Run the code cells of notebook 07 that define ``names`` (functions), and return them."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    namespace = {"np": np, "pv": pv}
    for name in names:
        source = next("".join(c["source"]) for c in cells
                      if c["cell_type"] == "code" and f"def {name}(" in "".join(c["source"]))
        exec(source, namespace)
    return [namespace[name] for name in names]


def _torch_lse_pool(xt, k, beta):
    """PyTorch's LogSumExp pooling of a 2-d tensor, k x k windows with stride k: (1/beta) log(mean(exp(beta x)))."""
    Ho, Wo = xt.shape[0] // k, xt.shape[1] // k
    windows = xt[:Ho * k, :Wo * k].reshape(Ho, k, Wo, k).permute(0, 2, 1, 3).reshape(Ho, Wo, k * k)
    return (torch.logsumexp(beta * windows, dim=-1) - math.log(k * k)) / beta


def _grad(f, x, g):
    """d sum(g * f(x)) / dx by PyTorch's autograd, in float64."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (torch.as_tensor(g, dtype=torch.float64) * f(xt)).sum().backward()
    return xt.grad.numpy()


# ---------------------------------------------------------------- exercise 1


@pytest.mark.parametrize("seed", range(12))
def test_the_solution_is_pytorchs_gradient(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 4))
    H, W = (int(v) for v in rng.integers(k, 10, size=2))
    beta = float(10.0 ** rng.uniform(-4, 2))
    x = rng.standard_normal((H, W)) * float(rng.choice([1.0, 30.0]))   # large values: beta * x overflows exp
    g = rng.standard_normal((H // k, W // k))
    np.testing.assert_allclose(lse_pool_backward(g, x, k, beta), _grad(lambda t: _torch_lse_pool(t, k, beta), x, g),
                               rtol=1e-9, atol=1e-12)


def test_the_solution_passes_its_checker():
    assert check_lse_backward(lse_pool_backward).passed


def test_the_solution_splits_a_tie():
    x = np.array([[3.0, 3.0], [1.0, 3.0]])
    dx = lse_pool_backward(np.array([[6.0]]), x, 2, 1000.0)
    np.testing.assert_allclose(dx, [[2.0, 2.0], [0.0, 2.0]], atol=1e-12)


# ---------------------------------------------------------------- section 1: LogSumExp


@pytest.mark.parametrize("beta", [0.01, 1.0, 100.0])
def test_lse_lies_between_the_mean_and_the_max_within_log_n_over_beta(beta):
    x = np.random.default_rng(1).standard_normal((8, 8))
    y = _torch_lse_pool(torch.tensor(x), 2, beta).numpy()
    windows = x.reshape(4, 2, 4, 2).transpose(0, 2, 1, 3).reshape(4, 4, 4)
    m, mean = windows.max(axis=-1), windows.mean(axis=-1)
    assert np.all(y <= m + 1e-12) and np.all(y >= m - math.log(4) / beta - 1e-12) and np.all(y >= mean - 1e-9)
    np.testing.assert_allclose(pv.logsumexp_pool2d(x, 2, beta=beta), y, rtol=1e-7, atol=1e-9)


def test_the_lse_gradient_is_the_softmax_and_ignores_the_1_over_n():
    x = np.array([[0.3, 1.0], [0.7, -0.2]])
    with_n = _grad(lambda t: _torch_lse_pool(t, 2, 2.0), x, [[1.0]])
    without_n = _grad(lambda t: torch.logsumexp(2.0 * t.reshape(-1), 0) / 2.0, x, 1.0)
    softmax = torch.softmax(2.0 * torch.tensor(x).reshape(-1), 0).reshape(2, 2).numpy()
    np.testing.assert_allclose(with_n, softmax, rtol=1e-12)
    np.testing.assert_allclose(without_n, softmax, rtol=1e-12)


def test_the_small_beta_slope_and_the_large_beta_rate():
    # section 2: |softmax(beta x) - 1/n| / beta -> |x_i - mean| / n, and -log(the others' share) / beta -> the gap
    x = torch.tensor([0.3, 1.0, 0.7, -0.2], dtype=torch.float64)
    w = torch.softmax(1e-6 * x, 0)
    np.testing.assert_allclose(((w - 0.25) / 1e-6).numpy(), ((x - x.mean()) / 4).numpy(), rtol=1e-5)
    beta = 200.0
    weights = torch.softmax(beta * x, 0)
    rest = weights[[0, 2, 3]].sum()   # the others' share (1 - w_max would round to 0)
    assert abs(-math.log(float(rest)) / beta - 0.3) < 1e-3


# ---------------------------------------------------------------- section 4: the other ops


@pytest.mark.parametrize("p", [1.0, 2.0, 8.0])
def test_the_lp_gradient_is_x_over_y_to_the_p_minus_1(p):
    x = np.array([[0.0, 1.0], [3.0, 4.0]])
    dx = _grad(lambda t: F.lp_pool2d(t[None, None], p, 2)[0, 0], x, [[1.0]])
    y = float(F.lp_pool2d(torch.tensor(x)[None, None], p, 2))
    np.testing.assert_allclose(dx, (x / y) ** (p - 1), rtol=1e-12, atol=1e-15)


def test_the_softpool_gradient_and_its_sum():
    x = np.array([[0.0, 1.0], [3.0, 4.0]])

    def softpool(t):
        w = torch.softmax(t.reshape(-1), 0)
        return (w * t.reshape(-1)).sum()

    dx = _grad(softpool, x, 1.0)
    w = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    y = (w * x).sum()
    np.testing.assert_allclose(dx, w * (1 + x - y), rtol=1e-12)
    assert math.isclose(dx.sum(), 1.0, rel_tol=1e-12) and (dx < 0).sum() == 2


def test_the_stochastic_test_time_gradient():
    x = np.array([[0.0, 1.0], [3.0, 4.0]])
    dx = _grad(lambda t: (t ** 2).sum() / t.sum(), x, 1.0)
    S, Q = x.sum(), (x ** 2).sum()
    np.testing.assert_allclose(dx, (2 * x * S - Q) / S ** 2, rtol=1e-12)
    assert not np.allclose(dx, x / S)   # the mean of the training gradients is another thing


def test_the_notebooks_mixed_pooling_is_pytorchs():
    mixed_pool2d, mixed_pool2d_backward = _notebook_functions("mixed_pool2d", "mixed_pool2d_backward")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 8))
    g = rng.standard_normal((3, 4))
    lam = 0.3

    def torch_mixed(t):
        return lam * F.max_pool2d(t[None, None], 2)[0, 0] + (1 - lam) * F.avg_pool2d(t[None, None], 2)[0, 0]

    np.testing.assert_allclose(mixed_pool2d(x, 2, lam), torch_mixed(torch.tensor(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(mixed_pool2d_backward(g, x, 2, lam), _grad(torch_mixed, x, g), rtol=1e-12)


def test_global_max_pooling_reaches_one_position_per_channel():
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 7))
    dx = _grad(lambda t: F.max_pool2d(t, 7), x, np.ones((2, 3, 1, 1)))
    assert np.count_nonzero(dx) == 6
    np.testing.assert_allclose(pv.max_pool2d_backward(np.ones((2, 3, 1, 1)), x, (7, 7)), dx)


def test_maxout_is_max_pooling_over_features():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((4, 6))
    g = rng.standard_normal((4, 3))
    dz = _grad(lambda t: t.reshape(4, 3, 2).amax(dim=-1), z, g)   # a max over each unit's two pieces
    np.testing.assert_allclose(pv.max_pool1d_backward(g, z, 2), dz)
