"""The op registry: every op declared once, and what routing and gradcheck read from it."""
import functools

import numpy as np
import pytest

import poolviz as pv
from conftest import sum_pool2d, sum_pool2d_backward
from poolviz import ops, routing
from poolviz.data import example_input

XP = example_input("relu", (6, 6)) + 0.1  # positive: valid for every op


@pytest.mark.parametrize("name", list(ops.OPS))
def test_run_pool_runs_the_declared_forward_and_backward(name):
    spec = ops.OPS[name]
    options = {"rng": 0} if name == "stochastic" else {}
    run = routing.run_pool(name, XP, 3, 1, **options)
    if spec.run is None:
        kw = dict(kernel_size=3, stride=1, **spec.defaults())
        np.testing.assert_array_equal(run.y, spec.forward(XP, **kw))
        np.testing.assert_array_equal(run.dx, spec.backward(np.ones(run.y.shape), XP, **kw))
    else:
        y, idx = pv.stochastic_pool2d(XP, 3, 1, rng=0)
        np.testing.assert_array_equal(run.y, y)
        np.testing.assert_array_equal(run.dx, pv.stochastic_pool2d_backward(np.ones(y.shape), XP, idx, 3, 1))
    for alias in spec.aliases:
        assert ops.get_op(alias) is spec
    assert ops.get_op(spec.forward) is spec and routing.OP_LABELS[name] == spec.label


def test_routes_to_one_means_one_input_per_window():
    for name, spec in ops.OPS.items():
        counts = np.count_nonzero(routing.contributions(name, XP, 2, 1, **({"rng": 0} if spec.run else {})),
                                  axis=(1, 2))
        assert (counts == 1).all() == spec.routes_to_one, name


@pytest.mark.parametrize("forward, backward", [
    (pv.max_pool2d, pv.max_pool2d_backward), (pv.max_pool1d, pv.max_pool1d_backward),
    (pv.avg_pool2d, pv.avg_pool2d_backward), (pv.avg_pool1d, pv.avg_pool1d_backward),
    (pv.lp_pool2d, pv.lp_pool2d_backward), (pv.lp_pool1d, pv.lp_pool1d_backward),
    (pv.logsumexp_pool2d, pv.logsumexp_pool2d_backward), (pv.soft_pool2d, pv.soft_pool2d_backward),
    (pv.stochastic_pool2d, None), (np.maximum, None), ("max", None),
])
def test_backward_of(forward, backward):
    assert pv.backward_of(forward) is backward


def test_adding_an_op_is_one_entry(monkeypatch):
    monkeypatch.setitem(ops.OPS, "sum", ops.PoolOp("sum", "sum pooling", "sum", sum_pool2d, sum_pool2d_backward,
                                                   aliases=("total",)))
    run = routing.run_pool("total", XP, 2)
    np.testing.assert_array_equal(run.dx, np.ones_like(XP))  # every input in one window: the gradient 1
    assert routing.op_name(sum_pool2d) == "sum" and routing.op_options("sum") == {}
    np.testing.assert_array_equal(routing.route_counts("sum", XP, 2, 1)[1:-1, 1:-1], 4)
    assert pv.gradcheck(functools.partial(sum_pool2d, kernel_size=2), XP).passed  # its backward, found
    with pytest.raises(ValueError, match="sum pooling has no padding option"):
        routing.run_pool("sum", XP, 2, padding=1)
