"""check_safe_step (notebook 06, exercise 1): a right answer passes, each typical mistake fails with its name,
an answer of the wrong kind is explained in words, and the stub reports "not attempted yet"."""
import math

import numpy as np
import pytest

from conftest import worked_solution
from poolviz.exercises import steps
from poolviz.exercises.steps import check_safe_step

solution = worked_solution("safe_step", "safe_step")


def _windows(x, k, stride=None, padding=0, *, pad_value=None, wrap=False, step=None, last=0):
    """The values of every window, as a learner's loop would collect them (written apart from the checker)."""
    s = k if stride is None else stride
    step = s if step is None else step
    H, W = x.shape
    Ho, Wo = (H + 2 * padding - k) // step + 1 - last, (W + 2 * padding - k) // step + 1 - last
    for oh in range(Ho):
        for ow in range(Wo):
            values = []
            for r in range(oh * step - padding, oh * step - padding + k):
                for c in range(ow * step - padding, ow * step - padding + k):
                    if 0 <= r < H and 0 <= c < W or wrap:
                        values.append(x[r, c])
                    elif pad_value is not None:
                        values.append(pad_value)
            yield np.sort(values)


def _min_gap(windows, *, single=None):
    gaps = [v[-1] - v[-2] if len(v) >= 2 else single for v in windows]
    gaps = [g for g in gaps if g is not None]
    return min(gaps) if gaps else math.inf


# ---------------------------------------------------------------- right answers pass


def test_the_cases_expect_the_hand_derived_steps():
    # worked by hand from each case's windows (steps.py lists the gaps of the 4x6 case beside it)
    assert [c.expected for c in steps._safe_step_cases()] == [3.0, 0.5, 0.0, 0.25, 2.0, math.inf, 3.75]


@pytest.mark.parametrize("fn", [solution,  # (steps._safe_step_reference calls poolviz: the honesty rule fails it)
                                lambda x, kernel_size, stride=None, padding=0: np.float64(
                                    solution(x, kernel_size, stride, padding))])
def test_a_right_answer_passes(fn):
    result = check_safe_step(fn)
    assert result.passed is True, str(result)
    assert "PASSED all 7 cases" in str(result)


def test_the_solution_equals_the_reference_on_random_inputs():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        H, W = (int(v) for v in rng.integers(k, 8, size=2))
        x = rng.integers(-3, 4, (H, W)).astype(float)  # few values: ties are common
        assert solution(x, k, s, p) == steps._safe_step_reference(x, k, s, p)


# ---------------------------------------------------------------- not attempted, partial, skipped


def test_the_stub_is_not_attempted_yet():
    def safe_step(x, kernel_size, stride=None):
        raise NotImplementedError

    result = check_safe_step(safe_step)
    assert result.passed is False and result.attempted is False
    assert "not attempted yet" in str(result)
    assert check_safe_step(None).attempted is False


def test_a_function_without_padding_skips_only_the_padding_case():
    result = check_safe_step(lambda x, kernel_size, stride=None: solution(x, kernel_size, stride))
    assert result.passed
    assert [c.status for c in result.cases].count("skipped") == 1
    assert "takes no padding keyword" in result.cases[-1].detail


# ---------------------------------------------------------------- each mistake is named


def half(x, kernel_size, stride=None, padding=0):
    return solution(x, kernel_size, stride, padding) / 2


def max_minus_min(x, kernel_size, stride=None, padding=0):
    spreads = [v[-1] - v[0] for v in _windows(x, kernel_size, stride, padding) if len(v) >= 2]
    return min(spreads) if spreads else math.inf


def largest_gap(x, kernel_size, stride=None, padding=0):
    gaps = [v[-1] - v[-2] for v in _windows(x, kernel_size, stride, padding) if len(v) >= 2]
    return max(gaps) if gaps else math.inf


def distinct_values(x, kernel_size, stride=None, padding=0):
    return _min_gap(np.unique(v) for v in _windows(x, kernel_size, stride, padding))


def whole_input(x, kernel_size, stride=None, padding=0):
    top = np.sort(x, axis=None)
    return top[-1] - top[-2]


def stride_ignored(x, kernel_size, stride=None, padding=0):
    return _min_gap(_windows(x, kernel_size, None, padding))


def stride_one(x, kernel_size, stride=None, padding=0):
    return _min_gap(_windows(x, kernel_size, stride, padding, step=1))


def zero_padding(x, kernel_size, stride=None, padding=0):
    return _min_gap(_windows(x, kernel_size, stride, padding, pad_value=0.0))


