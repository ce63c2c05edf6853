"""Output sizes, window geometry, and the error messages for bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poolviz as pv


@pytest.mark.parametrize("L, k, s, p, d, ceil, expected", [
    (4, 2, 2, 0, 1, False, 2),
    (5, 2, 2, 0, 1, False, 2),   # the remainder is dropped
    (5, 2, 2, 0, 1, True, 3),    # ceil_mode keeps a partial window
    (5, 2, 2, 1, 1, True, 3),    # not 4: the 4th window would start in the right padding
    (6, 3, 2, 1, 1, True, 4),    # floor((6+2-3+1)/2)+1 = 4; last start 6 < 6+1, so kept
    (6, 3, 2, 1, 1, False, 3),
    (7, 3, 2, 0, 2, False, 2),   # dilation 2 spans 5
    (3, 3, 1, 1, 1, False, 3),   # "same" pooling
    (5, 2, 3, 0, 1, False, 2),   # gaps between windows
    (1, 1, 1, 0, 1, False, 1),
    (2, 3, 1, 0, 1, False, 0),   # does not fit
])
def test_output_size_hand_cases(L, k, s, p, d, ceil, expected):
    assert pv.output_size(L, k, s, p, d, ceil) == expected


def test_geometry_objects():
    g = pv.pool_geometry((5, 7), (2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True)
    assert g.out_shape == (3, 3)
    np.testing.assert_array_equal(g.h.starts, [-1, 1, 3])
    np.testing.assert_array_equal(g.w.coords(), [[0, 2, 4], [1, 3, 5], [2, 4, 6]])
    assert list(g.offsets())[:4] == [(0, 0), (0, 1), (0, 2), (1, 0)]


X = np.zeros((4, 4))


@pytest.mark.parametrize("call, error, words", [
    (lambda: pv.max_pool2d(X, 0), ValueError, "kernel_size must be positive"),
    (lambda: pv.max_pool2d(X, 2, stride=0), ValueError, "stride must be positive"),
    (lambda: pv.max_pool2d(X, 2, stride=-1), ValueError, "stride must be positive"),
    (lambda: pv.max_pool2d(X, 2, dilation=0), ValueError, "dilation must be positive"),
    (lambda: pv.max_pool2d(X, 2, padding=-1), ValueError, "padding must be zero or positive"),
    (lambda: pv.max_pool2d(X, 3, padding=2), ValueError, "at most half the kernel"),
    (lambda: pv.avg_pool2d(X, (2, 4), padding=(1, 3)), ValueError, "along the columns"),
    (lambda: pv.max_pool2d(X, 3, padding=1, dilation=3), ValueError, "at most half the kernel|holds only padding|does not fit"),
    (lambda: pv.max_pool2d(np.zeros((2, 2)), (1, 2), stride=1, padding=(0, 1), dilation=(1, 3)), ValueError, "holds only padding"),
    (lambda: pv.max_pool2d(X, 5), ValueError, "does not fit"),
    (lambda: pv.avg_pool2d(X, 3, stride=1, ceil_mode=1), TypeError, "ceil_mode"),
    (lambda: pv.max_pool2d(np.zeros(4), 2), ValueError, r"shape \(\.\.\., H, W\)"),
    (lambda: pv.max_pool1d(np.float64(3.0), 2), ValueError, r"shape \(\.\.\., L\)"),
    (lambda: pv.max_pool2d(X, 2.5), TypeError, "kernel_size must be an int"),
    (lambda: pv.max_pool2d(X, (2, 2, 2)), TypeError, "2-d pool takes 2 values"),
    (lambda: pv.max_pool2d(X, True), TypeError, "bool"),
    (lambda: pv.max_pool2d(X.astype(complex), 2), TypeError, "complex"),
    (lambda: pv.max_pool2d(np.array([["a", "b"], ["c", "d"]]), 2), TypeError, "numeric"),
    (lambda: pv.max_pool2d(X > 0, 2), TypeError, "boolean"),
    (lambda: pv.max_pool2d([[1, 2], [3]], 1), TypeError, "numeric array"),
    (lambda: pv.max_pool2d_backward(np.ones((3, 3)), X, 2), ValueError, r"grad_output has shape \(3, 3\).*\(2, 2\)"),
    (lambda: pv.avg_pool2d_backward(np.ones(2), X, 2), ValueError, "grad_output has shape"),
    (lambda: pv.max_pool1d_backward(np.ones(3), np.ones(4), 2), ValueError, "grad_output has shape"),
    (lambda: pv.avg_pool2d(X, 2, divisor_override=0), ValueError, "divisor_override must not be zero"),
    (lambda: pv.lp_pool2d(X, 0, 2), ValueError, "norm_type must be positive"),
    (lambda: pv.lp_pool2d(X, -1.5, 2), ValueError, "norm_type must be positive"),
    (lambda: pv.lp_pool2d(X, np.inf, 2), ValueError, "max_pool2d"),
    (lambda: pv.logsumexp_pool2d(X, 2, beta=0), ValueError, "beta must be positive"),
    (lambda: pv.logsumexp_pool2d(X, 2, beta=-1.0), ValueError, "beta must be positive"),
    (lambda: pv.soft_pool2d_backward(np.ones((1, 1)), X, 2), ValueError, "grad_output has shape"),
    (lambda: pv.max_unpool2d(np.ones((2, 2)), np.array([[0, 1], [2, 99]]), 2), ValueError, "indices must lie in 0..15"),
    (lambda: pv.max_unpool2d(np.ones((2, 2)), np.array([[0, 1], [2, -1]]), 2), ValueError, "indices must lie in"),
    (lambda: pv.max_unpool2d(np.ones((2, 2)), np.zeros((2, 3), int), 2), ValueError, "indices has shape"),
    (lambda: pv.max_unpool2d(np.ones((2, 2)), np.zeros((2, 2)), 2), TypeError, "integer array"),
    (lambda: pv.max_unpool2d(np.ones((2, 2)), np.zeros((2, 2), int), 2, output_size=(9, 4)), ValueError, "output_size height 9"),
    (lambda: pv.max_unpool2d(np.ones((2, 2)), np.zeros((2, 2), int), 2, output_size=4), TypeError, "tuple"),
    (lambda: pv.output_size(4, 2, 0), ValueError, "stride must be at least 1"),
    (lambda: pv.output_size(4, 0, 1), ValueError, "kernel must be at least 1"),
    (lambda: pv.output_size(-3, 2, 1), ValueError, "length must be at least 0"),
    (lambda: pv.output_size(4, 2.0, 1), TypeError, "kernel must be an int"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


ANY_INT = st.one_of(st.integers(-2, 6), st.tuples(st.integers(-2, 6), st.integers(-2, 6)))


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(["max", "avg", "lp", "lse", "soft"]), h=st.integers(1, 6), w=st.integers(1, 6),
       k=ANY_INT, s=st.one_of(st.none(), ANY_INT), p=ANY_INT, d=ANY_INT, ceil=st.booleans())
def test_any_arguments_give_a_result_or_a_clear_error(op, h, w, k, s, p, d, ceil):
    """Arbitrary (often invalid) arguments never escape as IndexError or a numpy broadcasting error."""
    x = np.random.default_rng(0).standard_normal((h, w))
    calls = {
        "max": lambda: pv.max_pool2d_backward(np.ones(pv.max_pool2d(x, k, s, p, d, ceil).shape), x, k, s, p, d, ceil),
        "avg": lambda: pv.avg_pool2d_backward(np.ones(pv.avg_pool2d(x, k, s, p, ceil).shape), x, k, s, p, ceil),
        "lp": lambda: pv.lp_pool2d(np.abs(x), 2, k, s, ceil),
        "lse": lambda: pv.logsumexp_pool2d(x, k, s),
        "soft": lambda: pv.soft_pool2d(x, k, s),
    }
    try:
        calls[op]()
    except (ValueError, TypeError) as err:
        message = str(err)
        assert len(message) > 30 and ("must" in message or "does not fit" in message or "padding" in message), message


def test_an_empty_batch_gives_empty_results():
    x, g = np.zeros((0, 4, 4)), np.zeros((0, 2, 2))
    y, idx = pv.max_pool2d(x, 2, return_indices=True)
    assert y.shape == idx.shape == (0, 2, 2)
    for dx in (pv.max_pool2d_backward(g, x, 2), pv.max_pool2d_backward(g, x, 2, indices=idx),
               pv.avg_pool2d_backward(g, x, 2), pv.lp_pool2d_backward(g, x, 2, 2),
               pv.logsumexp_pool2d_backward(g, x, 2), pv.soft_pool2d_backward(g, x, 2),
               pv.max_unpool2d(y, idx, 2), pv.stochastic_pool2d_backward(g, x, idx, 2)):
        assert dx.shape == (0, 4, 4)
    assert pv.stochastic_pool2d(x, 2, rng=0)[0].shape == (0, 2, 2)
