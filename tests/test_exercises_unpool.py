"""check_max_unpool (notebook 10, exercise 1): right answers pass, each typical mistake fails with its name, an
answer of the wrong shape is explained in words, poolviz's own unpooling is refused, and the stub reports "not
attempted yet". The cases' switches and answers are compared with PyTorch."""

import numpy as np
import pytest

import poolviz as pv
from conftest import worked_solution
from poolviz.exercises import unpool
from poolviz.exercises.unpool import check_max_unpool

solution = worked_solution("max_unpool", "max_unpool")


def _loop(values, switches, output_shape, *, width=None, swap=False, add=False, one=False, shape=None):
    """A learner's loop, written apart from the checker, with a mistake switched on by a keyword."""
    H, W = output_shape
    out = np.zeros((H, W) if shape is None else shape)
    for (i, j), s in np.ndenumerate(switches):
        r, c = divmod(int(s), W if width is None else width)
        if swap:
            r, c = c, r
        v = 1.0 if one else values[i, j]
        if add:
            out[r, c] += v
        else:
            out[r, c] = v
    return out


def _causes(result):
    """The 'likely cause' lines of the failed cases, by case name."""
    return {c.name: next((line for line in c.detail.splitlines() if line.startswith("likely cause")), c.detail)
            for c in result.failed_cases}


# ---------------------------------------------------------------- the cases


def test_the_hand_made_cases_expect_what_was_worked_out_by_hand():
    cases = unpool._unpool_cases()
    one = cases[0]
    np.testing.assert_array_equal(one.args[1], [[1]])   # 3.25 at row 0, column 1 of a 2x2 plane
    np.testing.assert_array_equal(one.expected, [[0.0, 3.25], [0.0, 0.0]])
    pooled, other = cases[-2], cases[-1]
    # (2, 2) = flat 16 wins the four windows around it, (4, 5) = flat 33 the two windows (1, 2) and (2, 2)
    np.testing.assert_array_equal(pooled.args[1], [[16, 16, 4], [16, 16, 33], [28, 37, 33]])
    assert pooled.shared == {16: [9.5], 33: [8.75]}
    assert other.shared == {16: [-2.25, 1.5, 2.0, 3.5], 33: [-3.0, -1.25]}


def test_the_cases_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for case in unpool._unpool_cases():
        values, switches, shape = case.args
        # stride 1 and a kernel that makes PyTorch's default size the plane's: the switches alone decide
        kernel = (shape[0] - values.shape[0] + 1, shape[1] - values.shape[1] + 1)
        out = F.max_unpool2d(torch.from_numpy(values)[None, None], torch.from_numpy(switches)[None, None],
                             kernel, stride=1)[0, 0].numpy()
        if all(len(v) == 1 for v in case.shared.values()):
            np.testing.assert_array_equal(out, case.expected, err_msg=case.name)
        else:  # values that differ at a shared switch: PyTorch leaves one of them, unspecified which
            assert unpool._compare(out, case), case.name


def test_the_switches_of_the_cases_are_pytorchs():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    for k, s, shape in [(2, 2, (4, 6)), (2, 2, (5, 7)), (3, 3, (6, 9)), (3, 2, (7, 7)), (3, 1, (5, 6))]:
        x = rng.integers(-3, 4, shape).astype(float)  # many ties: the first maximum must win
        values, switches = unpool._switches(x, k, s)
        y, idx = F.max_pool2d(torch.from_numpy(x)[None, None], k, s, return_indices=True)
        np.testing.assert_array_equal(switches, idx[0, 0].numpy())
        np.testing.assert_array_equal(values, y[0, 0].numpy())


# ---------------------------------------------------------------- right answers pass


def _vectorised(values, switches, output_shape):
    out = np.zeros(output_shape[0] * output_shape[1])
    out[switches.ravel()] = values.ravel()
    return out.reshape(output_shape)


