"""LogSumExp, SoftPool and stochastic pooling: limits, stability, gradients, sampling."""
from functools import partial

import numpy as np
import pytest

import poolviz as pv
from poolviz.reference import logsumexp_pool2d_loop, soft_pool2d_loop

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 6, 6))


def test_logsumexp_tends_to_mean_and_max():
    np.testing.assert_allclose(pv.logsumexp_pool2d(X, 2, beta=1e-9), pv.avg_pool2d(X, 2), atol=1e-8)
    np.testing.assert_allclose(pv.logsumexp_pool2d(X, 2, beta=1e6), pv.max_pool2d(X, 2), atol=1e-5)
    # the gradient follows: even spread as beta -> 0, one-hot switch as beta -> inf
    g = np.ones((2, 3, 3))
    np.testing.assert_allclose(pv.logsumexp_pool2d_backward(g, X, 2, beta=1e-9), pv.avg_pool2d_backward(g, X, 2),
                               atol=1e-8)
    np.testing.assert_allclose(pv.logsumexp_pool2d_backward(g, X, 2, beta=1e6), pv.max_pool2d_backward(g, X, 2),
                               atol=1e-8)


def test_logsumexp_hand_case_and_reference():
    x = np.array([[0.0, np.log(3.0)], [0.0, 0.0]])  # mean(exp(x)) = (1 + 3 + 1 + 1) / 4 = 1.5
    np.testing.assert_allclose(pv.logsumexp_pool2d(x, 2).item(), np.log(1.5))
    np.testing.assert_allclose(pv.logsumexp_pool2d_backward(np.ones((1, 1)), x, 2), [[1 / 6, 3 / 6], [1 / 6, 1 / 6]])
    np.testing.assert_allclose(pv.logsumexp_pool2d(X, 3, 1, beta=2.5), logsumexp_pool2d_loop(X, 3, 1, beta=2.5),
                               rtol=1e-12)


def test_logsumexp_is_stable_for_large_beta_and_large_inputs():
    x = np.array([[1000.0, 999.0], [-1000.0, 1000.0]])
    y = pv.logsumexp_pool2d(x, 2, beta=50.0)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.item(), 1000 + np.log(2 / 4) / 50, rtol=1e-12)
    dx = pv.logsumexp_pool2d_backward(np.ones((1, 1)), x, 2, beta=50.0)
    np.testing.assert_allclose(dx, [[0.5, 0], [0, 0.5]], atol=1e-20)
    x32 = x.astype(np.float32)
    assert pv.logsumexp_pool2d(x32, 2, beta=1e4).dtype == np.float32
    assert np.isfinite(pv.logsumexp_pool2d(x32, 2, beta=1e4)).all()


def test_logsumexp_nan_and_infinity():
    assert np.isnan(pv.logsumexp_pool2d(np.array([[1.0, np.nan], [0, 0]]), 2)).all()
    assert pv.logsumexp_pool2d(np.array([[1.0, np.inf], [0, 0]]), 2).item() == np.inf
    assert pv.logsumexp_pool2d(np.full((2, 2), -np.inf), 2).item() == -np.inf


@pytest.mark.parametrize("beta", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=(2, 3), stride=(2, 1))])
def test_logsumexp_gradcheck(beta, kwargs):
    result = pv.gradcheck(partial(pv.logsumexp_pool2d, beta=beta, **kwargs), X)
    assert result.passed, str(result)


def test_softpool_hand_case_reference_and_gradcheck():
    x = np.array([[0.0, np.log(3.0)], [0.0, 0.0]])  # weights 1/6, 3/6, 1/6, 1/6
    np.testing.assert_allclose(pv.soft_pool2d(x, 2).item(), 0.5 * np.log(3.0))
    np.testing.assert_allclose(pv.soft_pool2d(X, 3, 2), soft_pool2d_loop(X, 3, 2), rtol=1e-12)
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1)):
        result = pv.gradcheck(partial(pv.soft_pool2d, **kwargs), X)
        assert result.passed, str(result)


