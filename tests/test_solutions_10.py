"""Notebook 10 against PyTorch: the worked solution of exercise 1, the lesson's claims, its network and its
deconvnet, and the numbers of the worked answers.

The notebook's own functions (``forward``, ``project``, the convolutions) are run from the notebook's cell, so that
what the learner reads is what is tested. PyTorch is the oracle: it never appears in the notebook.
"""
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import poolviz as pv
from conftest import require_solutions
from poolviz.data import image_patch
from poolviz.exercises.unpool import check_max_unpool

require_solutions()  # in a copy without notebooks/solutions/ (a handout) this module skips, saying so
torch = pytest.importorskip("torch")
F = torch.nn.functional

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
from solutions.max_unpool import max_unpool  # noqa: E402


def _t(a):
    """A numpy plane (H, W) or stack (C, H, W) as a float64 tensor of shape (1, C, H, W)."""
    a = torch.from_numpy(np.asarray(a, dtype=np.float64))
    return a.reshape((1,) * (4 - a.ndim) + tuple(a.shape))


@pytest.fixture(scope="module")
def network():
    """The namespace of the notebook's cell that defines the two-layer network (functions and weights)."""
    cells = json.loads((NOTEBOOKS / "10-unpooling-and-switches.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c["cell_type"] == "code" and "def project(" in "".join(c["source"]))
    namespace = {"np": np, "pv": pv}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(source, namespace)
    return namespace


# ---------------------------------------------------------------- exercise 1


def test_the_solution_passes_its_checker():
    assert check_max_unpool(max_unpool).passed


def test_the_solution_is_pytorchs_unpooling_on_random_planes():
    rng = np.random.default_rng(1)
    for _ in range(50):
        k = int(rng.integers(1, 4))
        s = int(rng.integers(k, k + 2))  # stride >= kernel: no switch is shared, so the answer is unique
        H, W = (int(v) for v in rng.integers(k, 10, size=2))
        y, idx = F.max_pool2d(_t(rng.standard_normal((H, W))), k, s, return_indices=True)
        theirs = F.max_unpool2d(y, idx, k, s, output_size=(H, W))[0, 0].numpy()
        np.testing.assert_array_equal(max_unpool(y[0, 0].numpy(), idx[0, 0].numpy(), (H, W)), theirs)


# ---------------------------------------------------------------- section 1: semantics and output size

X4 = np.array([[0.5, 2.0, -1.5, -0.25], [1.0, -3.0, -2.0, -0.75], [0.25, 1.75, 3.5, 0.0], [-1.0, 1.5, 2.25, 3.0]])
X5 = np.array([[9.0, 1.0, 8.0, 2.0, 0.0], [3.0, 2.0, 1.0, 0.0, 5.0], [7.0, 0.0, 6.0, 1.0, 0.0],
               [1.0, 2.0, 3.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])


def test_section_1_unpooling_and_pooling_again_are_pytorchs():
    y, idx = F.max_pool2d(_t(X4), 2, return_indices=True)
    unpooled = F.max_unpool2d(y, idx, 2)
    np.testing.assert_array_equal(pv.max_unpool2d(y[0, 0].numpy(), idx[0, 0].numpy(), 2), unpooled[0, 0].numpy())
    # max_pool2d(unpool(y)) = max(y, 0): the negative maximum comes back as 0
    np.testing.assert_array_equal(F.max_pool2d(unpooled, 2)[0, 0].numpy(), np.maximum(y[0, 0].numpy(), 0))
    assert y[0, 0, 0, 1] < 0


def test_a_switch_decoded_in_the_default_plane_is_misplaced_silently_by_pytorch_too():
    y, idx = F.max_pool2d(_t(X5), 2, return_indices=True)
    default = F.max_unpool2d(y, idx, 2)[0, 0].numpy()          # no error: every index fits the 4 x 4 plane
    np.testing.assert_array_equal(default, pv.max_unpool2d(y[0, 0].numpy(), idx[0, 0].numpy(), 2))
    assert default[2, 2] == 7.0 and default[3, 0] == 6.0     # where the notebook says they land
    sized = F.max_unpool2d(y, idx, 2, output_size=(5, 5))[0, 0].numpy()
    np.testing.assert_array_equal(sized, X5 * (sized != 0))


def test_a_switch_outside_the_default_plane_is_refused_by_both():
    y, idx = F.max_pool2d(_t(image_patch()), 3, 2, return_indices=True)
    with pytest.raises(RuntimeError):
        F.max_unpool2d(y, idx, 3, 2)
    with pytest.raises(ValueError, match="output_size"):
        pv.max_unpool2d(y[0, 0].numpy(), idx[0, 0].numpy(), 3, stride=2)


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 3, 1), (2, 3, 0), (4, 2, 1)])
def test_the_input_sizes_that_pool_to_a_size_and_the_output_sizes_pytorch_accepts(k, s, p):
    for h_out in range(2, 6):
        d = (h_out - 1) * s - 2 * p + k
        floor = {H for H in range(1, 30) if H + 2 * p >= k and F.max_pool2d(torch.zeros(1, 1, H, 1), (k, 1), (s, 1),
                                                                               (p, 0)).shape[2] == h_out}
        ceil = {H for H in range(1, 30) if H + 2 * p >= k and F.max_pool2d(torch.zeros(1, 1, H, 1), (k, 1), (s, 1),
                                                                              (p, 0), ceil_mode=True).shape[2] == h_out}
        assert floor == set(range(d, d + s))                  # d <= H <= d + s - 1
        # ceil mode rounds up: d - s + 1 <= H <= d; the rule that drops a last window starting in the right padding
        # moves some sizes between the two ranges, never outside them
        assert ceil <= set(range(d - s + 1, d + s))
        accepted = set()
        for H in range(max(1, d - s - 2), d + s + 3):
            try:
                F.max_unpool2d(torch.zeros(1, 1, h_out, 1), torch.zeros(1, 1, h_out, 1, dtype=torch.long), (k, 1),
                               (s, 1), (p, 0), output_size=(H, 1))
            except ValueError:
                continue
            accepted.add(H)
        assert accepted == set(range(d - s + 1, d + s)) >= floor | ceil


# ---------------------------------------------------------------- sections 2 and 3: unpooling and the backward


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (2, 3, 0), (3, 3, 1)])
def test_without_overlap_pytorchs_unpooling_is_its_backward(k, s, p):
    x = _t(image_patch()).requires_grad_()
    y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    v = torch.from_numpy(np.random.default_rng(k * 10 + s).standard_normal(y.shape))
    (y * v).sum().backward()
    np.testing.assert_array_equal(F.max_unpool2d(v, idx, k, s, p, output_size=(16, 16)).numpy(), x.grad.numpy())
    assert len(torch.unique(idx)) == idx.numel()