def _keeps_the_largest(values, switches, output_shape):
    out = np.full(output_shape[0] * output_shape[1], -np.inf)
    np.maximum.at(out, switches.ravel(), values.ravel())   # another legitimate choice at a shared switch
    return np.where(np.isinf(out), 0.0, out).reshape(output_shape)


@pytest.mark.parametrize("fn", [solution, _vectorised, _keeps_the_largest, lambda v, s, o: _loop(v, s, o)])
def test_a_right_answer_passes(fn):
    result = check_max_unpool(fn)
    assert result.passed is True, str(result)
    assert "PASSED all 7 cases" in str(result)


# ---------------------------------------------------------------- not attempted, wrong kind, honesty


def test_the_stub_is_not_attempted_yet():
    def max_unpool(values, switches, output_shape):
        raise NotImplementedError

    result = check_max_unpool(max_unpool)
    assert result.passed is False and result.attempted is False
    assert "not attempted yet" in str(result)
    assert check_max_unpool(None).attempted is False


def test_a_missing_return_is_named():
    def max_unpool(values, switches, output_shape):
        _loop(values, switches, output_shape)

    result = check_max_unpool(max_unpool)
    assert not result.passed
    assert "did you forget the `return`" in str(result)


@pytest.mark.parametrize("cheat", [
    lambda v, s, o: pv.max_unpool2d(v, s, 1, output_size=o),
    lambda v, s, o: pv.max_pool2d_backward(v, np.zeros(o), 1, indices=s) if v.shape == o else
    pv.max_unpool2d(v, s, 2, output_size=o),
])
def test_poolvizs_own_unpooling_or_backward_is_refused(cheat):
    result = check_max_unpool(cheat)
    assert not result.passed
    assert "poolviz's own implementation" in str(result)
    assert "the exercise is to write it yourself" in str(result)


# ---------------------------------------------------------------- each mistake is named


def test_adding_where_switches_are_shared_is_named_and_only_fails_there():
    result = check_max_unpool(lambda v, s, o: _loop(v, s, o, add=True))
    causes = _causes(result)
    assert len(causes) == 2  # the five cases without a shared switch pass: writing and adding agree there
    pooled, other = (causes[c.name] for c in unpool._unpool_cases()[-2:])
    assert "adding multiplies it by the number of windows" in pooled
    assert "never their sum" in other and "nondeterministic" in other


def test_np_add_at_is_the_same_mistake():
    def max_unpool(values, switches, output_shape):
        out = np.zeros(output_shape[0] * output_shape[1])
        np.add.at(out, switches.ravel(), values.ravel())
        return out.reshape(output_shape)

    assert all("you added the values" in c for c in _causes(check_max_unpool(max_unpool)).values())


def test_switches_read_as_col_row_are_named():
    result = check_max_unpool(lambda v, s, o: _loop(v, s, o, swap=True))
    causes = _causes(result)
    assert "read as (column, row)" in causes["2x2 windows on a square 4x4 plane"]
    # on a plane wider than tall the column runs off the rows: the error is explained in words
    assert "IndexError" in result.cases[1].detail and "(column, row)" in causes["2x2 windows on a 4x6 plane (H != W)"]


def test_divmod_by_the_height_is_named():
    causes = _causes(check_max_unpool(lambda v, s, o: _loop(v, s, o, width=o[0])))
    assert "divide by the width W = output_shape[1]" in causes[
        "a 5x7 plane pooled with kernel 2: its last row and column belong to no window"]
    assert not any("2x2 windows on a square" in name for name in causes)  # H == W: the same answer, rightly