def test_stochastic_pool_samples_in_proportion_to_the_values():
    x = np.tile(np.array([[1.0, 3.0], [0.0, 0.0]]), (4000, 1, 1))  # 4000 copies of one window
    values, idx = pv.stochastic_pool2d(x, 2, rng=0)
    share_of_3 = np.mean(values == 3.0)
    assert abs(share_of_3 - 0.75) < 0.03  # 4 standard errors
    assert set(np.unique(idx)) == {0, 1}  # zero-valued elements are never picked
    np.testing.assert_array_equal(values[:, 0, 0], x[:, 0, :].reshape(-1, 2)[np.arange(4000), idx[:, 0, 0]])


def test_stochastic_pool_is_reproducible_and_routes_to_the_sample():
    x = np.abs(X)
    v1, i1 = pv.stochastic_pool2d(x, 2, rng=3)
    v2, i2 = pv.stochastic_pool2d(x, 2, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(i1, i2)
    g = np.arange(1.0, 19).reshape(2, 3, 3)
    dx = pv.stochastic_pool2d_backward(g, x, i1, 2)
    np.testing.assert_array_equal(pv.max_unpool2d(g, i1, 2, output_size=(6, 6)), dx)
    zeros = pv.stochastic_pool2d(np.zeros((4, 4)), 2, rng=0)
    np.testing.assert_array_equal(zeros[0], 0)
    np.testing.assert_array_equal(zeros[1], [[0, 2], [8, 10]])


def test_stochastic_pool_refuses_negative_or_nan():
    with pytest.raises(ValueError, match="non-negative"):
        pv.stochastic_pool2d(-np.ones((2, 2)), 2)
    with pytest.raises(ValueError, match="ReLU"):
        pv.stochastic_pool2d(np.array([[np.nan, 1.0], [1, 1]]), 2)
    with pytest.raises(ValueError, match="inside its own pooling window"):
        pv.stochastic_pool2d_backward(np.ones((1, 2)), np.ones((2, 4)), np.array([[0, 0]]), 2)
    with pytest.raises(TypeError, match="rng"):
        pv.stochastic_pool2d(np.ones((2, 2)), 2, rng="seed")


def test_infinities_take_their_limits_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from 0 * inf or inf / inf
        x = np.array([[1.0, -np.inf], [0.0, 2.0]])
        weights = np.exp([1.0, 0.0, 2.0]) / np.exp([1.0, 0.0, 2.0]).sum()
        np.testing.assert_allclose(pv.soft_pool2d(x, 2).item(), weights @ [1.0, 0.0, 2.0])
        assert pv.soft_pool2d(np.array([[1.0, np.inf], [0, 0]]), 2).item() == np.inf
        assert pv.soft_pool2d(np.full((2, 2), -np.inf), 2).item() == -np.inf
        g = np.ones((1, 1))
        np.testing.assert_array_equal(pv.logsumexp_pool2d_backward(g, np.full((2, 2), -np.inf), 2), np.full((2, 2), 0.25))
        np.testing.assert_array_equal(pv.logsumexp_pool2d_backward(g, np.array([[np.inf, 1.0], [np.inf, 0]]), 2),
                                      [[0.5, 0], [0.5, 0]])
        dx = pv.soft_pool2d_backward(g, x, 2)
        assert np.isfinite(dx).all() and dx[0, 1] == 0


def test_gradients_keep_grad_output_dtype_and_float16_is_summed_in_float32():
    x32 = np.random.default_rng(9).standard_normal((4, 4)).astype(np.float32)
    g64 = np.ones((2, 2))
    for backward in (pv.soft_pool2d_backward, pv.logsumexp_pool2d_backward, pv.max_pool2d_backward,
                     pv.avg_pool2d_backward):
        assert backward(g64, x32, 2).dtype == np.float64, backward.__name__
        assert backward(g64.astype(np.float32), x32.astype(np.float64), 2).dtype == np.float32, backward.__name__
    big = np.full((2, 2), 60000, dtype=np.float16)  # the float16 sum (240000) would overflow to inf
    assert pv.avg_pool2d(big, 2).item() == 60000 and pv.avg_pool2d(big, 2).dtype == np.float16
    assert pv.soft_pool2d(big, 2).dtype == np.float16 and np.isfinite(pv.soft_pool2d(big, 2)).all()


def test_stochastic_refuses_infinity_and_bool_seeds():
    with pytest.raises(ValueError, match="finite"):
        pv.stochastic_pool2d(np.array([[np.inf, 1.0], [1, 1]]), 2)
    with pytest.raises(TypeError, match="bool"):
        pv.stochastic_pool2d(np.ones((2, 2)), 2, rng=True)
