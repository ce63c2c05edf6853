"""The exercise checkers: solutions pass, each typical mistake fails with the right diagnosis,
and an unsolved exercise reports "not attempted yet" without raising."""
from pathlib import Path

import numpy as np
import pytest

import poolviz as pv
from conftest import worked_solution
from poolviz import exercises as ex
from poolviz.exercises import formulas, pooling
from poolviz.exercises.mistakes import _avg_backward_variant, _max_backward_variant

sol_avg = worked_solution("avg_pool_backward")
sol_maxd = worked_solution("max_derivative")
sol_maxb = worked_solution("max_pool_backward")
sol_maxf = worked_solution("max_pool_forward")
sol_size = worked_solution("output_size")


# ---------------------------------------------------------------- solutions pass

@pytest.mark.parametrize("check, fn", [
    (ex.check_max_pool_backward, sol_maxb.max_pool_backward),
    (ex.check_max_pool_backward, sol_maxb.max_pool_backward_vectorised),
    (ex.check_max_pool_forward, sol_maxf.max_pool_forward),
    (ex.check_avg_pool_backward, sol_avg.avg_pool_backward),
    (ex.check_output_size, sol_size.output_size),
    (ex.check_max_derivative, sol_maxd.max_derivative),
])  # poolviz's own functions fail these checks now: see test_exercises_honesty.py
def test_solutions_pass(check, fn):
    result = check(fn)
    assert result.passed is True, str(result)
    assert bool(result)
    assert "PASSED" in str(result) and "skipped" not in str(result)


def test_the_checkers_mistake_models_are_correct_when_switched_off():
    rng = np.random.default_rng(0)
    for k, s, p, shape in [(2, None, 0, (4, 6)), (3, 1, 0, (5, 5)), (3, 2, 1, (4, 4)), (2, 2, 0, (5, 5))]:
        x = rng.standard_normal(shape)
        y = pv.max_pool2d(x, k, s, p)
        g = rng.standard_normal(y.shape)
        np.testing.assert_allclose(_max_backward_variant(g, x, k, s, p), pv.max_pool2d_backward(g, x, k, s, p))
        np.testing.assert_allclose(_avg_backward_variant(g, x, k, s, p), pv.avg_pool2d_backward(g, x, k, s, p))


# ---------------------------------------------------------------- not attempted

def _stub(*args, **kwargs):
    raise NotImplementedError


def test_not_attempted_yet_with_the_notebook_stub():
    def my_max_pool_backward(grad_output, x, kernel_size, stride=None, padding=0):
        raise NotImplementedError

    result = ex.check_max_pool_backward(my_max_pool_backward)
    assert not result.passed and not result.attempted and "not attempted yet" in str(result)


@pytest.mark.parametrize("check", [ex.check_max_pool_backward, ex.check_max_pool_forward, ex.check_avg_pool_backward,
                                   ex.check_output_size, ex.check_max_derivative])
@pytest.mark.parametrize("fn", [None, _stub, lambda *a, **k: (_ for _ in ()).throw(NotImplementedError())])
def test_not_attempted_yet(check, fn):
    result = check(fn)
    assert result.passed is False and result.attempted is False
    assert "not attempted yet" in str(result)
    assert "not attempted yet" in result._repr_html_()


# ---------------------------------------------------------------- wrong max-pool backwards

def _windows(x, k, s, p):
    H, W = x.shape
    s = k if s is None else s
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    for oh in range(Ho):
        for ow in range(Wo):
            yield oh, ow, [(oh * s - p + jh, ow * s - p + jw) for jh in range(k) for jw in range(k)]


def overwrite(grad_output, x, kernel_size, stride=None, padding=0):
    dx = np.zeros(x.shape)
    for oh, ow, win in _windows(x, kernel_size, stride, padding):
        inside = [(r, c) for r, c in win if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]]
        r, c = max(inside, key=lambda rc: (x[rc], -inside.index(rc)))
        dx[r, c] = grad_output[oh, ow]
    return dx


def buffered_fancy_index(grad_output, x, kernel_size, stride=None, padding=0):
    _, sw = sol_maxf.max_pool_forward(x, kernel_size, stride, padding)
    dx = np.zeros(x.shape)
    dx[sw[..., 0], sw[..., 1]] += grad_output  # the silent bug: repeated indices are written once
    return dx