def test_switches_decoded_with_the_default_planes_width_are_named():
    # the plane has output_shape, but each switch is divided by 2 * W_out, the width of PyTorch's default plane
    result = check_max_unpool(lambda v, s, o: _loop(v, s, o, width=2 * v.shape[1]))
    causes = _causes(result)
    remainder = "a 5x7 plane pooled with kernel 2: its last row and column belong to no window"
    assert "width of the default plane, 2 * W_out" in causes[remainder]
    assert "divide by its width W = output_shape[1]" in causes[remainder]
    assert "plane's height" not in causes[remainder]  # H = 5 is neither 7 nor 6: the two mistakes differ here
    overlapping = unpool._unpool_cases()[-2].name  # a 7x7 plane with W_out = 3: divided by 6, not 7
    assert "width of the default plane" in causes[overlapping]
    # where 2 * W_out is the plane's width (kernel 2 without a remainder) the mistake cannot show, and passes
    assert [c.status for c in result.cases[:3]] == ["passed"] * 3


def test_col_row_and_the_height_together_are_named_as_two_mistakes():
    causes = _causes(check_max_unpool(lambda v, s, o: _loop(v, s, o, width=o[0], swap=True)))
    assert "two mistakes together" in causes["2x2 windows on a 4x6 plane (H != W)"]


def test_an_integer_plane_is_named():
    def max_unpool(values, switches, output_shape):
        out = np.zeros_like(switches, shape=output_shape)
        for (i, j), s in np.ndenumerate(switches):
            out[divmod(int(s), output_shape[1])] = values[i, j]
        return out

    causes = _causes(check_max_unpool(max_unpool))
    assert len(causes) == 7 and all("holds integers" in c for c in causes.values())


def test_a_mask_of_ones_is_named():
    causes = _causes(check_max_unpool(lambda v, s, o: _loop(v, s, o, one=True)))
    assert all("you wrote 1 at each switch" in c for c in causes.values())


def test_nearest_neighbour_copying_is_named():
    causes = _causes(check_max_unpool(lambda v, s, o: np.kron(v, np.ones((2, 2)))))
    assert "nearest-neighbour upsampling" in causes["2x2 windows on a square 4x4 plane"]
    assert "ignored output_shape" in causes["kernel 3, stride 3 on a 6x9 plane"]  # the shape gives it away


def test_ignoring_output_shape_is_named():
    result = check_max_unpool(lambda v, s, o: _loop(v, s, (2 * v.shape[0], 2 * v.shape[1])))
    causes = _causes(result)
    assert "ignored output_shape" in causes[
        "a 5x7 plane pooled with kernel 2: its last row and column belong to no window"]
    assert "not twice" in " ".join(causes.values()) or "nor twice it" in " ".join(causes.values())
    assert result.cases[0].status == "passed"  # 2x2 from 1x1 is right: the mistake cannot show there


def test_output_shape_read_as_w_h_is_named():
    def max_unpool(values, switches, output_shape):
        W, H = output_shape
        return _loop(values, switches, (H, W))  # the names swapped: a (W_true, H_true) plane, divided by H_true

    causes = _causes(check_max_unpool(max_unpool))
    assert "read as (W, H)" in causes["2x2 windows on a 4x6 plane (H != W)"]


def test_a_plane_of_the_values_shape_a_flat_plane_and_a_transposed_plane_are_explained_in_words():
    def values_shape(values, switches, output_shape):
        return np.zeros_like(values)

    causes = _causes(check_max_unpool(values_shape))
    assert "the shape of values" in causes["2x2 windows on a 4x6 plane (H != W)"]

    def flat(values, switches, output_shape):
        return _vectorised(values, switches, output_shape).ravel()

    causes = _causes(check_max_unpool(flat))
    assert all("right number of entries" in c and "reshape" in c for c in causes.values())

    causes = _causes(check_max_unpool(lambda v, s, o: _loop(v, s, o).T))
    assert "(Did you return the plane transposed?)" in causes["2x2 windows on a 4x6 plane (H != W)"]


def test_a_function_that_raises_gets_a_likely_cause_in_words():
    result = check_max_unpool(lambda v, s, o: _loop(v, s, o, shape=v.shape))  # writes into a plane too small
    assert not result.passed
    detail = result.cases[1].detail
    assert "raised IndexError" in detail and "likely cause" in detail
