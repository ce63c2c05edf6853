"""gradcheck: agrees with correct backwards, catches wrong ones, and flags ties instead of trusting them."""
from functools import partial

import numpy as np
import pytest

import poolviz as pv


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)), dict(kernel_size=2, stride=3, ceil_mode=True),
])
def test_max_pool_passes_on_continuous_inputs(kwargs):
    x = np.random.default_rng(3).standard_normal((2, 7, 7))
    result = pv.gradcheck(partial(pv.max_pool2d, **kwargs), x)
    assert result.passed, str(result)
    assert result.max_error < 1e-8
    assert result.n_near_ties == 0


def test_max_pool1d_passes():
    x = np.random.default_rng(4).standard_normal((3, 11))
    assert pv.gradcheck(partial(pv.max_pool1d, kernel_size=3, stride=2, padding=1), x).passed


def test_tie_is_flagged_where_central_differences_split_the_gradient():
    x = np.array([[1.0, 1.0], [0.0, 0.0]])
    result = pv.gradcheck(partial(pv.max_pool2d, kernel_size=2), x, grad_output=np.ones((1, 1)))
    # central differences give 0.5 to each tied maximum; poolviz (like PyTorch) gives 1 to the first
    np.testing.assert_allclose(result.numerical, [[0.5, 0.5], [0, 0]], atol=1e-9)
    np.testing.assert_array_equal(result.analytic, [[1, 0], [0, 0]])
    np.testing.assert_array_equal(result.near_tie, [[True, True], [False, False]])
    assert result.passed and "2 input(s) within eps of a tie" in str(result)
    assert result.worst_index not in [(0, 0), (0, 1)]  # the worst is taken over compared inputs only
    everything_tied = pv.gradcheck(partial(pv.max_pool2d, kernel_size=2), np.zeros((2, 2)))
    assert everything_tied.worst_index is None and everything_tied.n_near_ties == 4


def test_a_wrong_backward_fails_and_says_where():
    x = np.random.default_rng(5).standard_normal((4, 4))

    def spread_evenly(grad_output, x):  # average pooling's backward, wrong for max pooling
        return pv.avg_pool2d_backward(grad_output, x, 2)

    result = pv.gradcheck(partial(pv.max_pool2d, kernel_size=2), x, backward=spread_evenly)
    assert not result.passed and not bool(result)
    assert result.max_error > 0.1
    assert "FAILED" in str(result) and f"x{list(result.worst_index)}" in str(result)


def test_user_function_and_error_messages():
    x = np.random.default_rng(6).standard_normal((3, 4))
    assert pv.gradcheck(lambda z: z ** 3, x, backward=lambda g, z: 3 * z ** 2 * g).passed
    with pytest.raises(TypeError, match="backward=my_backward"):
        pv.gradcheck(lambda z: z, x)
    with pytest.raises(TypeError, match="by keyword"):
        pv.gradcheck(partial(pv.lp_pool2d, x, 2), x)
    with pytest.raises(ValueError, match="backward returned shape"):
        pv.gradcheck(lambda z: z, x, backward=lambda g, z: g.ravel())
    with pytest.raises(ValueError, match="grad_output has shape"):
        pv.gradcheck(lambda z: z, x, grad_output=np.ones(2), backward=lambda g, z: g)


def test_return_indices_and_all_tied_inputs():
    x = np.random.default_rng(8).standard_normal((4, 4))
    assert pv.gradcheck(partial(pv.max_pool2d, kernel_size=2, return_indices=True), x).passed
    everything_tied = pv.gradcheck(partial(pv.max_pool2d, kernel_size=2), np.ones((4, 4)))
    assert not everything_tied.passed  # nothing was compared, so nothing was shown
    assert "nothing compared" in str(everything_tied)