def all_ties(grad_output, x, kernel_size, stride=None, padding=0):
    y, _ = sol_maxf.max_pool_forward(x, kernel_size, stride, padding)
    dx = np.zeros(x.shape)
    for oh, ow, win in _windows(x, kernel_size, stride, padding):
        for r, c in win:
            if 0 <= r < x.shape[0] and 0 <= c < x.shape[1] and x[r, c] == y[oh, ow]:
                dx[r, c] += grad_output[oh, ow]
    return dx


def split_ties(grad_output, x, kernel_size, stride=None, padding=0):
    y, _ = sol_maxf.max_pool_forward(x, kernel_size, stride, padding)
    dx = np.zeros(x.shape)
    for oh, ow, win in _windows(x, kernel_size, stride, padding):
        tied = [(r, c) for r, c in win if 0 <= r < x.shape[0] and 0 <= c < x.shape[1] and x[r, c] == y[oh, ow]]
        for r, c in tied:
            dx[r, c] += grad_output[oh, ow] / len(tied)
    return dx


def last_tie(grad_output, x, kernel_size, stride=None, padding=0):
    dx = np.zeros(x.shape)
    for oh, ow, win in _windows(x, kernel_size, stride, padding):
        best, where = -np.inf, None
        for r, c in win:
            if 0 <= r < x.shape[0] and 0 <= c < x.shape[1] and x[r, c] >= best:
                best, where = x[r, c], (r, c)
        dx[where] += grad_output[oh, ow]
    return dx


def zero_padding(grad_output, x, kernel_size, stride=None, padding=0):
    xp = np.pad(x, padding)  # zeros: with negative inputs the padding wins
    dxp = sol_maxb.max_pool_backward(grad_output, xp, kernel_size, stride, 0)
    return dxp[padding: padding + x.shape[0], padding: padding + x.shape[1]]


def transposed(grad_output, x, kernel_size, stride=None, padding=0):
    _, sw = sol_maxf.max_pool_forward(x, kernel_size, stride, padding)
    out = np.zeros(x.shape)
    for (oh, ow) in np.ndindex(grad_output.shape):
        r, c = sw[oh, ow]
        out[c, r] += grad_output[oh, ow]  # the bug
    return out


def ones_not_g(grad_output, x, kernel_size, stride=None, padding=0):
    return sol_maxb.max_pool_backward(np.ones_like(grad_output), x, kernel_size, stride, padding)


def skips_last_window(grad_output, x, kernel_size, stride=None, padding=0):
    g = grad_output.copy()
    g[-1, :] = 0
    g[:, -1] = 0
    return sol_maxb.max_pool_backward(g, x, kernel_size, stride, padding)


