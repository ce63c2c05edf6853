"""Notebook 06 against PyTorch: the worked solution of exercise 1, and the functions and claims of the lesson.

The notebook's own functions (``to_bfloat16``, ``conv_relu_pool_backward``) are run from the notebook's cells, so
that what the learner reads is what is tested. PyTorch is the oracle: it never appears in the notebook.
"""
import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import require_solutions
from poolviz.data import image_patch
from poolviz.exercises.steps import check_safe_step
from poolviz.routing import tie_policy_gradients

require_solutions()  # in a copy without notebooks/solutions/ (a handout) this module skips, saying so
torch = pytest.importorskip("torch")
F = torch.nn.functional

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
from solutions.safe_step import safe_step  # noqa: E402


def _notebook_functions(*names):
    """Run the code cells of notebook 06 that define ``names`` (functions), and return them."""
    cells = json.loads((NOTEBOOKS / "06-ties-and-gradient-checking.ipynb").read_text())["cells"]
    namespace = {"np": np, "math": math, "tie_policy_gradients": tie_policy_gradients}
    for name in names:
        source = next("".join(c["source"]) for c in cells
                      if c["cell_type"] == "code" and f"def {name}(" in "".join(c["source"]))
        with contextlib.redirect_stdout(io.StringIO()):  # a defining cell may print an example
            exec(source, namespace)
    return [namespace[name] for name in names]


# ---------------------------------------------------------------- exercise 1: the safe step


def _central_differences(x, g, eps, k, s, p):
    """Central differences of sum(g * max_pool2d(x)) at every input, with PyTorch's forward (float64)."""
    def loss(v):
        return float((torch.from_numpy(g) * F.max_pool2d(torch.from_numpy(v)[None, None], k, s, p)[0, 0]).sum())

    numerical = np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        numerical[i] = (loss(up) - loss(down)) / (2 * eps)
    return numerical


def _torch_gradient(x, g, k, s, p):
    xt = torch.from_numpy(x)[None, None].requires_grad_()
    (torch.from_numpy(g) * F.max_pool2d(xt, k, s, p)[0, 0]).sum().backward()
    return xt.grad[0, 0].numpy()


@pytest.mark.parametrize("k, s, p, shape", [(2, 2, 0, (6, 6)), (3, 1, 0, (5, 6)), (3, 2, 1, (7, 7)),
                                            (2, 3, 0, (8, 7)), (2, 2, 1, (5, 5)), (1, 1, 0, (3, 4))])
def test_the_safe_step_is_the_largest_step_with_exact_central_differences(k, s, p, shape):
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(F.max_pool2d(torch.zeros((1, 1) + shape), k, s, p).shape[2:]).astype(np.float64)
    step = safe_step(x, k, s, p)
    analytic = _torch_gradient(x, g, k, s, p)
    if math.isinf(step):  # kernel 1: no window has a runner-up, every step is exact
        np.testing.assert_allclose(_central_differences(x, g, 0.5, k, s, p), analytic, atol=1e-9)
        return
    assert 0 < step < 1
    np.testing.assert_allclose(_central_differences(x, g, 0.999 * step, k, s, p), analytic, atol=1e-7)
    assert np.abs(_central_differences(x, g, 1.01 * step, k, s, p) - analytic).max() > 1e-4


def test_the_safe_step_solution_passes_its_checker():
    assert check_safe_step(safe_step).passed


@pytest.mark.parametrize("delta, eps", [(1e-4, 1e-2), (0.3, 0.5), (0.0, 0.1)])
def test_the_near_tie_formula(delta, eps):
    # section 5: for max(a, b) with a = b + delta < b + eps, the central differences are (eps +- delta) / (2 eps)
    b = 1.0

    def L(a_, b_):
        return float(torch.max(torch.tensor([a_, b_], dtype=torch.float64)))

    a = b + delta
    assert math.isclose((L(a + eps, b) - L(a - eps, b)) / (2 * eps), (eps + delta) / (2 * eps), rel_tol=1e-9)
    assert math.isclose((L(a, b + eps) - L(a, b - eps)) / (2 * eps), (eps - delta) / (2 * eps), rel_tol=1e-9)


# ---------------------------------------------------------------- section 1: bfloat16 rounding


def test_the_notebooks_bfloat16_rounding_is_pytorchs():
    (to_bfloat16,) = _notebook_functions("to_bfloat16")
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    special = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0x00000001, 0x007FFFFF,
                        0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001, 0xBF808000, 0x7F7F8000], dtype=np.uint32)
    x = np.concatenate([bits, special]).view(np.float32)  # every kind of float32: subnormal, halfway, huge, NaN
    ours = to_bfloat16(x)
    theirs = torch.from_numpy(x).to(torch.bfloat16).to(torch.float32).numpy()
    nan = np.isnan(theirs)
    np.testing.assert_array_equal(np.isnan(ours), nan)
    np.testing.assert_array_equal(ours[~nan].view(np.uint32), theirs[~nan].view(np.uint32))  # bit for bit, -0 too


# ---------------------------------------------------------------- section 2 and 3: PyTorch's rules, as stated


def test_pytorch_takes_relus_derivative_at_0_as_0():
    z = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    torch.relu(z).sum().backward()
    assert z.grad.tolist() == [0.0, 0.0, 1.0]


def test_pytorch_amax_splits_and_max_pooling_sends_to_the_first():
    x = torch.tensor([[1.0, 3.0], [3.0, 0.0]], requires_grad=True)
    torch.amax(x).backward()
    assert x.grad.tolist() == [[0.0, 0.5], [0.5, 0.0]]
    x.grad = None
    F.max_pool2d(x[None, None], 2).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [0.0, 0.0]]


@pytest.mark.parametrize("striped", [False, True])
def test_the_notebooks_network_backward_under_first_is_pytorchs_autograd(striped):
    conv2d_valid, backward = _notebook_functions("conv2d_valid", "conv_relu_pool_backward")
    image = image_patch()
    if striped:  # the notebook's striped patch: exact-zero pre-activations, where ReLU'(0) matters
        image = image.copy()
        image[8:] = image[8:, :1]
    sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    g = np.random.default_rng(3).standard_normal((7, 7))
    da, dW, dimage = backward(image, sobel, g, "first")

    xt = torch.from_numpy(image)[None, None].requires_grad_()
    wt = torch.from_numpy(sobel)[None, None].requires_grad_()
    a = torch.relu(F.conv2d(xt, wt))
    a.retain_grad()
    (torch.from_numpy(g) * F.max_pool2d(a, 2)[0, 0]).sum().backward()
    np.testing.assert_allclose(da, a.grad[0, 0].numpy(), atol=1e-12)
    np.testing.assert_allclose(dW, wt.grad[0, 0].numpy(), atol=1e-12)
    np.testing.assert_allclose(dimage, xt.grad[0, 0].numpy(), atol=1e-12)
    if striped:
        assert (conv2d_valid(image, sobel) == 0).sum() > 0  # the case the test is about really occurs
