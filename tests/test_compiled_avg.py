"""Average pooling's kernels for the common windows (poolviz._fast._special_avg: 2x2 stride 2, 3x3 stride 2
and stride 1, dilation 1), against the loop reference and the numpy path, bit for bit."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import NEEDS_NUMBA
from test_avg_pool import _with_special_values, assert_same_bits

import poolviz as pv
from poolviz import paths
from poolviz.reference import avg_pool2d_backward_loop, avg_pool2d_loop

pytestmark = NEEDS_NUMBA


def _compiled(fn, *args, **kwargs):
    with paths.use(avg_pool="compiled"):
        return fn(*args, **kwargs)


def _numpy_path(fn, *args, **kwargs):
    with paths.use(avg_pool="offsets"):
        return fn(*args, **kwargs)


@st.composite
def _special_avg_configs(draw):
    """A window with kernels of its own, every padding, ceil_mode, count_include_pad and divisor_override, inputs
    from as small as the window allows to wide enough for interior and borders on every side, leading dims."""
    from poolviz._fast.compiled import SPECIAL_MAX

    k, s = draw(st.sampled_from(sorted(SPECIAL_MAX)))
    p = draw(st.integers(0, k // 2))
    H, W = draw(st.integers(max(1, k - 2 * p), 15)), draw(st.integers(max(1, k - 2 * p), 33))
    kwargs = dict(kernel_size=k, stride=s, padding=p, ceil_mode=draw(st.booleans()),
                  count_include_pad=draw(st.booleans()), divisor_override=draw(st.sampled_from([None, None, 3, -2])))
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 3)]))
    return kwargs, lead + (H, W), draw(st.sampled_from([np.float32, np.float64])), draw(st.integers(0, 2**32 - 1))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf + -inf in the reference
@settings(max_examples=250, deadline=None)
@given(config=_special_avg_configs())
def test_the_special_average_kernels_equal_the_loops_to_the_bit(config):
    kwargs, shape, dtype, seed = config
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(shape), 1).astype(dtype)
    x[rng.random(shape) < 0.2] = -0.0  # windows of -0.0 sum to +0.0 (the sum starts at 0)
    y = _compiled(pv.avg_pool2d, x, **kwargs)
    assert y.dtype == dtype
    assert y.tobytes() == avg_pool2d_loop(x, **kwargs).astype(dtype).tobytes()
    g = np.round(rng.standard_normal(y.shape), 1).astype(dtype)
    g[rng.random(y.shape) < 0.2] = -0.0
    dx = _compiled(pv.avg_pool2d_backward, g, x, **kwargs)
    assert dx.tobytes() == avg_pool2d_backward_loop(g, x, **kwargs).astype(dtype).tobytes()
    xs, gs = _with_special_values(x, rng), _with_special_values(g, rng)  # -0.0, +-inf, NaN
    assert_same_bits(_compiled(pv.avg_pool2d, xs, **kwargs), _numpy_path(pv.avg_pool2d, xs, **kwargs))
    assert_same_bits(_compiled(pv.avg_pool2d_backward, gs, xs, **kwargs),
                     _numpy_path(pv.avg_pool2d_backward, gs, xs, **kwargs))


def test_the_special_average_kernels_take_only_their_windows(monkeypatch):
    """The common windows run the generated kernels, any other geometry the generic loops."""
    from poolviz._fast import _kernels

    made = []
    original = _kernels.avg_special
    monkeypatch.setattr(_kernels, "avg_special", lambda *a, **k: made.append(a) or original(*a, **k))
    x = np.random.default_rng(6).standard_normal((2, 9, 10))
    for k, s in [(2, 2), (3, 2), (3, 1)]:
        assert_same_bits(_compiled(pv.avg_pool2d, x, k, s, 1), _numpy_path(pv.avg_pool2d, x, k, s, 1))
    assert made == [(2, 2), (3, 2), (3, 1)]
    made.clear()
    for args in [((2, 3), 2), (3, 3), (3, (2, 1))]:
        _compiled(pv.avg_pool2d, x, *args)
    assert made == []


def test_auto_takes_the_special_average_kernels_forward_and_backward_from_2_18_elements(monkeypatch):
    """Both passes measured faster than numpy's on these windows (BENCHMARKS.md), so "auto" takes them on large
    inputs, and never on small ones or on other windows."""
    from poolviz import _fast
    from poolviz._fast import _kernels
    from poolviz.geometry import pool_geometry

    monkeypatch.delenv("POOLVIZ_COMPILED", raising=False)
    auto = paths.Paths()
    for k, s in [(2, 2), (3, 2), (3, 1)]:
        geom = pool_geometry((56, 56), k, s)
        for backward in (False, True):
            assert _fast.avg_compiled(2**18, auto, np.float32, geom, backward=backward)
            assert not _fast.avg_compiled(2**18 - 1, auto, np.float32, geom, backward=backward)
        assert not _fast.avg_compiled(2**24, auto, np.float32, pool_geometry((56, 56), 3, 3), backward=True)
    made = []
    original = _kernels.avg_special
    monkeypatch.setattr(_kernels, "avg_special", lambda *a, **kw: made.append((a, kw)) or original(*a, **kw))
    x = np.random.default_rng(7).standard_normal((2, 32, 64, 64)).astype(np.float32)  # 2**18 elements
    g = np.random.default_rng(8).standard_normal((2, 32, 32, 32)).astype(np.float32)
    dx = pv.avg_pool2d_backward(g, x, 2)
    assert made == [((2, 2), {"backward": True})]
    assert_same_bits(dx, _numpy_path(pv.avg_pool2d_backward, g, x, 2))