def ceil_output_size(grad_output, x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    H_out = -(-(x.shape[0] - kernel_size) // s) + 1  # ceil: one window too many when k does not divide
    dx = np.zeros(x.shape)
    for oh in range(H_out):
        for ow in range(H_out):
            dx[oh * s, ow * s] += grad_output[oh, ow]
    return dx


@pytest.mark.parametrize("fn, case, cause", [
    (overwrite, "overlapping windows (kernel 3, stride 1)", "overwriting instead of accumulating"),
    (buffered_fancy_index, "overlapping windows (kernel 3, stride 1)", "overwriting instead of accumulating"),
    (all_ties, "a tie", "every tied maximum received the gradient"),
    (split_ties, "a tie", "split among the tied maxima"),
    (last_tie, "a tie", "the LAST tied maximum won"),
    (zero_padding, "padding 1", "zero padding instead of -inf"),
    (transposed, "square 4x4", "transposed index"),
    (ones_not_g, "one 2x2 window", "instead of the upstream gradient"),
    (skips_last_window, "square 4x4", "off-by-one in the output size"),
    (ceil_output_size, "not divisible", "off-by-one in the output size"),
])
def test_wrong_max_pool_backward_is_diagnosed(fn, case, cause):
    result = ex.check_max_pool_backward(fn)
    assert result.passed is False and result.attempted
    failed = [c for c in result.failed_cases if case in c.name]
    assert failed, str(result)
    assert cause in failed[0].detail, str(result)
    text = str(result)
    assert "expected" in text and ("got" in text or "raised" in text)
    assert "FAILED" in result._repr_html_()


def test_transposed_index_on_non_square_input_is_reported_not_raised():
    result = ex.check_max_pool_backward(transposed)
    case = next(c for c in result.cases if "H != W" in c.name)
    assert case.status == "failed"
    assert "IndexError" in case.detail and "transposed index" in case.detail


def test_keywords_the_function_lacks_are_not_passed_and_their_cases_skipped():
    def no_stride_no_padding(grad_output, x, kernel_size):
        return sol_maxb.max_pool_backward(grad_output, x, kernel_size)

    result = ex.check_max_pool_backward(no_stride_no_padding)
    assert result.passed is True, str(result)
    skipped = [c.name for c in result.cases if c.status == "skipped"]
    assert len(skipped) == 3 and all(("stride" in n) or ("padding" in n) for n in skipped)
    assert "3 skipped" in str(result)


def test_a_function_with_kwargs_receives_every_keyword():
    result = ex.check_max_pool_backward(lambda g, x, k, **kw: sol_maxb.max_pool_backward(g, x, k, **kw))
    assert result.passed and not any(c.status == "skipped" for c in result.cases)


def test_returning_none_is_explained():
    result = ex.check_max_pool_backward(lambda g, x, k: None)
    assert not result.passed
    assert "forget the `return`" in result.failed_cases[0].detail


def test_wrong_shape_is_explained():
    result = ex.check_max_pool_backward(lambda g, x, k: g)
    assert "shape: expected (4, 4), got (2, 2)" in str(result)


def no_bounds_check(grad_output, x, kernel_size, stride=None, padding=0):
    """Indexes x with window coordinates as they come: row -1 silently reads the last row."""
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.shape)
    for oh, ow in np.ndindex(grad_output.shape):
        best, where = -np.inf, None
        for jh in range(kernel_size):
            for jw in range(kernel_size):
                r, c = oh * s - padding + jh, ow * s - padding + jw
                if x[r, c] > best:
                    best, where = x[r, c], (r, c)
        dx[where] += grad_output[oh, ow]
    return dx


def no_bounds_check_forward(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    n = [(L + 2 * padding - kernel_size) // s + 1 for L in x.shape]
    return np.array([[max(x[oh * s - padding + jh, ow * s - padding + jw]
                          for jh in range(kernel_size) for jw in range(kernel_size))
                      for ow in range(n[1])] for oh in range(n[0])])


def test_a_missing_bounds_check_is_caught_and_named():
    for result in (ex.check_max_pool_backward(no_bounds_check), ex.check_max_pool_forward(no_bounds_check_forward)):
        assert not result.passed, str(result)
        failed = result.failed_cases
        assert [c.name for c in failed] == ["padding 1 with an all-negative input (kernel 3, stride 2)"], str(result)
        assert "negative index wrapped around" in failed[0].detail
        assert "skipped (treated as -inf)" in failed[0].detail


def stride_ignored(grad_output, x, kernel_size, stride=None, padding=0):
    dx = np.zeros(x.shape)
    for oh, ow in np.ndindex(grad_output.shape):
        best, where = -np.inf, None
        for jh in range(kernel_size):
            for jw in range(kernel_size):
                r, c = oh - padding + jh, ow - padding + jw  # the bug: oh, not oh * stride
                if 0 <= r < x.shape[0] and 0 <= c < x.shape[1] and x[r, c] > best:
                    best, where = x[r, c], (r, c)
        dx[where] += grad_output[oh, ow]
    return dx


def stride_ignored_avg(grad_output, x, kernel_size, stride=None, padding=0):
    dx = np.zeros(x.shape)
    for oh, ow in np.ndindex(grad_output.shape):
        for jh in range(kernel_size):
            for jw in range(kernel_size):
                r, c = oh - padding + jh, ow - padding + jw  # the bug: oh, not oh * stride
                if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]:
                    dx[r, c] += grad_output[oh, ow] / kernel_size ** 2
    return dx


def stride_ignored_forward(x, kernel_size, stride=None, padding=0):
    """Output size right, windows one step apart."""
    s = kernel_size if stride is None else stride
    n = [(L + 2 * padding - kernel_size) // s + 1 for L in x.shape]
    xp = np.pad(x, padding, constant_values=-np.inf)
    return np.array([[xp[i: i + kernel_size, j: j + kernel_size].max() for j in range(n[1])] for i in range(n[0])])


def stride_one_forward(x, kernel_size, stride=None, padding=0):
    """stride never used at all: output size and windows both with stride 1."""
    return sol_maxf.max_pool_forward(x, kernel_size, 1, padding)[0]


@pytest.mark.parametrize("check, fn", [
    (ex.check_max_pool_backward, stride_ignored),
    (ex.check_avg_pool_backward, stride_ignored_avg),
    (ex.check_max_pool_forward, stride_ignored_forward),
    (ex.check_max_pool_forward, stride_one_forward),
])
def test_an_ignored_stride_is_named(check, fn):
    result = check(fn)
    assert not result.passed
    # every failed case whose details are shown names the cause, not just "first difference at ..."
    shown = [c for c in result.failed_cases][:result.MAX_DETAILS]
    assert shown and all("stride ignored" in c.detail for c in shown), str(result)
    assert "first difference" not in "".join(c.detail for c in shown)


@pytest.mark.parametrize("check, returns, words", [
    (ex.check_max_pool_backward, lambda g, x, k, stride=None, padding=0:
        (sol_maxb.max_pool_backward(g, x, k, stride, padding), np.zeros(g.shape + (2,), int)),
     "returned a tuple of 2 items; return dx only"),
    (ex.check_max_pool_backward, lambda g, x, k, stride=None, padding=0:
        (sol_maxb.max_pool_backward(g, x, k, stride, padding),) * 2, "returned a tuple of 2 items; return dx only"),
    (ex.check_avg_pool_backward, lambda g, x, k, stride=None, padding=0: (g, x), "returned a tuple of 2 items"),
    (ex.check_max_pool_backward, lambda g, x, k, stride=None, padding=0: "dx", "returned a str ('dx')"),
    (ex.check_max_pool_backward, lambda g, x, k, stride=None, padding=0: [[1.0, 2.0], [3.0]],
     "not a rectangular table of numbers"),
    (ex.check_max_pool_forward, lambda x, k, stride=None, padding=0: "y", "returned a str ('y')"),
    (ex.check_max_pool_forward, lambda x, k, stride=None, padding=0: [[1.0], [2.0, 3.0]],
     "not a rectangular table of numbers"),
])
def test_an_answer_of_the_wrong_kind_is_explained_never_raised(check, returns, words):
    result = check(returns)  # must not raise
    assert not result.passed and result.attempted
    assert len(result.failed_cases) == len([c for c in result.cases if c.status != "skipped"])
    assert words in result.failed_cases[0].detail, str(result)
    assert "Traceback" not in str(result)
    result._repr_html_()


def test_a_tuple_is_shown_by_its_items_not_printed_in_full():
    result = ex.check_max_pool_backward(lambda g, x, k: (sol_maxb.max_pool_backward(g, x, k), np.zeros((2, 2, 2))))
    assert "got dx = a tuple of 2 items: an array of shape (2, 2), an array of shape (2, 2, 2)" in str(result)
    assert "array([" not in str(result)


def padding_not_done_yet(grad_output, x, kernel_size, stride=None, padding=0):
    if padding:
        raise NotImplementedError
    return sol_maxb.max_pool_backward(grad_output, x, kernel_size, stride, padding)


def test_a_partial_solution_keeps_its_passed_cases():
    result = ex.check_max_pool_backward(padding_not_done_yet)
    assert result.attempted and not result.passed
    assert "not attempted yet" not in str(result)
    assert [c.status for c in result.cases].count("passed") == 7
    (failed,) = result.failed_cases
    assert "padding 1" in failed.name
    assert "raised NotImplementedError for stride=2, padding=1: not implemented yet" in failed.detail
    assert "1 case(s) raised NotImplementedError" in str(result)


def test_a_partial_max_derivative_keeps_its_passed_cases():
    def no_tie_yet(a, b):
        if a == b:
            raise NotImplementedError
        return (1.0, 0.0) if a > b else (0.0, 1.0)

    result = ex.check_max_derivative(no_tie_yet)
    assert result.attempted and not result.passed
    assert [c.status for c in result.cases] == ["passed"] * 4 + ["failed"]
    assert "not implemented yet" in result.failed_cases[0].detail


@pytest.mark.parametrize("fn, words", [
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False: (L + 2 * padding - dilation * (k - 1) - 1) / s + 1,
     "floor division `//`"),
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False: 2.5, "floor division `//`"),
    (lambda *args, **kw: float(sol_size.output_size(*args, **kw)), "a float: return an int"),
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False: "3", "text, not a number. Return an int"),
    (lambda *args, **kw: str(sol_size.output_size(*args, **kw)), "Return an int"),
])
def test_output_size_of_the_wrong_type_is_explained(fn, words):
    result = ex.check_output_size(fn)
    assert not result.passed, str(result)
    detail = result.failed_cases[0].detail
    assert words in detail, str(result)
    assert "rounded up" not in str(result)