def test_with_overlap_pytorch_adds_in_the_backward_and_writes_one_value_in_unpooling():
    x = _t([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).requires_grad_()
    y, idx = F.max_pool2d(x, 2, 1, return_indices=True)
    g = _t([[1.0, 2.0], [3.0, 4.0]])
    (y * g).sum().backward()
    assert x.grad[0, 0, 1, 1] == 10.0
    assert F.max_unpool2d(y.detach(), idx, 2, 1)[0, 0, 1, 1] == 9.0          # equal values: well defined
    assert F.max_unpool2d(g, idx, 2, 1)[0, 0, 1, 1].item() in {1.0, 2.0, 3.0, 4.0}   # one of them, never 10


def test_pytorch_refuses_max_unpool2d_in_deterministic_mode():
    y, idx = F.max_pool2d(torch.randn(1, 1, 4, 4), 2, return_indices=True)
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with pytest.raises(RuntimeError, match="deterministic"):
            F.max_unpool2d(y, idx, 2)
    finally:
        torch.use_deterministic_algorithms(before)


def test_alexnets_pooling_on_the_patch_shares_six_switches_as_pytorch_finds():
    _, idx = F.max_pool2d(_t(image_patch()), 3, 2, return_indices=True)
    counts = np.bincount(idx.numpy().ravel(), minlength=256)
    assert (idx.numel(), np.count_nonzero(counts), np.sum(counts == 2), np.sum(counts > 2)) == (49, 43, 6, 0)


# ---------------------------------------------------------------- section 4: the network and the deconvnet


def _torch_network(network, image):
    """The notebook's network in PyTorch: (top map, the pooled maps' indices and shapes per layer)."""
    h, layers = image, []
    for w in network["weights"]:
        z = F.conv2d(h, torch.from_numpy(w))
        h, idx = F.max_pool2d(torch.relu(z), 2, return_indices=True)
        layers.append((z, idx))
    return h, layers


def test_the_notebooks_network_and_gradient_are_pytorchs(network):
    patch = image_patch()
    top, records = network["forward"](patch, network["weights"])
    x = _t(patch).requires_grad_()
    top_t, _ = _torch_network(network, x)
    np.testing.assert_allclose(top, top_t[0].detach().numpy(), atol=1e-12)
    unit = tuple(int(i) for i in np.unravel_index(np.argmax(top), top.shape))
    assert unit == (0, 1, 1)
    top_t[(0, *unit)].backward()
    np.testing.assert_allclose(network["project"](top, unit, records, network["weights"], "gradient"),
                               x.grad[0, 0].numpy(), atol=1e-12)


def _torch_deconvnet(network, image, unit, *, rule="deconvnet"):
    """Zeiler and Fergus's deconvnet written with PyTorch's unpooling and transposed convolution."""
    top, layers = _torch_network(network, image)
    signal = torch.zeros_like(top)
    signal[(0, *unit)] = top[(0, *unit)]
    for (z, idx), w in zip(reversed(layers), reversed(network["weights"])):
        signal = F.max_unpool2d(signal, idx, 2, output_size=z.shape[-2:])
        signal = torch.relu(signal) if rule == "deconvnet" else torch.relu(signal) * (z > 0)
        signal = F.conv_transpose2d(signal, torch.from_numpy(w))
    return signal[0, 0].numpy()


def test_the_notebooks_deconvnet_is_pytorchs(network):
    patch = image_patch()
    top, records = network["forward"](patch, network["weights"])
    deconv = network["project"](top, (0, 1, 1), records, network["weights"], "deconvnet")
    np.testing.assert_allclose(deconv, _torch_deconvnet(network, _t(patch), (0, 1, 1)), atol=1e-12)
    grad = network["project"](top, (0, 1, 1), records, network["weights"], "gradient")
    assert not np.allclose(deconv, top[0, 1, 1] * grad)           # two layers: they differ
    # the notebook's printed shares of pixels reached
    assert (round(np.mean(deconv != 0) * 100, 1), round(np.mean(grad != 0) * 100, 1)) == (9.0, 16.4)


def test_with_one_layer_the_deconvnet_is_the_activation_times_the_gradient(network):
    x = _t(image_patch()).requires_grad_()
    w1 = torch.from_numpy(network["weights"][0])
    top, idx = F.max_pool2d(torch.relu(F.conv2d(x, w1)), 2, return_indices=True)
    unit = np.unravel_index(int(torch.argmax(top)), top.shape)
    top[unit].backward()
    signal = torch.zeros_like(top)
    signal[unit] = top[unit].detach()
    deconv = F.conv_transpose2d(torch.relu(F.max_unpool2d(signal, idx, 2, output_size=(14, 14))), w1)
    np.testing.assert_allclose(deconv[0, 0].numpy(), top[unit].item() * x.grad[0, 0].numpy(), atol=1e-12)


def test_exercise_4_guided_backpropagation_equals_the_deconvnet_here(network):
    patch = image_patch()
    guided = _torch_deconvnet(network, _t(patch), (0, 1, 1), rule="guided")
    np.testing.assert_allclose(guided, _torch_deconvnet(network, _t(patch), (0, 1, 1)), atol=1e-12)
    assert round(np.mean(guided != 0) * 100, 1) == 9.0


# ---------------------------------------------------------------- sections 5 and 6, and the worked answers


def test_section_5_and_exercise_5_storage():
    assert (round(64 * 180 * 240 * 4 / 1e6, 2), round(64 * 90 * 120 * 2 / 8 / 1e6, 2)) == (11.06, 0.17)  # 11 MB, .17 MB
    _, idx = F.max_pool2d(torch.zeros(1, 64, 180, 240), 3, 2, return_indices=True)
    assert idx.numel() == 677_824 and idx.dtype == torch.int64
    assert (idx.numel() * 4 / 8, idx.numel() * idx.element_size() / 1e6) == (338_912, 5.422592)


def _reconstructions():
    x = _t(image_patch()).requires_grad_()
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    mean = F.avg_pool2d(x, 2)
    (mean * mean.detach()).sum().backward()                   # the average-pool backward applied to the means
    return {"switches": F.max_unpool2d(y, idx, 2)[0, 0].detach().numpy(),
            "nearest": F.interpolate(y, scale_factor=2, mode="nearest")[0, 0].detach().numpy(),
            "uniform": 4 * x.grad[0, 0].numpy()}


def test_section_6_reconstructions_and_their_errors():
    patch = image_patch()
    rows = {name: (round(float(np.sqrt(np.mean((r - patch) ** 2))), 4), round(float(np.mean(r - patch)), 4) + 0.0,
                   round(float(np.mean(r == patch)) * 100, 2))
            for name, r in _reconstructions().items()}
    assert rows == {"switches": (0.4731, -0.3884, 25.0), "nearest": (0.1329, 0.0859, 26.56),
                    "uniform": (0.0861, 0.0, 0.78)}


def test_exercise_6_normalised_convolution():
    patch = image_patch()
    sparse = torch.from_numpy(_reconstructions()["switches"])[None, None]
    tent = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])).double()[None, None]
    numerator = F.conv2d(sparse, tent, padding=1)[0, 0].numpy()
    denominator = F.conv2d((sparse != 0).double(), tent, padding=1)[0, 0].numpy()
    assert denominator.min() > 0
    error = numerator / denominator - patch
    assert (round(float(np.sqrt(np.mean(error ** 2))), 4), round(float(error.mean()), 4),
            round(float(np.mean(error == 0)) * 100, 2)) == (0.1309, 0.0758, 4.30)


def test_exercise_3_four_windows_share_the_centre():
    x = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    x[0, 0, 2, 2] = 1.0
    x.requires_grad_()
    y, idx = F.max_pool2d(x, 3, 2, return_indices=True)
    assert idx.flatten().tolist() == [12, 12, 12, 12]
    (y * _t([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad[0, 0, 2, 2] == 10.0
    np.testing.assert_array_equal(pv.max_unpool2d(np.array([[1.0, 2.0], [3.0, 4.0]]), idx[0, 0].numpy(), 3, 2)[2, 2], 4.0)
