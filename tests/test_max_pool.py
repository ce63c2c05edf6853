"""Max pooling: hand-computed cases, the loop reference on random configurations, and the tie/NaN rules."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poolviz as pv
from conftest import MAX_POOL_PATH_PARAMS, MAX_POOL_PATHS, NEEDS_NUMBA, max_pool_path, valid_lengths
from poolviz.reference import max_pool2d_backward_loop, max_pool2d_loop


def test_overlapping_maximum_receives_gradient_from_every_window():
    # 3x3 input, 2x2 windows with stride 1: four windows, and the centre 9 is the max of all four.
    x = np.array([[1.0, 2, 3], [4, 9, 5], [6, 7, 8]])
    y, idx = pv.max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(y, [[9, 9], [9, 9]])
    np.testing.assert_array_equal(idx, [[4, 4], [4, 4]])
    g = np.array([[1.0, 10], [100, 1000]])
    dx = pv.max_pool2d_backward(g, x, 2, stride=1)
    expected = np.zeros((3, 3))
    expected[1, 1] = 1111.0  # the sum of all four upstream gradients, nothing lost
    np.testing.assert_array_equal(dx, expected)


def test_max_of_two_windows_gets_twice():
    x = np.array([[0.0, 5, 0], [0, 1, 2], [0, 0, 0]])
    dx = pv.max_pool2d_backward(np.ones((2, 2)), x, 2, stride=1)
    np.testing.assert_array_equal(dx, [[0, 2, 0], [0, 1, 1], [0, 0, 0]])


def test_first_maximum_in_row_major_order_wins_a_tie():
    x = np.array([[2.0, 2], [2, 2]])
    y, idx = pv.max_pool2d(x, 2, return_indices=True)
    assert idx.item() == 0
    np.testing.assert_array_equal(pv.max_pool2d_backward(np.array([[3.0]]), x, 2), [[3, 0], [0, 0]])
    x = np.array([[0.0, 1], [1, 0]])  # tie between (0,1) and (1,0): (0,1) comes first
    assert pv.max_pool2d(x, 2, return_indices=True)[1].item() == 1


def test_a_tie_keeps_the_sign_of_zero_of_the_first_maximum():
    # +0.0 (row 0, column 1) comes before -0.0 (row 1, column 0) in row-major order
    x = np.array([[-1.0, 0.0], [-0.0, -1.0]], dtype=np.float32)
    for path in MAX_POOL_PATHS:
        with max_pool_path(path):
            y, idx = pv.max_pool2d(np.stack([x, x]), 2, return_indices=True)
        assert idx.ravel().tolist() == [1, 1], path
        assert not np.signbit(y).any(), path


def test_all_zero_windows_after_relu_route_to_first_element():
    x = np.zeros((4, 4))
    dx = pv.max_pool2d_backward(np.ones((2, 2)), x, 2)
    np.testing.assert_array_equal(dx, np.kron(np.ones((2, 2)), [[1, 0], [0, 0]]))


def test_padding_is_minus_infinity_so_negative_inputs_still_win():
    x = -np.arange(1.0, 10).reshape(3, 3)  # all negative: zero padding would wrongly win
    y, idx = pv.max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    assert y.max() < 0
    assert y[0, 0] == -1 and idx[0, 0] == 0


def test_window_of_minus_infinity_points_at_its_first_real_element():
    x = np.full((3, 3), -np.inf)
    y, idx = pv.max_pool2d(x, 2, stride=2, padding=1, return_indices=True)
    assert np.all(y == -np.inf)
    np.testing.assert_array_equal(idx, [[0, 1], [3, 4]])


def test_nan_propagates_and_index_points_at_a_nan():
    x = np.array([[1.0, np.nan, 3, np.nan], [0, 0, 5, 0]])
    y, idx = pv.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(y).all()
    np.testing.assert_array_equal(idx, [[1, 3]])
    x = np.array([[np.nan, 1.0], [np.nan, 2.0]])  # two NaNs: like PyTorch's CPU kernel, the last one
    assert pv.max_pool2d(x, 2, return_indices=True)[1].item() == 2


def test_gapped_stride_leaves_inputs_without_gradient():
    x = np.arange(25.0).reshape(5, 5)
    dx = pv.max_pool2d_backward(np.ones((2, 2)), x, 2, stride=3)
    assert dx.sum() == 4
    assert np.count_nonzero(dx) == 4
    np.testing.assert_array_equal(np.nonzero(dx), ([1, 1, 4, 4], [1, 4, 1, 4]))


def test_ceil_mode_keeps_a_partial_last_window():
    x = np.arange(25.0).reshape(5, 5)
    assert pv.max_pool2d(x, 2).shape == (2, 2)
    y = pv.max_pool2d(x, 2, ceil_mode=True)
    assert y.shape == (3, 3)
    assert y[2, 2] == 24  # the 1x1 corner window
    # the last window may not start in the right padding: L=5, k=2, s=2, p=1 -> 3 windows, not 4
    assert pv.max_pool2d(x, 2, stride=2, padding=1, ceil_mode=True).shape == (3, 3)


def test_integer_input_keeps_dtype_and_float32_stays_float32():
    x = np.arange(16, dtype=np.int32).reshape(4, 4)
    assert pv.max_pool2d(x, 2).dtype == np.int32
    assert pv.max_pool2d(x, 2, padding=1).dtype == np.int32
    x32 = x.astype(np.float32)
    assert pv.max_pool2d(x32, 2).dtype == np.float32
    assert pv.max_pool2d_backward(np.ones((2, 2), np.float32), x32, 2).dtype == np.float32
    assert pv.max_pool2d(x, 2, return_indices=True)[1].dtype == np.int64
    np.testing.assert_array_equal(pv.max_pool2d(np.array([[np.iinfo(np.int64).min] * 2] * 2), 2, padding=1),
                                  np.full((2, 2), np.iinfo(np.int64).min))


def test_leading_dimensions_are_independent():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 7))
    y = pv.max_pool2d(x, 3, stride=2, padding=1)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(y[i, j], pv.max_pool2d(x[i, j], 3, stride=2, padding=1))


def test_unpool_inverts_the_routing():
    x = np.array([[1.0, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
    y, idx = pv.max_pool2d(x, 2, return_indices=True)
    up = pv.max_unpool2d(y, idx, 2)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[3, 1], expected[3, 3] = 6, 8, 14, 16
    np.testing.assert_array_equal(up, expected)
    # an odd input needs output_size to come back to its size
    x5 = np.arange(25.0).reshape(5, 5)
    y5, idx5 = pv.max_pool2d(x5, 2, return_indices=True)
    assert pv.max_unpool2d(y5, idx5, 2, output_size=(5, 5)).shape == (5, 5)
    with pytest.raises(ValueError, match="pass output_size"):
        pv.max_unpool2d(y5, idx5, 2)  # the default 4x4 plane cannot hold index 18 of a 5x5 plane


def test_max_pool1d_matches_2d_on_a_row():
    x = np.array([3.0, 1, 4, 1, 5, 9, 2, 6])
    y, idx = pv.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(y, [3, 4, 9, 9])
    np.testing.assert_array_equal(idx, [0, 2, 5, 5])
    np.testing.assert_array_equal(pv.max_pool1d_backward(np.ones(4), x, 3, stride=2, padding=1),
                                  [1, 0, 1, 0, 0, 2, 0, 0])


# --- the loop reference on random configurations ------------------------------------------------

@st.composite
def max_configs(draw):
    """Valid max-pooling configurations only (drawn, not filtered): every one is compared with the reference."""
    ceil = draw(st.booleans())
    k, s, d, p, shape = [], [], [], [], []
    for _ in range(2):  # rows, then columns
        k.append(draw(st.integers(1, 4)))
        s.append(draw(st.integers(1, 5)))
        d.append(draw(st.integers(1, 3)))
        p.append(draw(st.integers(0, k[-1] // 2)))
        lengths = valid_lengths(k[-1], s[-1], p[-1], d[-1], ceil)
        if not lengths:  # this padding and dilation leave a window in the padding at every length: no padding
            p[-1] = 0
            lengths = valid_lengths(k[-1], s[-1], 0, d[-1], ceil)
        shape.append(draw(st.sampled_from(lengths)))
    lead = draw(st.sampled_from([(), (2,), (1, 2)]))
    kind = draw(st.sampled_from(["normal", "ties", "relu", "nan", "int"]))
    seed = draw(st.integers(0, 2**16))
    kwargs = dict(kernel_size=tuple(k), stride=tuple(s), dilation=tuple(d), padding=tuple(p), ceil_mode=ceil)
    return kwargs, lead + tuple(shape), kind, seed


def _make_input(shape, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "ties":
        return rng.integers(0, 3, shape).astype(np.float64)
    if kind == "relu":
        return np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    if kind == "nan":
        x = rng.standard_normal(shape)
        x[rng.random(shape) < 0.2] = np.nan
        x[rng.random(shape) < 0.1] = -np.inf
        return x
    if kind == "int":
        return rng.integers(-3, 3, shape)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("path", MAX_POOL_PATH_PARAMS)
@settings(max_examples=200, deadline=None)
@given(config=max_configs())
def test_vectorised_max_pool_equals_the_loop_reference(path, config):
    kwargs, shape, kind, seed = config
    x = _make_input(shape, kind, seed)
    with max_pool_path(path):
        y, idx = pv.max_pool2d(x, return_indices=True, **kwargs)
        g = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(np.float32)
        dx = pv.max_pool2d_backward(g, x, **kwargs)
        dx_from_indices = pv.max_pool2d_backward(g, x, indices=idx, **kwargs)
    y_ref, idx_ref = max_pool2d_loop(x, **kwargs)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(dx, max_pool2d_backward_loop(g, x, **kwargs))
    np.testing.assert_array_equal(dx_from_indices, dx)
    np.testing.assert_array_equal(np.signbit(dx), np.signbit(max_pool2d_backward_loop(g, x, **kwargs)))


@st.composite
def tiling_configs(draw):
    """Windows that tile the input (stride = kernel, no padding or dilation): the columns-first path."""
    k = (draw(st.integers(2, 4)), draw(st.integers(2, 4)))
    shape = (draw(st.integers(k[0], 13)), draw(st.integers(k[1], 13)))
    lead = draw(st.sampled_from([(), (3,), (2, 2)]))
    kind = draw(st.sampled_from(["normal", "ties", "relu", "nan", "int", "zeros"]))
    return dict(kernel_size=k, ceil_mode=draw(st.booleans())), lead + shape, kind, draw(st.integers(0, 2**16))


@pytest.mark.parametrize("path", ["planes", "tiles", pytest.param("compiled", marks=NEEDS_NUMBA)])
@settings(max_examples=150, deadline=None)
@given(config=tiling_configs())
def test_tiling_windows_equal_the_loop_reference(path, config):
    kwargs, shape, kind, seed = config
    if kind == "zeros":  # +0.0 and -0.0 tie: the first one's sign must come out
        x = np.random.default_rng(seed).choice(np.array([-1.0, -0.0, 0.0], dtype=np.float32), shape)
    else:
        x = _make_input(shape, kind, seed)
    with max_pool_path(path):
        y, idx = pv.max_pool2d(x, return_indices=True, **kwargs)
        g = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(np.float32)
        dx = pv.max_pool2d_backward(g, x, indices=idx, **kwargs)
    y_ref, idx_ref = max_pool2d_loop(x, **kwargs)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(np.signbit(y), np.signbit(y_ref))
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(dx, max_pool2d_backward_loop(g, x, **kwargs))


@settings(max_examples=100, deadline=None)
@given(max_configs())
def test_max_pool_gradient_sums_to_the_upstream_gradient(config):
    kwargs, shape, kind, seed = config
    x = _make_input(shape, "ties", seed)
    y = pv.max_pool2d(x, **kwargs)
    g = np.random.default_rng(seed).integers(-5, 5, y.shape).astype(np.float64)
    dx = pv.max_pool2d_backward(g, x, **kwargs)
    assert dx.sum() == g.sum()  # every window routes all of its gradient, exactly once
    # at most one input per window receives gradient
    assert np.count_nonzero(dx) <= y.size


def test_backward_reuses_the_forward_switches_when_given():
    x = np.array([[1.0, 2, 3], [4, 9, 5], [6, 7, 8]])
    y, idx = pv.max_pool2d(x, 2, stride=1, return_indices=True)
    g = np.array([[1.0, 10], [100, 1000]])
    np.testing.assert_array_equal(pv.max_pool2d_backward(g, x, 2, stride=1, indices=idx),
                                  pv.max_pool2d_backward(g, x, 2, stride=1))
    y1, idx1 = pv.max_pool1d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(pv.max_pool1d_backward(np.ones((3, 2)), x, 2, stride=1, indices=idx1),
                                  pv.max_pool1d_backward(np.ones((3, 2)), x, 2, stride=1))
    with pytest.raises(ValueError, match="indices has shape"):
        pv.max_pool2d_backward(g, x, 2, stride=1, indices=idx[:1])
    with pytest.raises(ValueError, match="must lie in 0..8"):
        pv.max_pool2d_backward(g, x, 2, stride=1, indices=idx + 5)
    with pytest.raises(TypeError, match="integer array"):
        pv.max_pool2d_backward(g, x, 2, stride=1, indices=idx.astype(float))


@pytest.mark.parametrize("path", ["planes", "tiles", pytest.param("compiled", marks=NEEDS_NUMBA)])
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_planes_too_large_for_16_bit_positions(path, kwargs):
    """Above 256 x 256 a plane's flat positions no longer fit in uint16: the switch indices take int64 throughout."""
    x = np.random.default_rng(5).integers(0, 4, (1, 257, 258)).astype(np.float32)  # many ties
    with max_pool_path(path):
        y, idx = pv.max_pool2d(x, return_indices=True, **kwargs)
    y_ref, idx_ref = max_pool2d_loop(x, **kwargs)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert idx.max() >= 1 << 16


