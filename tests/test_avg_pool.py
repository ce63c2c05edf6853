"""Average and Lp pooling: hand cases, the divisor rules, and the loop reference on random configurations."""
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poolviz as pv
from poolviz.reference import avg_pool2d_backward_loop, avg_pool2d_loop, lp_pool2d_loop


def test_average_spreads_the_gradient_evenly():
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(pv.avg_pool2d(x, 2), [[2.5, 4.5], [10.5, 12.5]])
    dx = pv.avg_pool2d_backward(np.array([[4.0, 8], [12, 16]]), x, 2)
    np.testing.assert_array_equal(dx, np.kron([[1, 2], [3, 4]], np.ones((2, 2))))


def test_divisor_rules_at_the_padded_corner():
    x = np.ones((3, 3))
    # corner window of a 2x2 kernel with padding 1 holds one real element and three zeros of padding
    assert pv.avg_pool2d(x, 2, padding=1)[0, 0] == 0.25
    assert pv.avg_pool2d(x, 2, padding=1, count_include_pad=False)[0, 0] == 1.0
    assert pv.avg_pool2d(x, 2, padding=1, divisor_override=2)[0, 0] == 0.5


def test_ceil_mode_window_past_the_padding_counts_only_its_inside():
    x = np.ones((1, 5))
    # k=2, s=2, ceil_mode: windows [0,1], [2,3], [4,(5)]; the last runs past the input: divisor 1, not 2
    np.testing.assert_array_equal(pv.avg_pool1d(x, 2, ceil_mode=True), [[1.0, 1.0, 1.0]])
    # with padding 1: padded extent is [-1, 6): windows [-1,0], [1,2], [3,4]; the last is whole
    np.testing.assert_array_equal(pv.avg_pool1d(x, 2, padding=1, ceil_mode=True), [[0.5, 1.0, 1.0]])


def test_integer_input_gives_float64_and_float32_stays():
    x = np.arange(16).reshape(4, 4)
    assert pv.avg_pool2d(x, 2).dtype == np.float64
    assert pv.avg_pool2d(x.astype(np.float32), 2).dtype == np.float32
    assert pv.lp_pool2d(x.astype(np.float32), 2, 2).dtype == np.float32


def test_lp_pool_limits_and_gradient():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert pv.lp_pool2d(x, 2, 2).item() == 5.0  # the Euclidean norm of the window
    assert pv.lp_pool2d(x, 1, 2).item() == 7.0  # sum pooling
    np.testing.assert_allclose(pv.lp_pool2d(x, 60, 2).item(), 4.0, rtol=1e-6)  # approaches the max
    np.testing.assert_allclose(pv.lp_pool2d_backward(np.ones((1, 1)), x, 2, 2), [[0.6, 0.8], [0, 0]])
    # an all-zero window sends zero gradient (not NaN), as PyTorch does
    np.testing.assert_array_equal(pv.lp_pool2d_backward(np.ones((1, 1)), np.zeros((2, 2)), 2, 2), np.zeros((2, 2)))


@st.composite
def avg_configs(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    kwargs = dict(kernel_size=k, stride=s, padding=p, ceil_mode=draw(st.booleans()),
                  count_include_pad=draw(st.booleans()), divisor_override=draw(st.sampled_from([None, None, 3])))
    shape = draw(st.sampled_from([(), (2,)])) + (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return kwargs, shape, dtype, draw(st.integers(0, 2**16))


@settings(max_examples=200, deadline=None)
@given(avg_configs())
def test_vectorised_avg_pool_equals_the_loop_reference(config):
    kwargs, shape, dtype, seed = config
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    try:
        y = pv.avg_pool2d(x, **kwargs)
    except ValueError as err:
        assert "does not fit" in str(err)
        return
    # same summation order as the loop (row-major over the window), so equal to the last bit
    np.testing.assert_array_equal(y, avg_pool2d_loop(x, **kwargs))
    g = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(pv.avg_pool2d_backward(g, x, **kwargs), avg_pool2d_backward_loop(g, x, **kwargs))


@settings(max_examples=60, deadline=None)
@given(avg_configs(), st.sampled_from([1.0, 2.0, 3.0, 1.5]))
def test_lp_pool_equals_the_loop_reference(config, p):
    kwargs, shape, dtype, seed = config
    x = np.random.default_rng(seed).random(shape) + 0.1
    k, s, ceil = kwargs["kernel_size"], kwargs["stride"], kwargs["ceil_mode"]
    try:
        y = pv.lp_pool2d(x, p, k, s, ceil)
    except ValueError:
        return
    np.testing.assert_allclose(y, lp_pool2d_loop(x, p, k, s, ceil), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(2, 3), stride=(1, 2)),
    dict(kernel_size=3, stride=2, ceil_mode=True, count_include_pad=False, padding=1),
])
def test_avg_pool_gradcheck(kwargs):
    x = np.random.default_rng(0).standard_normal((2, 5, 6))
    result = pv.gradcheck(partial(pv.avg_pool2d, **kwargs), x)
    assert result.passed, str(result)
    assert result.n_near_ties == 0  # average pooling is linear: no kinks anywhere


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 1.5])
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_lp_pool_gradcheck(p, kwargs):
    x = np.random.default_rng(1).random((5, 6)) + 0.2
    result = pv.gradcheck(partial(pv.lp_pool2d, norm_type=p, **kwargs), x)
    assert result.passed, str(result)


def test_one_dimensional_ops_match_two_dimensional_ones_on_a_row():
    x = np.random.default_rng(2).standard_normal((3, 9))
    np.testing.assert_array_equal(pv.avg_pool1d(x, 3, 2, 1), pv.avg_pool2d(x[:, None, :], (1, 3), (1, 2), (0, 1))[:, 0])
    g = np.ones((3, 5))
    np.testing.assert_array_equal(pv.avg_pool1d_backward(g, x, 3, 2, 1),
                                  pv.avg_pool2d_backward(g[:, None], x[:, None, :], (1, 3), (1, 2), (0, 1))[:, 0])
    xp = np.abs(x)
    np.testing.assert_allclose(pv.lp_pool1d(xp, 2, 3), pv.lp_pool2d(xp[:, None, :], 2, (1, 3))[:, 0])
    assert pv.gradcheck(partial(pv.lp_pool1d, norm_type=2, kernel_size=3), xp + 0.1).passed
