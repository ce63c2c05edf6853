"""Honest checking: a learner's function that lets poolviz do the exercise fails, and says why, however poolviz
was reached; what a checker allows passes, and is named in the report."""
import functools
import sys
import types

import numpy as np
import pytest

import poolviz as pv
import poolviz.reference
import poolviz.routing
from conftest import worked_solution
from poolviz import exercises as ex
from poolviz import max_pool2d_backward  # bound before the check: patching poolviz's attributes cannot see it
from poolviz.exercises.honesty import Calls, Policy, call_watched
from poolviz.exercises.mistakes import _max_backward_variant

sol_maxb = worked_solution("max_pool_backward")
sol_maxf = worked_solution("max_pool_forward")


def _copied(fn):
    """The same code under another function object and globals: a copy, not poolviz's function object."""
    copy = types.FunctionType(fn.__code__, dict(fn.__globals__), "my_backward", fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


@pytest.mark.parametrize("fn, name", [
    (pv.max_pool2d_backward, "poolviz.max_pool2d_backward"),
    (lambda g, x, k, stride=None, padding=0: max_pool2d_backward(g, x, k, stride, padding),
     "poolviz.max_pool2d_backward"),
    (lambda g, x, k, stride=None, padding=0: pv.max_pool2d_backward(g, x, k, stride=stride, padding=padding),
     "poolviz.max_pool2d_backward"),
    (functools.partial(max_pool2d_backward), "poolviz.max_pool2d_backward"),
    (_copied(pv.max_pool2d_backward), "poolviz.max_pool2d_backward"),
    (lambda g, x, k, stride=None, padding=0: pv.backward_of(pv.max_pool2d)(g, x, k, stride, padding),
     "poolviz.backward_of"),
    (lambda g, x, k, stride=None, padding=0: poolviz.reference.max_pool2d_backward_loop(g, x, k, stride, padding),
     "poolviz.reference.max_pool2d_backward_loop"),
    (lambda g, x, k, stride=None, padding=0: _max_backward_variant(g, x, k, stride, padding),
     "poolviz.exercises.mistakes._max_backward_variant"),
])
def test_a_backward_that_calls_poolviz_fails_and_says_so(fn, name):
    result = ex.check_max_pool_backward(fn)
    assert result.attempted and not result.passed
    assert len(result.failed_cases) == len(result.cases)
    detail = result.failed_cases[0].detail
    assert detail.startswith(f"your function calls {name}") and "the exercise is to write it yourself." in detail
    assert "poolviz's own implementation" in str(result) and "Allowed here: poolviz.max_pool2d" in str(result)


def test_the_backward_may_take_its_switches_from_poolvizs_forward_and_the_report_says_so():
    def routing_only(grad_output, x, kernel_size, stride=None, padding=0):
        _, idx = pv.max_pool2d(x, kernel_size, stride, padding, return_indices=True)
        dx = np.zeros(x.shape)
        np.add.at(dx, np.divmod(idx, x.shape[1]), grad_output)
        return dx

    result = ex.check_max_pool_backward(routing_only)
    assert result.passed, str(result)
    assert "your function uses poolviz.max_pool2d: allowed here, since this exercise is the routing" in str(result)
    assert "check_max_pool_forward checks a forward of your own" in str(result)


def test_a_solution_of_ones_own_gets_no_note():
    result = ex.check_max_pool_backward(sol_maxb.max_pool_backward)
    assert result.passed and "poolviz" not in str(result)


@pytest.mark.parametrize("check, fn, name", [
    (ex.check_max_pool_forward, pv.max_pool2d, "poolviz.max_pool2d"),
    (ex.check_max_pool_forward, lambda x, k, stride=None, padding=0: poolviz.reference.max_pool2d_loop(
        x, k, stride, padding)[0], "poolviz.reference.max_pool2d_loop"),
    (ex.check_avg_pool_backward, pv.avg_pool2d_backward, "poolviz.avg_pool2d_backward"),
    (ex.check_output_size, pv.output_size, "poolviz.output_size"),
    (ex.check_output_size, lambda L, k, s, padding=0, dilation=1, ceil_mode=False:
        pv.pool_geometry((L, L), k, s, padding, dilation, ceil_mode).out_shape[0], "poolviz.pool_geometry"),
    (ex.check_output_size, lambda L, k, s, padding=0, dilation=1, ceil_mode=False:
        pv.max_pool1d(np.zeros(L), k, s, padding, dilation, ceil_mode).shape[0], "poolviz.max_pool1d"),
    (ex.check_max_derivative, lambda a, b: tuple(pv.max_pool1d_backward(np.ones(1), np.array([a, b]), 2)),
     "poolviz.max_pool1d_backward"),
])
def test_every_checker_notices_poolviz_doing_its_exercise(check, fn, name):
    result = check(fn)
    assert result.attempted and not result.passed
    assert all(f"your function calls {name}" in c.detail for c in result.failed_cases), str(result)


def test_what_each_checker_allows():
    def forward_with_poolvizs_output_size(x, kernel_size, stride=None, padding=0):
        y, _ = sol_maxf.max_pool_forward(x, kernel_size, stride, padding)
        assert y.shape[0] == pv.output_size(x.shape[0], kernel_size, stride or kernel_size, padding)
        return y

    assert ex.check_max_pool_forward(forward_with_poolvizs_output_size).passed

    def avg_backward_by_linearity(grad_output, x, kernel_size, stride=None, padding=0):
        """Average pooling is linear: dx[r, c] = sum(g * avg_pool2d(e_rc)), from the forward alone."""
        dx = np.zeros(x.shape)
        for r, c in np.ndindex(x.shape):
            e = np.zeros(x.shape)
            e[r, c] = 1.0
            dx[r, c] = np.sum(grad_output * pv.avg_pool2d(e, kernel_size, stride, padding))
        return dx

    result = ex.check_avg_pool_backward(avg_backward_by_linearity)
    assert result.passed and "your function uses poolviz.avg_pool2d: allowed here" in str(result), str(result)


def test_only_the_cases_that_call_poolviz_fail():
    def padding_by_poolviz(grad_output, x, kernel_size, stride=None, padding=0):
        if padding:
            return pv.max_pool2d_backward(grad_output, x, kernel_size, stride, padding)
        return sol_maxb.max_pool_backward(grad_output, x, kernel_size, stride, padding)

    result = ex.check_max_pool_backward(padding_by_poolviz)
    (failed,) = result.failed_cases
    assert "padding 1" in failed.name and "calls poolviz.max_pool2d_backward" in failed.detail
    assert [c.status for c in result.cases].count("passed") == 7


def test_a_neutral_module_does_not_shield_what_it_calls():
    """Under a policy judging max pooling only, routing is neutral: its call into the backward is still seen."""
    policy = Policy(judged=frozenset({"poolviz.max_pool"}))
    x = np.arange(16.0).reshape(4, 4)
    calls = Calls()
    call_watched(poolviz.routing.contributions, ("max", x, 2), {}, policy, calls)
    assert calls.forbidden and all(name.startswith("poolviz.max_pool") for name in calls.forbidden), calls
    # while an allowed entry shields poolviz's own internals
    calls = Calls()
    call_watched(pv.max_pool2d, (x, 2), {}, Policy(allowed=frozenset({"poolviz.max_pool2d"})), calls)
    assert calls.forbidden == [] and calls.allowed == ["poolviz.max_pool2d"]


def test_the_profile_hook_is_put_back_even_when_the_learner_raises():
    def observer(frame, event, arg):
        return None

    def broken(grad_output, x, kernel_size, stride=None, padding=0):
        raise ZeroDivisionError("oops")

    previous = sys.getprofile()
    sys.setprofile(observer)
    try:
        result = ex.check_max_pool_backward(broken)
        assert sys.getprofile() is observer
    finally:
        sys.setprofile(previous)
    assert "ZeroDivisionError" in str(result)


def test_the_stub_is_still_not_attempted():
    def max_pool_backward(grad_output, x, kernel_size, stride=None, padding=0):
        raise NotImplementedError

    result = ex.check_max_pool_backward(max_pool_backward)
    assert not result.attempted and "not attempted yet" in str(result)
