"""Average and Lp pooling: hand cases, the divisor rules, and the loop reference on random configurations."""
from functools import partial

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import poolviz as pv
from conftest import AVG_POOL_FAST_PARAMS, valid_lengths
from poolviz import _fast, paths
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
def avg_configs(draw, strides=(st.integers(1, 5), st.integers(1, 5)), padding=True):
    """Valid average-pooling configurations only (drawn, not filtered): every one is compared with a reference."""
    ceil = draw(st.booleans())
    k, s, p, shape = [], [], [], []
    for stride in strides:  # rows, then columns
        k.append(draw(st.integers(1, 4)))
        s.append(draw(stride))
        p.append(draw(st.integers(0, k[-1] // 2)) if padding else 0)
        shape.append(draw(st.sampled_from(valid_lengths(k[-1], s[-1], p[-1], 1, ceil, longest=8))))
    kwargs = dict(kernel_size=tuple(k), stride=tuple(s), padding=tuple(p), ceil_mode=ceil,
                  count_include_pad=draw(st.booleans()), divisor_override=draw(st.sampled_from([None, None, 3])))
    shape = draw(st.sampled_from([(), (2,)])) + tuple(shape)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return kwargs, shape, dtype, draw(st.integers(0, 2**16))


def _assert_equals_the_loop_reference(kwargs, shape, dtype, seed):
    """avg_pool2d and its backward equal the loops to the last bit: same summation order (row-major over the window)."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    y = pv.avg_pool2d(x, **kwargs)
    np.testing.assert_array_equal(y, avg_pool2d_loop(x, **kwargs))
    g = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(pv.avg_pool2d_backward(g, x, **kwargs), avg_pool2d_backward_loop(g, x, **kwargs))


@settings(max_examples=200, deadline=None)
@given(avg_configs())
def test_vectorised_avg_pool_equals_the_loop_reference(config):
    _assert_equals_the_loop_reference(*config)


@settings(max_examples=60, deadline=None)
@given(avg_configs(padding=False), st.sampled_from([1.0, 2.0, 3.0, 1.5]))
def test_lp_pool_equals_the_loop_reference(config, p):
    kwargs, shape, dtype, seed = config
    x = np.random.default_rng(seed).random(shape) + 0.1
    k, s, ceil = kwargs["kernel_size"], kwargs["stride"], kwargs["ceil_mode"]
    y = pv.lp_pool2d(x, p, k, s, ceil)
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


# --- the dense paths for large inputs -------------------------------------------------------------
# Large inputs go in blocks of planes through "dense" passes (a window sum at every position of a
# row-phase array, contiguous passes), in one of two layouts (rows as they are, or split into stride
# phases). These tests force them on small inputs, one plane per block, and compare them with the loop
# reference and, to the last bit (zero signs, inf and NaN included), with the per-offset path.

@pytest.fixture(params=AVG_POOL_FAST_PARAMS)
def dense_paths(request):
    """Run average pooling's dense paths on any input, one plane per block, in the layout of the param;
    and the compiled path (where numba is installed), held to the same tests.

    (The settings hold for the whole test, so hypothesis examples may share this function-scoped fixture.)"""
    with paths.use(avg_pool=request.param, block_bytes=1):
        yield request.param


def _per_offset_path(fn, *args, **kwargs):
    """``fn`` computed by the per-offset path (the dense paths switched off)."""
    with paths.use(avg_pool="offsets"):
        return fn(*args, **kwargs)


def assert_same_bits(actual, expected):
    """Equal values, NaN where NaN, and the same sign of every zero (assert_array_equal counts -0.0 == 0.0).

    A NaN's own sign bit is not compared: where two NaNs meet, which one an addition returns depends on
    numpy's inner loop (and PyTorch promises nothing about it either)."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)
    numbers = ~np.isnan(expected)
    np.testing.assert_array_equal(np.signbit(actual[numbers]), np.signbit(expected[numbers]))


@st.composite
def dense_configs(draw):
    """avg_configs with the strides the dense paths take (sh/split * sw <= 4) and one or two leading axes."""
    kwargs, shape, dtype, seed = draw(avg_configs(strides=(st.integers(1, 4), st.integers(1, 2))))
    lead = draw(st.sampled_from([(1,), (3,), (2, 3)]))
    return kwargs, lead + shape[-2:], dtype, seed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=dense_configs())
def test_dense_paths_equal_the_loop_reference(dense_paths, config):
    _assert_equals_the_loop_reference(*config)


def _with_special_values(a, rng):
    """``a`` with some entries replaced by -0.0, +0.0, inf, -inf and NaN."""
    a = a.copy()
    pick = rng.random(a.shape)
    for value, low, high in [(-0.0, 0, 0.15), (0.0, 0.15, 0.2), (np.inf, 0.2, 0.23), (-np.inf, 0.23, 0.25),
                             (np.nan, 0.25, 0.26)]:
        a[(pick >= low) & (pick < high)] = value
    return a


@pytest.mark.filterwarnings("ignore:invalid value encountered in add:RuntimeWarning")  # inf + -inf gradients
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=dense_configs())
def test_dense_paths_equal_the_per_offset_path_to_the_bit(dense_paths, config):
    kwargs, shape, dtype, seed = config
    rng = np.random.default_rng(seed)
    x = _with_special_values(rng.standard_normal(shape).astype(dtype), rng)
    expected = _per_offset_path(pv.avg_pool2d, x, **kwargs)
    assert_same_bits(pv.avg_pool2d(x, **kwargs), expected)
    g = _with_special_values(rng.standard_normal(expected.shape).astype(dtype), rng)
    assert_same_bits(pv.avg_pool2d_backward(g, x, **kwargs), _per_offset_path(pv.avg_pool2d_backward, g, x, **kwargs))


def test_dense_backward_turns_negative_zero_gradients_into_positive_zeros(dense_paths):
    # each input adds its gradient to a zero, as PyTorch does: 0 + (-0.0) is +0.0, with or without overlaps
    x = np.ones((2, 6, 6), dtype=np.float32)
    for kwargs in [dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=3, stride=2, padding=1)]:
        g = np.full(pv.avg_pool2d(x, **kwargs).shape, -0.0, dtype=np.float32)
        dx = pv.avg_pool2d_backward(g, x, **kwargs)
        assert not np.signbit(dx).any(), kwargs


