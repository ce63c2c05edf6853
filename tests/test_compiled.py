"""The compiled path (poolviz._fast.compiled, numba): what the shared path tests do not already cover.

The golden values, the loop reference (with hypothesis) and the bit-for-bit comparisons with the numpy
paths run the compiled path through the path parameters of test_golden, test_max_pool and test_avg_pool.
Here: average pooling on every stride (the dense paths' tests draw only the strides they take), inputs
the kernels refuse, bad switches, thread counts, 1-d, and "auto" on a large input.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import NEEDS_NUMBA, valid_lengths
from test_avg_pool import _with_special_values, assert_same_bits, avg_configs

import poolviz as pv
from poolviz import paths
from poolviz.reference import avg_pool2d_backward_loop, avg_pool2d_loop, max_pool2d_backward_loop, max_pool2d_loop

pytestmark = NEEDS_NUMBA


def _numpy_path(fn, *args, **kwargs):
    with paths.use(max_pool="offsets", avg_pool="offsets"):
        return fn(*args, **kwargs)


def _compiled(fn, *args, **kwargs):
    with paths.use(max_pool="compiled", avg_pool="compiled"):
        return fn(*args, **kwargs)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf + -inf in the numpy path
@settings(max_examples=150, deadline=None)
@given(config=avg_configs(), lead=st.sampled_from([(), (1,), (3,), (2, 3)]))
def test_average_pooling_on_every_stride_equals_the_loops_and_the_numpy_path_to_the_bit(config, lead):
    kwargs, shape, dtype, seed = config
    shape = lead + shape[-2:]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    y = _compiled(pv.avg_pool2d, x, **kwargs)
    np.testing.assert_array_equal(y, avg_pool2d_loop(x, **kwargs))
    g = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(_compiled(pv.avg_pool2d_backward, g, x, **kwargs),
                                  avg_pool2d_backward_loop(g, x, **kwargs))
    xs, gs = _with_special_values(x, rng), _with_special_values(g, rng)  # -0.0, +-inf, NaN
    assert_same_bits(_compiled(pv.avg_pool2d, xs, **kwargs), _numpy_path(pv.avg_pool2d, xs, **kwargs))
    assert_same_bits(_compiled(pv.avg_pool2d_backward, gs, xs, **kwargs),
                     _numpy_path(pv.avg_pool2d_backward, gs, xs, **kwargs))


@st.composite
def _special_configs(draw):
    """A window with a kernel of its own (``compiled.SPECIAL_MAX``), every padding and ceil_mode, inputs from
    smaller than the window to wide enough for an interior and borders on every side."""
    from poolviz._fast.compiled import SPECIAL_MAX

    k, s = draw(st.sampled_from(sorted(SPECIAL_MAX)))
    p = draw(st.integers(0, k // 2))
    H, W = draw(st.integers(max(1, k - 2 * p), 19)), draw(st.integers(max(1, k - 2 * p), 40))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16]))
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 3)]))
    return dict(kernel_size=k, stride=s, padding=p, ceil_mode=draw(st.booleans())), lead + (H, W), dtype, \
        draw(st.integers(0, 2**32 - 1))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf + -inf in the loops
@settings(max_examples=200, deadline=None)
@given(config=_special_configs())
def test_the_special_max_kernels_equal_the_loops_to_the_bit(config):
    """k2s2, k3s2, k3s1: interior (vectorised loops) and border (generic loop) against the loop reference,
    with ties, -0.0, +-inf and NaN, forward with and without switches, backward from x and from switches."""
    kwargs, shape, dtype, seed = config
    rng = np.random.default_rng(seed)
    if dtype == np.int16:
        x = rng.integers(-3, 4, shape).astype(dtype)  # many ties
        if rng.random() < 0.5:
            x[..., : shape[-2] // 2, :] = np.iinfo(dtype).min  # windows of the padding value
    else:
        x = _with_special_values(np.round(rng.standard_normal(shape), 1).astype(dtype), rng)
    y, idx = _compiled(pv.max_pool2d, x, **kwargs, return_indices=True)
    y_ref, idx_ref = max_pool2d_loop(x, **kwargs)
    assert y.dtype == dtype
    assert y.tobytes() == y_ref.tobytes()  # every bit, signs of zero and NaNs included
    np.testing.assert_array_equal(idx, idx_ref)
    assert _compiled(pv.max_pool2d, x, **kwargs).tobytes() == y_ref.tobytes()
    g = rng.standard_normal(y.shape).astype(np.float64 if dtype == np.float64 else np.float32)
    expected = max_pool2d_backward_loop(g, x, **kwargs)
    assert_same_bits(_compiled(pv.max_pool2d_backward, g, x, **kwargs), expected)
    assert_same_bits(_compiled(pv.max_pool2d_backward, g, x, **kwargs, indices=idx), expected)


def test_the_special_max_kernels_take_only_their_windows():
    """Square windows of the listed size and stride, dilation 1; any other geometry runs the generic kernel."""
    from poolviz._fast import compiled
    from poolviz.geometry import pool_geometry

    def special(k, s, d=1, shape=(9, 9)):
        return compiled._special(pool_geometry(shape, k, s, 1, d)) is not None

    assert special(2, 2) and special(3, 2) and special(3, 1) and special(3, 2, shape=(4, 30))
    assert not special(3, 2, d=2) and not special((3, 2), 2) and not special(3, (2, 1)) and not special(2, 1)


def test_float16_and_strided_inputs():
    """float16 hands over to the numpy paths (the kernels take float32 and float64); views are copied first."""
    rng = np.random.default_rng(0)
    x16 = rng.standard_normal((2, 9, 10)).astype(np.float16)
    for fn, args in [(pv.max_pool2d, (x16, 3, 2, 1)), (pv.avg_pool2d, (x16, 3, 2, 1)),
                     (pv.max_pool2d_backward, (np.ones((2, 5, 5), np.float16), x16, 3, 2, 1)),
                     (pv.avg_pool2d_backward, (np.ones((2, 5, 5), np.float16), x16, 3, 2, 1))]:
        ours = _compiled(fn, *args)
        assert ours.dtype == np.float16
        assert_same_bits(ours, _numpy_path(fn, *args))
    x = rng.standard_normal((3, 20, 30))[:, ::-2, 1::3]  # not contiguous
    g = rng.standard_normal((3, 5, 5))
    for fn, args in [(pv.max_pool2d, (x, 2)), (pv.max_pool2d_backward, (g, x, 2)), (pv.avg_pool2d, (x, 2)),
                     (pv.avg_pool2d_backward, (g, x, 2))]:
        assert_same_bits(_compiled(fn, *args), _numpy_path(fn, *args))


def test_integer_inputs_to_max_pooling():
    for dtype in (np.int8, np.uint8, np.int32, np.uint64, np.int64):
        info = np.iinfo(dtype)
        x = np.random.default_rng(1).integers(info.min, info.max, (2, 7, 7), dtype=dtype, endpoint=True)
        x[0, :3, :3] = info.min  # a window of the padding value: points at its first real element
        y, idx = _compiled(pv.max_pool2d, x, 3, 2, 1, return_indices=True)
        y_ref, idx_ref = max_pool2d_loop(x, 3, 2, 1)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(idx, idx_ref)
        g = np.arange(y.size, dtype=np.float64).reshape(y.shape)
        np.testing.assert_array_equal(_compiled(pv.max_pool2d_backward, g, x, 3, 2, 1),
                                      max_pool2d_backward_loop(g, x, 3, 2, 1))


def test_bad_switches_are_reported_as_by_the_numpy_paths():
    x = np.zeros((2, 4, 4), np.float32)
    g = np.ones((2, 2, 2), np.float32)
    for bad, shown in [(16, "16"), (-1, "-1")]:
        idx = np.zeros((2, 2, 2), np.int64)
        idx[1, 1, 0] = bad
        with pytest.raises(ValueError, match=f"indices must lie in 0..15 .*found {shown}"):
            _compiled(pv.max_pool2d_backward, g, x, 2, indices=idx)


def test_the_same_bits_on_one_thread_and_on_several():
    import numba

    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((4, 8, 20, 21)), 1).astype(np.float32)  # ties
    g = rng.standard_normal((4, 8, 10, 11)).astype(np.float32)
    calls = [(pv.max_pool2d, (x, 3, 2, 1)), (pv.max_pool2d_backward, (g, x, 3, 2, 1)),
             (pv.avg_pool2d, (x, 3, 2, 1)), (pv.avg_pool2d_backward, (g, x, 3, 2, 1))]
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = [_compiled(fn, *args) for fn, args in calls]
    finally:
        numba.set_num_threads(threads)
    for (fn, args), one in zip(calls, single):
        assert_same_bits(_compiled(fn, *args), one)
        assert_same_bits(one, _numpy_path(fn, *args))


def test_one_dimensional_pooling():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 17))
    x[0, 0, 4] = np.nan
    for kwargs in [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=4, stride=1, ceil_mode=True)]:
        y, idx = _compiled(pv.max_pool1d, x, **kwargs, return_indices=True)
        y_ref, idx_ref = _numpy_path(pv.max_pool1d, x, **kwargs, return_indices=True)
        assert_same_bits(y, y_ref)
        np.testing.assert_array_equal(idx, idx_ref)
        g = rng.standard_normal(y.shape)
        expected = _numpy_path(pv.max_pool1d_backward, g, x, **kwargs)
        assert_same_bits(_compiled(pv.max_pool1d_backward, g, x, **kwargs), expected)
        assert_same_bits(_compiled(pv.max_pool1d_backward, g, x, **kwargs, indices=idx), expected)
        assert_same_bits(_compiled(pv.avg_pool1d, x, **kwargs), _numpy_path(pv.avg_pool1d, x, **kwargs))
        assert_same_bits(_compiled(pv.avg_pool1d_backward, g, x, **kwargs),
                         _numpy_path(pv.avg_pool1d_backward, g, x, **kwargs))


def test_auto_runs_compiled_where_it_pays_on_a_large_input(monkeypatch):
    from poolviz._fast import compiled

    monkeypatch.delenv("POOLVIZ_COMPILED", raising=False)
    calls = []
    for name in ("max_switches", "max_route", "max_backward_from_x", "avg_window_sum", "avg_spread"):
        original = getattr(compiled, name)
        monkeypatch.setattr(compiled, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 64, 32, 32)).astype(np.float32)  # 2**18 elements
    y, idx = pv.max_pool2d(x, 3, 2, 1, return_indices=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    results = [y, idx, pv.max_pool2d_backward(g, x, 3, 2, 1), pv.max_pool2d_backward(g, x, 3, 2, 1, indices=idx),
               pv.avg_pool2d(x, 3, 2, 1), pv.avg_pool2d_backward(g, x, 3, 2, 1)]
    # the kernels that pay: a window with kernels of its own (3x3, stride 2), the backward from switches, and
    # average pooling's forward and backward on that window
    assert calls == ["max_switches", "max_backward_from_x", "max_route", "avg_window_sum", "avg_spread"]
    calls.clear()
    y33, idx33 = pv.max_pool2d(x, 3, 3, return_indices=True)
    assert pv.max_pool2d_backward(np.ones_like(y33), x, 3, 3).shape == x.shape
    assert calls == ["max_route"]  # a generic window: numpy's forward; from x: numpy's switches, then routed
    calls.clear()
    small = x[:1, :1]
    pv.max_pool2d_backward(np.ones((1, 1, 16, 16), np.float32), small, 2)
    assert calls == []  # a small input stays on numpy
    with paths.use(max_pool="planes", avg_pool="dense"):
        expected = [*pv.max_pool2d(x, 3, 2, 1, return_indices=True), pv.max_pool2d_backward(g, x, 3, 2, 1),
                    pv.max_pool2d_backward(g, x, 3, 2, 1, indices=idx), pv.avg_pool2d(x, 3, 2, 1),
                    pv.avg_pool2d_backward(g, x, 3, 2, 1)]
    for ours, theirs in zip(results, expected):
        assert_same_bits(ours, theirs) if ours.dtype.kind == "f" else np.testing.assert_array_equal(ours, theirs)


def test_the_planes_split_among_threads_give_the_same_bits(monkeypatch):
    """The kernels that run plane after plane (the special windows', the backward from switches) split the
    planes among threads from ``compiled.THREAD_MIN`` elements: the same bits as on one thread, padding included."""
    import numba
    from poolviz._fast import compiled

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((3, 5, 13, 17)), 1).astype(np.float32)  # 15 planes, ties
    cases = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
             dict(kernel_size=3, stride=1, padding=1)]

    def run():
        out = []
        for kwargs in cases:
            y, idx = _compiled(pv.max_pool2d, x, **kwargs, return_indices=True)
            g = rng.standard_normal(y.shape).astype(np.float32)
            out += [y, idx, _compiled(pv.max_pool2d_backward, g, x, **kwargs),
                    _compiled(pv.max_pool2d_backward, g, x, **kwargs, indices=idx)]
        return out

    threads = numba.get_num_threads()
    used = []
    pool = compiled._pool
    monkeypatch.setattr(compiled, "_pool", lambda n: used.append(n) or pool(n))
    try:
        numba.set_num_threads(1)
        state = rng.bit_generator.state
        single = run()
        numba.set_num_threads(2)
        monkeypatch.setattr(compiled, "THREAD_MIN", 0)
        rng.bit_generator.state = state
        several = run()
    finally:
        numba.set_num_threads(threads)
    assert used and set(used) == {2}  # the second run did split the planes
    for one, two in zip(single, several):
        assert one.tobytes() == two.tobytes()