def test_large_dilation_steps_past_16_bit_positions():
    """A row step of dilation * W = 65536 with a plane of at most 65536 positions: uint16 arithmetic wraps exactly."""
    x = np.random.default_rng(6).standard_normal((4, 16384)).astype(np.float32)
    kwargs = dict(kernel_size=(2, 1), stride=1, padding=(1, 0), dilation=(4, 1))
    for path in MAX_POOL_PATHS:
        with max_pool_path(path):
            y, idx = pv.max_pool2d(x, return_indices=True, **kwargs)
        y_ref, idx_ref = max_pool2d_loop(x, **kwargs)
        np.testing.assert_array_equal(idx, idx_ref)
    y, idx = pv.max_pool1d(np.zeros(65536, np.float32), 2, return_indices=True)
    assert idx[-1] == 65534


def test_wide_tiling_kernel():
    """Tiling windows wider than 256 columns: column codes no longer fit in uint8."""
    x = np.random.default_rng(7).integers(0, 3, (1, 2, 600)).astype(np.float32)
    for path in MAX_POOL_PATHS:
        with max_pool_path(path):
            y, idx = pv.max_pool2d(x, (2, 300), return_indices=True)
        np.testing.assert_array_equal(idx, max_pool2d_loop(x, (2, 300))[1])