def test_dense_paths_in_one_dimension_and_for_lp_pooling(dense_paths):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 17))
    for kwargs in [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=4, stride=1, ceil_mode=True)]:
        y = pv.avg_pool1d(x, **kwargs)
        np.testing.assert_array_equal(y, _per_offset_path(pv.avg_pool1d, x, **kwargs))
        g = rng.standard_normal(y.shape)
        np.testing.assert_array_equal(pv.avg_pool1d_backward(g, x, **kwargs),
                                      _per_offset_path(pv.avg_pool1d_backward, g, x, **kwargs))
    xp = rng.random((2, 3, 9, 11)) + 0.1
    for p, kwargs in [(2.0, dict(kernel_size=3, stride=2, ceil_mode=True)), (1.5, dict(kernel_size=(2, 3), stride=1))]:
        np.testing.assert_array_equal(pv.lp_pool2d(xp, p, **kwargs), _per_offset_path(pv.lp_pool2d, xp, p, **kwargs))
        np.testing.assert_allclose(pv.lp_pool2d(xp, p, **kwargs), lp_pool2d_loop(xp, p, **kwargs), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered in add:RuntimeWarning")  # inf + -inf gradients
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2),
                                    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)])
def test_large_input_in_several_blocks_equals_the_per_offset_path(kwargs):
    # the sizes as shipped: 120 planes of 9 kB make three blocks, the last one partial
    rng = np.random.default_rng(4)
    x = _with_special_values(rng.standard_normal((3, 40, 48, 48)).astype(np.float32), rng)
    assert x.size > _fast.SMALL and x[0, 0].nbytes * x.shape[1] * x.shape[0] > paths.current().block_bytes
    y = pv.avg_pool2d(x, **kwargs)
    assert_same_bits(y, _per_offset_path(pv.avg_pool2d, x, **kwargs))
    g = _with_special_values(rng.standard_normal(y.shape).astype(np.float32), rng)
    assert_same_bits(pv.avg_pool2d_backward(g, x, **kwargs), _per_offset_path(pv.avg_pool2d_backward, g, x, **kwargs))


def test_a_window_of_negative_zeros_averages_to_positive_zero(dense_paths):
    """PyTorch starts each window sum at 0 (``sum = 0; sum += x``), and 0 + (-0.0) is +0.0."""
    x = np.full((2, 4, 4), -0.0, dtype=np.float32)
    x[1, :2, :2] = [[-1.0, 1.0], [-0.0, -0.0]]  # a sum that cancels to zero: +0.0 too
    for y in (pv.avg_pool2d(x, 2), _per_offset_path(pv.avg_pool2d, x, 2)):
        np.testing.assert_array_equal(y, 0.0)
        assert not np.signbit(y).any()
    # +0.0 / -3 is -0.0, but PyTorch adds the quotient to a zeroed output: +0.0 (torch 2.13 checked; the golden
    # case avg_pool2d k2s2-ties-divisor-neg2 holds such windows)
    y = pv.avg_pool2d(x, 2, divisor_override=-3)
    np.testing.assert_array_equal(y, 0.0)
    assert not np.signbit(y).any()
    assert not np.signbit(pv.avg_pool1d(np.zeros((1, 4)), 2, divisor_override=-3)).any()
