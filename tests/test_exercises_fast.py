"""check_vectorised_max_pool_backward (notebook 08, exercise 1): right answers pass, the typical mistakes of vectorised
code fail with their names, a loop over the output positions fails the structure check (counted, not timed), the
honesty rule holds, and the trace hook is always put back."""
import sys

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import poolviz as pv
from conftest import worked_solution
from poolviz.exercises import fast
from poolviz.exercises.fast import check_vectorised_max_pool_backward as check

solution = worked_solution("vectorised_max_pool_backward", "max_pool_backward_vectorised")

STRUCTURE = "no Python loop over the output positions"


# ---------------------------------------------------------------- learner-style functions, written apart from poolviz


def _size(L, k, s):
    return (L - k) // s + 1


def _codes_by_view(x, k, s):
    """Each window's argmax code u*k + v (first maximum), via a window view: (H_out, W_out)."""
    Ho, Wo = _size(x.shape[0], k, s), _size(x.shape[1], k, s)
    windows = sliding_window_view(x, (k, k))[::s, ::s][:Ho, :Wo]
    return windows.reshape(Ho, Wo, k * k).argmax(axis=-1)


def _flat(code, k, s, W):
    Ho, Wo = code.shape
    u, v = np.divmod(code, k)
    return (np.arange(Ho)[:, None] * s + u) * W + np.arange(Wo)[None, :] * s + v


def view_and_add_at(grad_output, x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.size)
    np.add.at(dx, _flat(_codes_by_view(x, kernel_size, s), kernel_size, s, x.shape[1]).ravel(), grad_output.ravel())
    return dx.reshape(x.shape)