@pytest.mark.parametrize("make", [lambda a: a[::-1, ::-1], lambda a: a[:, :1]], ids=["reversed", "column"])
def test_one_element_windows_on_strided_inputs(make):
    x = make(np.random.default_rng(8).standard_normal((300, 200)).astype(np.float32))
    for path in MAX_POOL_PATHS:
        with max_pool_path(path):
            y, idx = pv.max_pool2d(x, 1, return_indices=True)
        np.testing.assert_array_equal(y, x)
        np.testing.assert_array_equal(idx, max_pool2d_loop(np.ascontiguousarray(x), 1)[1])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_zero_signs_of_tied_maxima_in_every_float_type(dtype):
    """Tied ±0.0 maxima: the first one's sign comes out (np.maximum's own tie rule differs by dtype)."""
    x = np.zeros((3, 30, 36), dtype)
    x[..., 0::2] = -0.0
    x[:, 1::3] *= -1  # and some rows with +0.0 first
    for kernel in [(1, 2), 2, (2, 3), 3]:
        y_ref = max_pool2d_loop(x, kernel)[0]
        for path in MAX_POOL_PATHS:
            with max_pool_path(path):
                y = pv.max_pool2d(x, kernel)
            np.testing.assert_array_equal(np.signbit(y), np.signbit(y_ref), err_msg=f"{kernel} {path}")
        assert np.signbit(y_ref).any() and not np.signbit(y_ref).all()


def test_huge_unsigned_indices_are_reported_as_given():
    x = np.zeros((4, 4), np.float32)
    g = np.ones((2, 2), np.float32)
    bad = np.full((2, 2), 2**64 - 1, dtype=np.uint64)
    with pytest.raises(ValueError, match="18446744073709551615"):
        pv.max_pool2d_backward(g, x, 2, indices=bad)
    with pytest.raises(ValueError, match="found 9223372036854775813, larger than any plane") as caught:
        pv.max_pool2d_backward(g, x, 2, indices=np.full((2, 2), 2**63 + 5, dtype=np.uint64))
    assert "0..0" not in str(caught.value) and "shape (1,)" not in str(caught.value)  # not a made-up plane
