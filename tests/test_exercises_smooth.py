"""check_lse_backward (notebook 07, exercise 1): a right answer passes, each typical mistake fails with its name,
two mistakes together are named together, an answer of the wrong kind is explained in words, poolviz's own
backward is refused, and the stub reports "not attempted yet".

The wrong answers below are written the way a learner would write them, apart from the checker's models.
"""
import itertools
import math

import numpy as np
import pytest

import poolviz as pv
from conftest import worked_solution
from poolviz.exercises import smooth
from poolviz.exercises.report import CheckResult
from poolviz.exercises.smooth import check_lse_backward

solution = worked_solution("lse_pool_backward", "lse_pool_backward")


def _per_window(g, x, k, share, times_g=True):
    """A learner's loop: window (i, j) of x gets share(window) (times g[i, j]); leftovers stay 0."""
    x = np.asarray(x, dtype=float)
    dx = np.zeros(x.shape)
    for i in range(x.shape[0] // k):
        for j in range(x.shape[1] // k):
            window = x[i * k:(i + 1) * k, j * k:(j + 1) * k]
            dx[i * k:(i + 1) * k, j * k:(j + 1) * k] = (g[i, j] if times_g else 1.0) * share(window)
    return dx


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _naive_softmax(z):
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum()


def _details(fn) -> str:
    old, CheckResult.MAX_DETAILS = CheckResult.MAX_DETAILS, 100
    try:
        return str(check_lse_backward(fn))
    finally:
        CheckResult.MAX_DETAILS = old


# ---------------------------------------------------------------- the cases themselves


def test_the_first_case_is_the_hand_worked_one():
    case = smooth._lse_cases()[0]
    g, x, k, beta = case.args
    # exp(2 * log(v) / 2) = v: the weights are 1, 2, 3, 4 over 10, times g = 5
    np.testing.assert_allclose(case.expected, [[0.5, 1.0], [1.5, 2.0]], rtol=1e-12)
    assert (k, beta, g.tolist()) == (2, 2.0, [[5.0]])


def test_the_expected_answers_are_pytorchs():
    torch = pytest.importorskip("torch")
    for case in smooth._lse_cases():
        g, x, k, beta = case.args
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        Ho, Wo = x.shape[0] // k, x.shape[1] // k
        windows = xt[:Ho * k, :Wo * k].reshape(Ho, k, Wo, k).permute(0, 2, 1, 3).reshape(Ho, Wo, k * k)
        y = (torch.logsumexp(beta * windows, dim=-1) - math.log(k * k)) / beta
        (torch.tensor(g) * y).sum().backward()
        np.testing.assert_allclose(case.expected, xt.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=case.name)


def test_the_large_beta_case_really_overflows_and_the_tiny_one_is_not_average_pooling():
    cases = {c.name.split(" ")[0]: c for c in smooth._lse_cases()}
    g, x, k, beta = cases["large"].args
    assert (beta * x).max() > 709.78 and (beta * x).min() < -745   # exp overflows, and underflows to 0
    g, x, k, beta = cases["wide"].args
    windows = x.reshape(1, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 4)
    for shift in (windows.min(axis=1), windows.mean(axis=1), windows[:, 0]):   # some window overflows with each
        assert np.any((beta * (windows - shift[:, None])).max(axis=1) > 709.78)
    g, x, k, beta = cases["tiny"].args
    assert not np.allclose(cases["tiny"].expected, pv.avg_pool2d_backward(g, x, k), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- right answers pass


def _via_forward(grad_output, x, kernel_size, beta):
    """Another right answer: softmax(beta * x)_i = exp(beta * (x_i - y)) / n, with y from poolviz's forward."""
    k = kernel_size
    y = pv.logsumexp_pool2d(x, k, beta=beta)
    Ho, Wo = y.shape
    dx = np.zeros(np.shape(x))
    up = np.kron(y, np.ones((k, k)))
    dx[:Ho * k, :Wo * k] = np.kron(grad_output, np.ones((k, k))) * np.exp(beta * (x[:Ho * k, :Wo * k] - up)) / k**2
    return dx


@pytest.mark.parametrize("fn", [solution, _via_forward])
def test_a_right_answer_passes(fn):
    result = check_lse_backward(fn)
    assert result.passed is True, str(result)
    assert "PASSED all 8 cases" in str(result)


def test_using_the_forward_is_allowed_and_said():
    text = str(check_lse_backward(_via_forward))
    assert "uses poolviz.logsumexp_pool2d: allowed here" in text


def test_the_solution_equals_poolviz_on_random_inputs():
    rng = np.random.default_rng(0)
    for _ in range(100):
        k = int(rng.integers(1, 4))
        H, W = (int(v) for v in rng.integers(k, 9, size=2))
        beta = float(10.0 ** rng.uniform(-3, 2))
        x = rng.standard_normal((H, W)) * 5
        g = rng.standard_normal((H // k, W // k))
        np.testing.assert_allclose(solution(g, x, k, beta), pv.logsumexp_pool2d_backward(g, x, k, beta=beta),
                                   rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- not attempted, honesty


def test_the_stub_is_not_attempted_yet():
    def lse_pool_backward(grad_output, x, kernel_size, beta):
        raise NotImplementedError

    result = check_lse_backward(lse_pool_backward)
    assert result.passed is False and result.attempted is False
    assert "not attempted yet" in str(result)
    assert check_lse_backward(None).attempted is False


def test_calling_poolvizs_backward_fails_every_case():
    result = check_lse_backward(lambda g, x, k, beta: pv.logsumexp_pool2d_backward(g, x, k, beta=beta))
    assert not result.passed
    assert len(result.failed_cases) == 8
    assert "calls poolviz.logsumexp_pool2d_backward" in str(result)


def test_calling_the_checkers_own_model_fails():
    result = check_lse_backward(lambda g, x, k, beta: smooth._lse_backward_model(g, x, k, beta))
    assert not result.passed and "_lse_backward_model" in str(result)


# ---------------------------------------------------------------- each mistake, named


def _no_beta(g, x, k, beta):
    return _per_window(g, x, k, _softmax)


def _temperature(g, x, k, beta):
    return _per_window(g, x, k, lambda w: _softmax(w / beta))


def _times_beta(g, x, k, beta):
    return _per_window(g, x, k, lambda w: beta * _softmax(beta * w))


def _no_g(g, x, k, beta):
    return _per_window(g, x, k, lambda w: _softmax(beta * w), times_g=False)


def _extra_n(g, x, k, beta):
    return _per_window(g, x, k, lambda w: _softmax(beta * w) / w.size)


def _no_shift(g, x, k, beta):
    return _per_window(g, x, k, lambda w: _naive_softmax(beta * w))


def _global_shift(g, x, k, beta):
    top = np.max(x)
    return _per_window(g, x, k, lambda w: _naive_softmax(beta * (w - top)))


def _shifted_by(pick):
    """A learner who subtracts pick(window) before exp: fine in exact arithmetic, unsafe unless it is the maximum."""
    def fn(g, x, k, beta):
        return _per_window(g, x, k, lambda w: _naive_softmax(beta * (w - pick(w))))
    return fn


_min_shift = _shifted_by(np.min)
_mean_shift = _shifted_by(np.mean)
_first_shift = _shifted_by(lambda w: w[0, 0])


def _whole_input(g, x, k, beta):
    x = np.asarray(x, dtype=float)
    weights = _softmax(beta * x)                                  # one softmax over every input
    Ho, Wo = x.shape[0] // k, x.shape[1] // k
    dx = np.zeros(x.shape)
    dx[:Ho * k, :Wo * k] = np.kron(g, np.ones((k, k))) * weights[:Ho * k, :Wo * k]
    return dx


def _max_pooling(g, x, k, beta):
    return pv.max_pool2d_backward(g, x, k)     # poolviz's max backward: refused, so write it out instead


def _first_maximum(g, x, k, beta):
    def one_hot(w):
        share = np.zeros(w.size)
        share[np.argmax(w)] = 1.0
        return share.reshape(w.shape)
    return _per_window(g, x, k, one_hot)


def _tied_only(g, x, k, beta):
    return _per_window(g, x, k, lambda w: (w == w.max()) / np.sum(w == w.max()))


def _average(g, x, k, beta):
    return _per_window(g, x, k, lambda w: np.full(w.shape, 1.0 / w.size))


@pytest.mark.parametrize("fn, message", [
    (_no_beta, smooth._NO_BETA),
    (_temperature, smooth._TEMPERATURE),
    (_times_beta, smooth._TIMES_BETA),
    (_no_g, smooth._NO_G),
    (_extra_n, smooth._EXTRA_N),
    (_no_shift, smooth._NO_SHIFT),
    (_global_shift, smooth._GLOBAL_SHIFT),
    (_min_shift, smooth._SHIFT_MIN),
    (_mean_shift, smooth._SHIFT_MEAN),
    (_first_shift, smooth._SHIFT_FIRST),
    (_whole_input, smooth._WHOLE_INPUT),
    (_first_maximum, smooth._MAX_FIRST),
    (_tied_only, smooth._TIED_ONLY),
    (_average, smooth._UNIFORM),
])
def test_each_mistake_is_named(fn, message):
    result = check_lse_backward(fn)
    assert not result.passed
    text = _details(fn)
    assert f"likely cause: {message}" in text, text
    assert "two mistakes together" not in text, text


@pytest.mark.parametrize("fn, failing", [
    (_no_shift, ["large", "wide"]),
    (_global_shift, ["large"]),
    (_min_shift, ["wide"]),
    (_mean_shift, ["wide"]),
    (_first_shift, ["wide"]),
])
def test_the_overflow_mistakes_fail_only_the_large_beta_cases(fn, failing):
    result = check_lse_backward(fn)
    assert [c.name.split(" ")[0] for c in result.failed_cases] == failing, str(result)


def test_a_shift_other_than_the_maximum_fails_the_reviewers_window():
    # [[0, 20], [0, 0]] at beta = 50: any shift below 20 overflows exp(beta * (20 - c)) once 50 * (20 - c) > 709.78
    x, g = np.array([[0.0, 20.0], [0.0, 0.0]]), np.ones((1, 1))
    for fn in (_min_shift, _mean_shift, _first_shift):
        assert np.isnan(fn(g, x, 2, 50.0)[0, 1])
    np.testing.assert_allclose(solution(g, x, 2, 50.0), [[0.0, 1.0], [0.0, 0.0]], atol=1e-300)


def test_the_wrong_shifts_are_told_apart_on_the_wide_case():
    case = next(c for c in smooth._lse_cases() if c.name.startswith("wide"))
    answers = [case.modelled((case.lookup(m),)) for m in
               (smooth._NO_SHIFT, smooth._SHIFT_MIN, smooth._SHIFT_MEAN, smooth._SHIFT_FIRST)]
    answers.append(case.expected)
    for a, b in itertools.combinations(answers, 2):
        assert not np.allclose(a, b, equal_nan=True)


def test_an_unmodelled_shift_is_told_to_use_the_windows_maximum():
    last = _shifted_by(lambda w: w[-1, -1])   # the last element: no model, the NaN is explained in words
    text = _details(last)
    assert "holds NaN or inf" in text and "each window's own maximum" in text


def test_the_tied_only_rule_differs_from_the_first_maximum_on_the_tie_case():
    tie = next(c for c in smooth._lse_cases() if c.name.startswith("ties"))
    text = _details(_tied_only)
    section = text[text.index(tie.name):]
    assert section.split("likely cause: ", 1)[1].startswith(smooth._TIED_ONLY[:40])


def test_two_mistakes_together_are_named_together():
    def no_shift_and_no_g(g, x, k, beta):
        return _per_window(g, x, k, lambda w: _naive_softmax(beta * w), times_g=False)

    def no_beta_and_no_g(g, x, k, beta):
        return _per_window(g, x, k, _softmax, times_g=False)

    text = _details(no_shift_and_no_g)
    assert "two mistakes together" in text and smooth._NO_SHIFT in text and smooth._NO_G in text
    text = _details(no_beta_and_no_g)
    assert "two mistakes together" in text and smooth._NO_BETA in text and smooth._NO_G in text


def test_a_nan_that_no_model_gives_is_still_explained_as_overflow():
    def log_space_without_shift(g, x, k, beta):
        def share(w):
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                return np.exp(beta * w - np.log(np.exp(beta * w).sum()))   # exp(inf - inf) and log(0): -inf, NaN
        return _per_window(g, x, k, share)

    text = _details(log_space_without_shift)
    assert "holds NaN or inf" in text and "Subtract each window's maximum" in text


def test_shares_that_do_not_add_up_are_explained():
    def half_to_the_maximum(g, x, k, beta):   # the right shares, then the maximum's doubled
        dx = solution(g, x, k, beta)
        out = np.zeros(np.shape(x))
        out += dx
        for i in range(np.shape(x)[0] // k):
            for j in range(np.shape(x)[1] // k):
                w = x[i * k:(i + 1) * k, j * k:(j + 1) * k]
                r, c = np.unravel_index(np.argmax(w), w.shape)
                out[i * k + r, j * k + c] *= 2
        return out

    assert "add up to" in _details(half_to_the_maximum)


def test_a_reshape_without_cropping_is_told_why_it_raised():
    def reshape_everything(g, x, k, beta):
        H, W = x.shape
        w = x.reshape(H // k, k, W // k, k)
        e = np.exp(beta * (w - w.max(axis=(1, 3), keepdims=True)))
        return (g[:, None, :, None] * e / e.sum(axis=(1, 3), keepdims=True)).reshape(H, W)

    text = _details(reshape_everything)
    assert "cannot reshape" in text and "x[:H_out*k, :W_out*k]" in text


@pytest.mark.parametrize("answer, words", [
    (lambda g, x, k, beta: None, "returned None"),
    (lambda g, x, k, beta: (solution(g, x, k, beta), 0), "returned a tuple"),
    (lambda g, x, k, beta: solution(g, x, k, beta)[:-1], "shape: expected"),
])
def test_an_answer_of_the_wrong_kind_is_explained(answer, words):
    assert words in _details(answer)