def padding_ignored(x, kernel_size, stride=None, padding=0):
    return _min_gap(_windows(x, kernel_size, stride, 0))


def wraps_around(x, kernel_size, stride=None, padding=0):
    return _min_gap(_windows(x, kernel_size, stride, padding, wrap=True))


def single_input_is_gap_0(x, kernel_size, stride=None, padding=0):
    return _min_gap(_windows(x, kernel_size, stride, padding), single=0.0)


def last_windows_skipped(x, kernel_size, stride=None, padding=0):
    return _min_gap(_windows(x, kernel_size, stride, padding, last=1))


@pytest.mark.parametrize("fn, case, words", [
    (half, "one 2x2 window", "half the smallest gap"),
    (max_minus_min, "one 2x2 window", "maximum minus its smallest input"),
    (largest_gap, "six 2x2 windows", "the largest gap over the windows"),
    (distinct_values, "a tie", "*distinct* value"),
    (whole_input, "six 2x2 windows", "two largest values of the whole input"),
    (stride_ignored, "overlapping windows", "the stride is ignored"),
    (stride_ignored, "stride 3 > kernel 2", "the stride is ignored"),
    (stride_one, "stride 3 > kernel 2", "start at every position (stride 1)"),
    (zero_padding, "padding 1", "max pooling pads with -inf"),
    (padding_ignored, "padding 1", "padding accepted but ignored"),
    (wraps_around, "padding 1", "x[-1] is the last"),
    (single_input_is_gap_0, "kernel 1", "no runner-up"),
    (single_input_is_gap_0, "padding 1", "no runner-up"),
    (last_windows_skipped, "six 2x2 windows", "the last row and column of windows are missing"),
])
def test_a_mistake_is_named(fn, case, words):
    result = check_safe_step(fn)
    assert not result.passed
    failed = {c.name.split(":")[0]: c for c in result.failed_cases}
    hits = [c for name, c in failed.items() if name.startswith(case)]
    assert hits, f"{case!r} did not fail:\n{result}"
    assert "likely cause" in hits[0].detail and words in hits[0].detail, hits[0].detail


# ---------------------------------------------------------------- answers of the wrong kind


@pytest.mark.parametrize("fn, case, words", [
    (lambda x, kernel_size, stride=None, padding=0: None, "one 2x2 window", "forget the `return`"),
    (lambda x, kernel_size, stride=None, padding=0: (None if kernel_size == 1 else solution(x, kernel_size, stride,
                                                                                              padding)),
     "kernel 1", "return math.inf"),
    (lambda x, kernel_size, stride=None, padding=0: -solution(x, kernel_size, stride, padding), "one 2x2 window",
     "never negative"),
    (lambda x, kernel_size, stride=None, padding=0: np.array([v[-1] - v[-2] for v in _windows(
        x, kernel_size, stride, padding)]), "six 2x2 windows", "return one number, the smallest gap"),
    (lambda x, kernel_size, stride=None, padding=0: "0.5", "one 2x2 window", "text, not a number"),
    (lambda x, kernel_size, stride=None, padding=0: float("nan"), "one 2x2 window", "NaN"),
])
def test_an_answer_of_the_wrong_kind_is_explained(fn, case, words):
    result = check_safe_step(fn)
    assert not result.passed
    hit = next(c for c in result.failed_cases if c.name.startswith(case))
    assert words in hit.detail, hit.detail


def test_a_crash_on_a_window_of_one_input_gets_a_hint():
    def crashes(x, kernel_size, stride=None, padding=0):
        return min(v[-1] - v[-2] for v in _windows(x, kernel_size, stride, padding))  # IndexError on one input

    result = check_safe_step(crashes)
    hit = next(c for c in result.failed_cases if c.name.startswith("kernel 1"))
    assert "raised IndexError" in hit.detail and "no runner-up" in hit.detail


def test_the_report_is_deterministic_text():
    assert str(check_safe_step(half)) == str(check_safe_step(half))
    assert "0x" not in check_safe_step(half)._repr_html_()


def test_safe_step_may_use_the_forward_but_not_gradcheck():
    import poolviz as pv
    from poolviz.exercises import check_safe_step

    def via_gradcheck(x, kernel_size, stride=None, padding=0):
        pv.gradcheck(lambda v: pv.max_pool2d(v, kernel_size, stride, padding), x)
        return 0.0

    report = str(check_safe_step(via_gradcheck))
    assert "poolviz.gradcheck" in report and "write it yourself" in report
