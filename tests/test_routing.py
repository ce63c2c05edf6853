"""poolviz.routing against the ops themselves: one entry point, Jacobians, counts, tie policies."""
import numpy as np
import pytest

import poolviz as pv
from poolviz import routing as R
from poolviz.data import example_input

X = example_input("ties", (6, 6))
XP = example_input("relu", (6, 6)) + 0.1  # positive: valid for every op


@pytest.mark.parametrize("op,kw", [
    ("max", {"padding": 1, "dilation": 1, "ceil_mode": True}), ("max", {"dilation": 2}),
    ("avg", {"padding": 1, "count_include_pad": False}), ("lse", {"beta": 3.0}),
    ("lp", {"norm_type": 2.0}), ("soft", {}), ("stochastic", {"rng": 1}),
])
@pytest.mark.parametrize("stride", [1, 2])
def test_contributions_sum_to_the_backward(op, kw, stride):
    g = np.random.default_rng(0).standard_normal(R.run_pool(op, XP, 3, stride, **kw).y.shape)
    run = R.run_pool(op, XP, 3, stride, grad_output=g, **kw)
    c = R.contributions(op, XP, 3, stride, grad_output=g, **kw)
    np.testing.assert_allclose(c.sum(axis=0), run.dx, atol=1e-12)


def test_run_pool_matches_ops():
    run = R.run_pool("max", X, 3, 2, padding=1)
    np.testing.assert_array_equal(run.y, pv.max_pool2d(X, 3, 2, 1))
    np.testing.assert_array_equal(run.dx, pv.max_pool2d_backward(np.ones(run.y.shape), X, 3, 2, 1))
    run = R.run_pool(pv.logsumexp_pool2d, X, 2, beta=0.5)
    np.testing.assert_array_equal(run.dx, pv.logsumexp_pool2d_backward(np.ones((3, 3)), X, 2, beta=0.5))


def test_jacobians_have_the_textbook_shape():
    Jmax = R.jacobian("max", (4, 4), 2)
    assert Jmax.shape == (4, 16) and set(np.unique(Jmax)) == {0.0, 1.0}
    np.testing.assert_array_equal(Jmax.sum(axis=1), 1)
    Javg = R.jacobian("avg", (4, 4), 2)
    np.testing.assert_allclose(Javg.sum(axis=1), 1)
    assert set(np.unique(Javg)) == {0.0, 0.25}