def test_output_size_accepts_a_numpy_integer():
    result = ex.check_output_size(lambda L, k, s, padding=0, dilation=1, ceil_mode=False:
                                  np.int64(sol_size.output_size(L, k, s, padding, dilation, ceil_mode)))
    assert result.passed, str(result)


@pytest.mark.parametrize("fn", [lambda a, b: max(a, b), lambda a, b: float(a >= b), lambda a, b: np.float64(1.0)])
def test_max_derivative_returning_one_number_asks_for_a_pair(fn):
    result = ex.check_max_derivative(fn)
    assert not result.passed and result.attempted
    assert all("return a pair (da, db)" in c.detail for c in result.failed_cases), str(result)


def test_split_ties_message_names_pytorchs_max_pool_rule_not_all_frameworks():
    detail = next(c for c in ex.check_max_pool_backward(split_ties).failed_cases if "a tie" in c.name).detail
    assert "PyTorch's max pooling (the rule these exercises follow)" in detail
    assert "Frameworks" not in detail


# ---------------------------------------------------------------- other checkers

def test_wrong_forwards_are_diagnosed():
    def zero_pad_forward(x, kernel_size, stride=None, padding=0):
        return sol_maxf.max_pool_forward(np.pad(x, padding), kernel_size, stride, 0)

    def ceil_forward(x, kernel_size, stride=None, padding=0):
        s = kernel_size if stride is None else stride
        n = [-(-(L - kernel_size) // s) + 1 for L in x.shape]
        xp = np.pad(x, ((0, kernel_size), (0, kernel_size)), constant_values=-np.inf)
        return np.array([[xp[i * s: i * s + kernel_size, j * s: j * s + kernel_size].max() for j in range(n[1])]
                         for i in range(n[0])])

    def transposed_forward(x, kernel_size, stride=None, padding=0):
        return sol_maxf.max_pool_forward(x.T, kernel_size, stride, padding)[0]

    assert "zero padding instead of -inf" in str(ex.check_max_pool_forward(zero_pad_forward))
    assert "one window too many" in str(ex.check_max_pool_forward(ceil_forward))
    assert "transposed index" in str(ex.check_max_pool_forward(transposed_forward))


def test_wrong_avg_backwards_are_diagnosed():
    def no_divide(g, x, kernel_size, stride=None, padding=0):
        return sol_avg.avg_pool_backward(g, x, kernel_size, stride, padding) * kernel_size ** 2

    def divide_by_k(g, x, kernel_size, stride=None, padding=0):
        return sol_avg.avg_pool_backward(g, x, kernel_size, stride, padding) * kernel_size

    def overwrite_avg(g, x, kernel_size, stride=None, padding=0):
        s = kernel_size if stride is None else stride
        dx = np.zeros(x.shape)
        for i, j in np.ndindex(g.shape):
            for a in range(kernel_size):
                for b in range(kernel_size):
                    r, c = i * s - padding + a, j * s - padding + b
                    if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]:
                        dx[r, c] = g[i, j] / kernel_size ** 2  # = instead of +=
        return dx

    def real_count(g, x, kernel_size, stride=None, padding=0):
        s = kernel_size if stride is None else stride
        dx = np.zeros(x.shape)
        for i, j in np.ndindex(g.shape):
            inside = [(i * s - padding + a, j * s - padding + b) for a in range(kernel_size) for b in range(kernel_size)]
            inside = [(r, c) for r, c in inside if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]]
            for r, c in inside:
                dx[r, c] += g[i, j] / len(inside)  # the real elements only: padding not counted
        return dx

    assert "not divided by the window size" in str(ex.check_avg_pool_backward(no_divide))
    assert "instead of kernel_size**2" in str(ex.check_avg_pool_backward(divide_by_k))
    assert "overwriting instead of accumulating" in str(ex.check_avg_pool_backward(overwrite_avg))
    assert "count_include_pad" in str(ex.check_avg_pool_backward(real_count))


