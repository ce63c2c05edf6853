"""The array checks and the one dtype rule, as the ops use them."""
import re

import numpy as np
import pytest

import poolviz as pv
from poolviz.checks import check_indices, compute_dtype, result_dtype


@pytest.mark.parametrize("dtype, computes_in, returns", [
    (np.float16, np.float32, np.float16), (np.float32, np.float32, np.float32), (np.float64, np.float64, np.float64),
    (np.int8, np.float64, np.float64), (np.uint16, np.float64, np.float64), (np.int64, np.float64, np.float64),
])
def test_one_dtype_rule_for_every_averaging_op(dtype, computes_in, returns):
    assert compute_dtype(dtype) == computes_in and result_dtype(dtype) == returns
    x = (np.arange(16) % 5).reshape(4, 4).astype(dtype)
    for forward in (pv.avg_pool2d, pv.logsumexp_pool2d, pv.soft_pool2d, lambda x, k: pv.lp_pool2d(x, 2, k)):
        assert forward(x, 2).dtype == returns
    g = np.ones((2, 2), dtype)
    for backward in (pv.avg_pool2d_backward, pv.max_pool2d_backward, pv.soft_pool2d_backward):
        assert backward(g, x, 2).dtype == returns  # every gradient: grad_output's float dtype


@pytest.mark.parametrize("indices, error, words", [
    (np.zeros((2, 2)), TypeError, "integer array, as returned by max_pool2d"),
    ([[0, 1], [2]], TypeError, "not an array"),
    (np.zeros((2, 3), int), ValueError, "indices has shape (2, 3), but y has shape (2, 2)"),
    (np.full((2, 2), 16), ValueError, "must lie in 0..15 (flat positions row * W + col in a plane of shape (4, 4)), "
                                      "found 16"),
    (np.full((2, 2), -1, np.int32), ValueError, "found -1"),
    (np.full((2, 2), 2**64 - 1, np.uint64), ValueError, "found 18446744073709551615"),
])
def test_indices_are_checked_in_one_place_with_one_message(indices, error, words):
    with pytest.raises(error, match=re.escape(words)):
        check_indices(indices, (2, 2), (4, 4), against="y")


def test_checked_indices_come_back_as_int64():
    idx = check_indices(np.array([[0, 15]], np.uint8), (1, 2), (4, 4))
    assert idx.dtype == np.int64 and idx.tolist() == [[0, 15]]