def test_route_counts_overlapping_max():
    x = np.zeros((3, 3))
    x[1, 1] = 9
    np.testing.assert_array_equal(R.route_counts("max", x, 2, 1), [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_unsupported_option_is_named():
    with pytest.raises(ValueError, match="average pooling has no dilation"):
        R.run_pool("avg", X, 2, dilation=2)
    R.run_pool("avg", X, 2, dilation=1)  # neutral values are fine
    R.run_pool("lse", X, 2, padding=(0, 0), dilation=[1, 1], ceil_mode=False)  # as tuples too
    for bad in [{"padding": (0, 1)}, {"dilation": True}, {"ceil_mode": 0}, {"padding": ()}]:
        with pytest.raises(ValueError, match="LogSumExp pooling has no"):
            R.run_pool("lse", X, 2, **bad)
    with pytest.raises(ValueError, match="unknown pooling op"):
        R.run_pool("median", X, 2)


@pytest.mark.parametrize("kw", [{}, {"stride": 1}, {"padding": 1, "stride": 2}, {"dilation": 2, "stride": 1},
                                {"ceil_mode": True, "stride": 2, "kernel_size": 3}])
def test_tie_policies(kw):
    kw = dict({"kernel_size": 2}, **kw)
    first = R.tie_policy_gradients(X, policy="first", **kw)
    ks, rest = kw.pop("kernel_size"), kw
    y = pv.max_pool2d(X, ks, **rest)
    np.testing.assert_array_equal(first, pv.max_pool2d_backward(np.ones(y.shape), X, ks, **rest))
    split = R.tie_policy_gradients(X, ks, policy="split", **rest)
    wrong = R.tie_policy_gradients(X, ks, policy="all", **rest)
    assert np.isclose(split.sum(), y.size) and np.isclose(first.sum(), y.size)
    assert wrong.sum() > y.size  # the ties preset has ties in some window
    # "first" reaches one of each window's tied maxima; "split" and "all" reach every one of them
    assert ((first != 0) <= (split != 0)).all() and np.array_equal(split != 0, wrong != 0)
    assert np.count_nonzero(split) > np.count_nonzero(first)


@pytest.mark.parametrize("policy", R.TIE_POLICIES)
@pytest.mark.parametrize("kw", [{}, {"stride": 1}, {"padding": 1, "stride": 2}, {"dilation": 2, "stride": 1},
                                {"ceil_mode": True, "stride": 2, "kernel_size": 3}])
def test_tie_policy_contributions_are_the_loop_window_by_window(policy, kw):
    kw = dict({"kernel_size": 2}, **kw)
    ks = kw.pop("kernel_size")
    y = pv.max_pool2d(X, ks, **kw)
    g = np.round(np.random.default_rng(0).standard_normal(y.shape), 2)
    c = R.tie_policy_contributions(X, ks, policy=policy, grad_output=g, **kw)
    assert c.shape == (y.size,) + X.shape
    np.testing.assert_array_equal(c.sum(axis=0), R.tie_policy_gradients(X, ks, policy=policy, grad_output=g, **kw))
    unit = R.tie_policy_contributions(X, ks, policy=policy, **kw)
    if policy == "first":  # one input per window: the op's own Jacobian
        np.testing.assert_array_equal(unit, R.contributions("max", X, ks, **kw))
    elif policy == "split":  # shares of one window add up to its gradient
        np.testing.assert_allclose(unit.sum(axis=(1, 2)), 1.0)
    else:  # every tied maximum gets 1: as many as the ties
        np.testing.assert_array_equal(unit.sum(axis=(1, 2)), np.count_nonzero(unit, axis=(1, 2)))


def test_tie_policy_contributions_one_tied_window():
    x = np.array([[2.0, 0.0, 2.0], [1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(R.tie_policy_contributions(x, (2, 3), policy="split")[0],
                                  [[1 / 3, 0, 1 / 3], [0, 1 / 3, 0]])
    with pytest.raises(ValueError, match="policy must be one of"):
        R.tie_policy_contributions(x, 2, policy="last")


@pytest.mark.parametrize("fn", [R.tie_policy_gradients, R.tie_policy_contributions])
@pytest.mark.parametrize("policy", R.TIE_POLICIES)
@pytest.mark.parametrize("where, kw", [
    ((0, 0), {"padding": 1, "stride": 1}),  # first member of a window: "first" raised IndexError
    ((1, 1), {"padding": 1, "stride": 1}),  # slot 0 is padding at (-1, -1): wrapped to the last input
    ((2, 3), {}),                           # NaN beside real values: nothing counted as tied
])
def test_tie_rules_refuse_a_window_with_nan(fn, policy, where, kw):
    x = np.arange(16.0).reshape(4, 4)
    x[where] = np.nan
    with pytest.raises(ValueError, match="a window with NaN has no tie to break: max pooling propagates NaN"):
        fn(x, 3 if kw else 2, policy=policy, **kw)


def test_tie_rules_ignore_a_nan_that_no_window_reads():
    x = np.arange(25.0).reshape(5, 5)
    x[4, 4] = np.nan  # 5x5 with kernel 2: row 4 and column 4 are in no window
    for policy in R.TIE_POLICIES:
        np.testing.assert_array_equal(R.tie_policy_gradients(x, 2, policy=policy), pv.max_pool2d_backward(
            np.ones((2, 2)), x, 2))
        np.testing.assert_array_equal(R.tie_policy_contributions(x, 2, policy=policy).sum(axis=0),
                                      R.tie_policy_gradients(x, 2, policy=policy))


def test_gradient_sum_check_both_directions():
    assert R.gradient_sum_check(np.full((2, 2), 0.25), [[1.0]]) == ("sum of dx = 1 = upstream 1", True)
    assert R.gradient_sum_check(np.ones((2, 2)), [[1.0]]) == ("sum of dx = 4 > upstream 1: not a gradient", False)
    # every tie given the full gradient: with a negative upstream the sum falls short
    dx = R.tie_policy_gradients(np.zeros((2, 2)), 2, policy="all", grad_output=[[-1.0]])
    assert R.gradient_sum_check(dx, [[-1.0]]) == ("sum of dx = -4 < upstream -1: not a gradient", False)
    # the short form, for a picture's title
    assert R.gradient_sum_check(dx, [[-1.0]], short=True) == ("sum -4 < upstream -1: wrong", False)
    assert R.gradient_sum_check(np.full((2, 2), 0.25), [[1.0]], short=True) == ("sum 1 = upstream 1", True)


@pytest.mark.parametrize("indices, error, match", [
    ([[0, 2], [8, 16]], ValueError, "does not point inside its own pooling window"),  # 16 is past the input
    ([[0, 2], [8, 99]], ValueError, "does not point inside its own pooling window"),
    ([[0.0, 2.0], [8.0, 10.0]], TypeError, "integer array"),
    ([[0, 2, 0], [8, 10, 0]], ValueError, "indices has shape"),
])
def test_run_pool_checks_given_stochastic_indices_before_gathering(indices, error, match):
    x = np.arange(16.0).reshape(4, 4)
    with pytest.raises(error, match=match):
        R.run_pool("stochastic", x, 2, indices=np.array(indices))
    run = R.run_pool("stochastic", x, 2, indices=np.array([[0, 2], [8, 10]]))  # valid: the top-left of each window
    np.testing.assert_array_equal(run.y, [[0.0, 2.0], [8.0, 10.0]])


def test_only_known_options_may_be_none():
    with pytest.raises(ValueError, match="'paddin' is not an option of any pooling op .did you mean 'padding'"):
        R.run_pool("lse", X, 2, paddin=None)
    with pytest.raises(ValueError, match="'colour' is not an option"):
        R.run_pool("max", X, 2, colour=None)
    R.run_pool("lse", X, 2, padding=None, divisor_override=None)  # options of other ops, left unset: harmless


def test_format_value():
    assert [R.format_value(v) for v in (0, 3.0, -2, 0.25, 1 / 3, 1e-4, -np.inf, np.nan)] == [
        "0", "3", "-2", "0.25", "0.33", "1e-4", "-inf", "nan"]
    # tiny values keep one significant digit, however tiny: never a bare "0" for a value that is not 0
    assert [R.format_value(v) for v in (1e-10, -3e-12, 4.9e-3, 5e-3)] == ["1e-10", "-3e-12", "5e-3", "0.01"]
    # large values stay short enough for a cell
    assert [R.format_value(v) for v in (9999.0, 1e4, 1e5, 123456.7, -2.5e6)] == [
        "9999", "1e+04", "1e+05", "1.23e+05", "-2.5e+06"]


def test_all_lists_the_tie_policies():
    assert {"TIE_POLICIES", "gradient_sum_check", "format_value"} <= set(R.__all__)
    assert all(hasattr(R, name) for name in R.__all__)


def test_fraction_reached():
    assert R.fraction_reached(np.array([[0.0, 1.0], [0.0, 0.0]])) == 0.25


def test_old_sparsity_name_explains_the_rename():
    with pytest.raises(AttributeError, match="fraction_reached"):
        R.sparsity