@pytest.mark.parametrize("fn, cause", [
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False: (L + 2 * padding - dilation * (k - 1) - 1) // s,
     "the +1 is missing"),
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False: (L + 2 * padding - k) // s + 1, "dilation ignored"),
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False: (L + padding - dilation * (k - 1) - 1) // s + 1,
     "padding counted once"),
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False: -(-(L + 2 * padding - dilation * (k - 1) - 1) // s) + 1,
     "rounded up instead of down"),
    (lambda L, k, s, padding=0, dilation=1, ceil_mode=False:
        (-(-(L + 2 * padding - dilation * (k - 1) - 1) // s) if ceil_mode else
         (L + 2 * padding - dilation * (k - 1) - 1) // s) + 1, "ceil_mode without its rule"),
])
def test_wrong_output_sizes_are_diagnosed(fn, cause):
    result = ex.check_output_size(fn)
    assert not result.passed and cause in str(result), str(result)


def _every_hint():
    """Every message a checker can print about a case: named mistakes, hints on an error, wrong kinds."""
    cases = (pooling._max_backward_cases() + pooling._max_forward_cases() + pooling._avg_backward_cases()
             + formulas._output_size_cases() + formulas._max_derivative_cases())
    texts = [text for case in cases
             for text in (*case.mistakes, *(m.message for m in case.catalogue), case.on_error, case.on_empty, case.name)]
    texts += [formulas._count_of_windows(v, None) for v in (2.0, 2.5, "2", None, [2])]
    return "\n".join(t for t in texts if t)


def test_hints_name_the_mistake_without_giving_away_the_output_size_formula():
    hints = _every_hint()  # notebook 05 asks the learner to derive this formula
    for formula in ("floor(", "H_out =", "+ 1 of them", "// stride + 1", "/ stride) + 1", "d*(k-1)", "d*(k - 1)"):
        assert formula not in hints, formula
    # still specific enough to act on
    assert "one window too few" in hints and "rounded up" in hints and "must fit inside the padded input" in hints


def test_wrong_max_derivatives_are_diagnosed():
    assert "swapped" in str(ex.check_max_derivative(lambda a, b: (float(b > a), float(a >= b))))
    assert "values, not derivatives" in str(ex.check_max_derivative(lambda a, b: (a, b)))
    both = ex.check_max_derivative(lambda a, b: (float(a >= b), float(b >= a)))
    assert not both.passed and "da + db must be 1" in str(both)
    assert ex.check_max_derivative(lambda a, b: (0.5, 0.5) if a == b else (float(a > b), float(b > a))).passed


def test_display_is_deterministic_text_and_html():
    result = ex.check_max_pool_backward(overwrite)
    assert str(result) == str(ex.check_max_pool_backward(overwrite))
    assert "0x" not in repr(result) and "0x" not in result._repr_html_()
    printed = []
    result._repr_pretty_(type("P", (), {"text": lambda self, t: printed.append(t)})(), False)
    assert printed == [str(result)]


# ---------------------------------------------------------------- the lesson notebooks leave exercises unsolved

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _code_cells(path):
    import json

    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("0*.ipynb")), ids=lambda p: p.name)
def test_lesson_notebook_exercises_are_stored_unsolved(path):
    text = path.read_text()
    assert "## Summary" in text and "## Exercises" in text
    cells = _code_cells(path)
    assert "".join(cells[0]["source"]).startswith("%matplotlib inline")
    for cell in cells:
        source = "".join(cell["source"])
        if "raise NotImplementedError" in source and "check_" in source:
            shown = "".join("".join(o.get("data", {}).get("text/plain", "")) for o in cell["outputs"])
            assert "not attempted yet" in shown, f"{path.name}: an exercise cell is stored solved or failing"
            # not compared by nbval: a learner who solves the exercise changes the output, and must not fail pytest
            assert "NBVAL_CHECK_OUTPUT" not in source, f"{path.name}: an exercise cell's output is compared"
            assert "raises-exception" not in cell.get("metadata", {}).get("tags", [])