def view_and_bincount(grad_output, x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    index = _flat(_codes_by_view(x, kernel_size, s), kernel_size, s, x.shape[1]).ravel()
    return np.bincount(index, weights=grad_output.ravel(), minlength=x.size).reshape(x.shape)


def _offsets(x, k, s, Ho, Wo, *, start=-np.inf, strict=True):
    best = np.full((Ho, Wo), start)
    code = np.zeros((Ho, Wo), dtype=int)
    for c in range(k * k):
        u, v = divmod(c, k)
        view = x[u: u + s * (Ho - 1) + 1: s, v: v + s * (Wo - 1) + 1: s]
        wins = view > best if strict else view >= best
        best = np.where(wins, view, best)
        code[wins] = c
    return code


def offsets_loop(grad_output, x, kernel_size, stride=None, *, start=-np.inf, strict=True, assign=False,
                 order=list):
    """The per-offset backward, with mistakes switched on by keywords (not the checker's models)."""
    k = kernel_size
    s = k if stride is None else stride
    Ho, Wo = grad_output.shape
    code = _offsets(x, k, s, Ho, Wo, start=start, strict=strict)
    dx = np.zeros(x.shape)
    for c in order(range(k * k)):
        u, v = divmod(c, k)
        view = dx[u: u + s * (Ho - 1) + 1: s, v: v + s * (Wo - 1) + 1: s]
        if assign:
            view[...] = np.where(code == c, grad_output, 0)
        else:
            view += np.where(code == c, grad_output, 0)
    return dx


def loop_over_windows(grad_output, x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    dx = np.zeros(x.shape)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            window = x[i * s: i * s + kernel_size, j * s: j * s + kernel_size]
            u, v = np.unravel_index(np.argmax(window), window.shape)
            dx[i * s + u, j * s + v] += grad_output[i, j]
    return dx


# ---------------------------------------------------------------- right answers pass


@pytest.mark.parametrize("fn", [solution, view_and_add_at, view_and_bincount, offsets_loop,
                                lambda g, x, kernel_size, stride=None: offsets_loop(g, x, kernel_size, stride,
                                                                                     order=reversed)],
                         ids=["solution", "view+add.at", "view+bincount", "offsets", "offsets reversed"])
def test_a_right_answer_passes(fn):
    result = check(fn)
    assert result.passed is True, str(result)
    assert "PASSED all 10 cases" in str(result)


def test_the_cases_expect_pytorchs_gradient():
    torch = pytest.importorskip("torch")
    for case in fast._cases():
        g, x, k = case.args
        xt = torch.from_numpy(x)[None, None].requires_grad_()
        torch.nn.functional.max_pool2d(xt, k, case.kwargs.get("stride")).backward(torch.from_numpy(g)[None, None])
        np.testing.assert_array_equal(case.expected, xt.grad[0, 0].numpy(), err_msg=case.name)


def test_the_cases_expect_the_hand_loop():
    for case in fast._cases():
        g, x, k = case.args
        np.testing.assert_array_equal(case.expected, loop_over_windows(g, x, k, case.kwargs.get("stride")),
                                      err_msg=case.name)


def test_the_ties_case_has_ties_and_overlap_and_a_corner_that_wins_four_windows():
    case = next(c for c in fast._cases() if "with ties (kernel 3" in c.name)
    g, x, _ = case.args
    windows = sliding_window_view(x, (3, 3))[::2, ::2].reshape(-1, 9)
    assert ((windows == windows.max(axis=1, keepdims=True)).sum(axis=1) > 1).any()
    assert case.expected[2, 4] == g[0, 1] + g[0, 2] + g[1, 1] + g[1, 2]


# ---------------------------------------------------------------- not attempted, skipped keywords


def test_the_stub_is_not_attempted_yet():
    def max_pool_backward_vectorised(grad_output, x, kernel_size, stride=None):
        raise NotImplementedError

    result = check(max_pool_backward_vectorised)
    assert result.passed is False and result.attempted is False
    assert "not attempted yet" in str(result)
    assert check(None).attempted is False


def test_a_function_without_stride_skips_those_cases_and_counts_on_tiles_only():
    def no_stride(grad_output, x, kernel_size):
        return solution(grad_output, x, kernel_size)

    result = check(no_stride)
    assert result.passed is True, str(result)
    assert "skipped" in str(result)


# ---------------------------------------------------------------- mistakes named


def _failures(result):
    return "\n".join(c.detail for c in result.failed_cases)


def test_buffered_fancy_index_plus_equals_is_named():
    def buffered(grad_output, x, kernel_size, stride=None):
        s = kernel_size if stride is None else stride
        dx = np.zeros(x.size)
        dx[_flat(_codes_by_view(x, kernel_size, s), kernel_size, s, x.shape[1]).ravel()] += grad_output.ravel()
        return dx.reshape(x.shape)

    result = check(buffered)
    assert not result.passed
    failed = {c.name for c in result.failed_cases}
    assert failed and all("overlapping" in name or "all-negative" in name for name in failed)
    assert "buffered fancy-index" in _failures(result)


def test_equality_mask_gives_every_tie_the_gradient():
    def mask(grad_output, x, kernel_size, stride=None):
        k = kernel_size
        s = k if stride is None else stride
        Ho, Wo = grad_output.shape
        views = [x[u: u + s * (Ho - 1) + 1: s, v: v + s * (Wo - 1) + 1: s] for u in range(k) for v in range(k)]
        y = np.maximum.reduce(views)
        dx = np.zeros(x.shape)
        for c in range(k * k):
            u, v = divmod(c, k)
            dx[u: u + s * (Ho - 1) + 1: s, v: v + s * (Wo - 1) + 1: s] += np.where(views[c] == y, grad_output, 0)
        return dx

    result = check(mask)
    assert not result.passed
    assert "every tied maximum received the gradient" in _failures(result)
    assert "`view == y`" in _failures(result)


def test_greater_or_equal_in_the_running_maximum_lets_the_last_tie_win():
    result = check(lambda g, x, kernel_size, stride=None: offsets_loop(g, x, kernel_size, stride, strict=False))
    assert not result.passed
    assert "LAST tied maximum won" in _failures(result)


def test_assignment_in_a_per_offset_scatter_is_named():
    result = check(lambda g, x, kernel_size, stride=None: offsets_loop(g, x, kernel_size, stride, assign=True))
    assert not result.passed
    assert "instead of adding" in _failures(result)


def test_a_running_maximum_started_at_zero_is_named():
    result = check(lambda g, x, kernel_size, stride=None: offsets_loop(g, x, kernel_size, stride, start=0.0))
    assert not result.passed
    assert [c.name for c in result.failed_cases] == [
        "all-negative inputs (kernel 3, stride 2): the maximum is rarely a window's first element"]
    assert "started at 0" in _failures(result)


def test_the_offset_code_used_as_an_input_index_is_named():
    def code_as_index(grad_output, x, kernel_size, stride=None):
        s = kernel_size if stride is None else stride
        dx = np.zeros(x.size)
        np.add.at(dx, _codes_by_view(x, kernel_size, s).ravel(), grad_output.ravel())
        return dx.reshape(x.shape)

    result = check(code_as_index)
    assert not result.passed
    assert "top-left corner" in _failures(result)


def test_windows_at_every_position_are_named_as_the_stride_ignored():
    def stride_ignored(grad_output, x, kernel_size, stride=None):
        Ho, Wo = grad_output.shape
        k = kernel_size
        code = sliding_window_view(x, (k, k))[:Ho, :Wo].reshape(Ho, Wo, k * k).argmax(axis=-1)
        dx = np.zeros(x.size)
        np.add.at(dx, _flat(code, k, 1, x.shape[1]).ravel(), grad_output.ravel())
        return dx.reshape(x.shape)

    result = check(stride_ignored)
    assert not result.passed
    assert "sliding_window_view(x, (k, k))" in _failures(result)


def test_the_reshape_trick_on_overlapping_windows_raises_with_a_hint():
    def tiles_only(grad_output, x, kernel_size, stride=None):
        k = kernel_size
        Ho, Wo = x.shape[0] // k, x.shape[1] // k
        tiles = x[: Ho * k, : Wo * k].reshape(Ho, k, Wo, k).swapaxes(1, 2).reshape(Ho, Wo, k * k)
        routed = np.where(tiles.argmax(-1)[..., None] == np.arange(k * k), grad_output[..., None], 0)
        dx = np.zeros(x.shape)
        dx[: Ho * k, : Wo * k] = routed.reshape(Ho, Wo, k, k).swapaxes(1, 2).reshape(Ho * k, Wo * k)
        return dx

    result = check(tiles_only)
    assert not result.passed
    assert "reshape trick does not apply" in _failures(result)


# ---------------------------------------------------------------- structure: a loop over the outputs


def test_a_loop_over_the_windows_passes_every_case_but_the_structure_check():
    result = check(loop_over_windows)
    assert not result.passed
    assert [c.name for c in result.failed_cases] == [next(c.name for c in result.cases if STRUCTURE in c.name)]
    assert "loops over the output positions in Python" in _failures(result)


@pytest.mark.parametrize("kind", ["comprehension", "rows", "vectorize"])
def test_other_loops_over_the_outputs_are_noticed(kind):
    def hidden_loop(grad_output, x, kernel_size, stride=None):
        k = kernel_size
        s = k if stride is None else stride
        Ho, Wo = grad_output.shape
        if kind == "comprehension":
            code = np.array([[np.argmax(x[i * s: i * s + k, j * s: j * s + k]) for j in range(Wo)] for i in range(Ho)])
        elif kind == "rows":  # vectorised along each row of outputs, a Python loop down the rows
            code = np.empty((Ho, Wo), dtype=int)
            for i in range(Ho):
                code[i] = sliding_window_view(x[i * s: i * s + k], (k, k))[0, ::s][:Wo].reshape(Wo, k * k).argmax(-1)
        else:
            at = np.vectorize(lambda i, j: np.argmax(x[i * s: i * s + k, j * s: j * s + k]))
            code = at(*np.indices((Ho, Wo)))
        dx = np.zeros(x.size)
        np.add.at(dx, _flat(code, k, s, x.shape[1]).ravel(), grad_output.ravel())
        return dx.reshape(x.shape)

    result = check(hidden_loop)
    assert [c.name for c in result.failed_cases] == [next(c.name for c in result.cases if STRUCTURE in c.name)]


def test_poolviz_helpers_inside_do_not_count_as_lines():
    def with_helper(grad_output, x, kernel_size, stride=None):
        pv.output_size(x.shape[0], kernel_size, stride or kernel_size)  # neutral, and its lines are not counted
        return solution(grad_output, x, kernel_size, stride)

    assert check(with_helper).passed


def test_the_trace_hook_is_put_back_even_when_the_function_raises():
    def hook(frame, event, arg):
        return None

    def broken(grad_output, x, kernel_size, stride=None):
        raise ValueError("boom")

    previous = sys.gettrace()
    sys.settrace(hook)
    try:
        result = check(broken)
        assert sys.gettrace() is hook
    finally:
        sys.settrace(previous)
    assert "could not count: your function raised ValueError: boom" in str(result.cases[-1].detail)


def test_the_line_count_does_not_depend_on_the_size_for_the_solution():
    rng = np.random.default_rng(0)
    counts = []
    for side in (9, 65):
        x = rng.standard_normal((side, side))
        g = rng.standard_normal((_size(side, 3, 2),) * 2)
        counts.append(fast._python_lines(solution, (g, x, 3), {"stride": 2}))
    assert counts[0] == counts[1] > 0


# ---------------------------------------------------------------- honesty


@pytest.mark.parametrize("name", ["max_pool2d", "max_pool2d_backward"])
def test_calling_poolvizs_pooling_fails_even_the_forward(name):
    def cheat(grad_output, x, kernel_size, stride=None):
        if name == "max_pool2d":
            _, index = pv.max_pool2d(x, kernel_size, stride, return_indices=True)
            dx = np.zeros(x.size)
            np.add.at(dx, index.ravel(), grad_output.ravel())
            return dx.reshape(x.shape)
        return pv.max_pool2d_backward(grad_output, x, kernel_size, stride)

    result = check(cheat)
    assert not result.passed
    assert f"poolviz.{name}" in str(result)
    assert "Allowed here" not in str(result)
    structure = result.cases[-1]
    assert STRUCTURE in structure.name and structure.status == "passed"  # poolviz's internals are not counted
