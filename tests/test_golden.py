"""poolviz against PyTorch's own answers, stored in tests/golden/ by tools/make_golden.py.

PyTorch is not imported here: the golden files hold its inputs and outputs. How close:

* max pooling (values, indices, gradients) and max unpooling: bit-exact, NaN equal to NaN and
  -0.0 distinct from 0.0 (max copies a value, it computes nothing), integer dtypes kept;
* average pooling, forward and backward: exact. Both add window elements in row-major order and
  gradients in increasing output order, so float32 rounds identically;
* lp pooling: rtol 1e-5 (float32) / 1e-12 (float64). PyTorch computes ``avg_pool(x**p) * (kh*kw)``
  and poolviz ``sum(x**p) * (kh*kw / n)``: the same number, rounded differently.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import AVG_POOL_FAST_PARAMS, MAX_POOL_PATH_PARAMS, max_pool_path

import poolviz as pv
from poolviz import paths

GOLDEN = Path(__file__).parent / "golden"
OPS = ["max_pool2d", "max_pool1d", "avg_pool2d", "avg_pool1d", "lp_pool2d", "lp_pool1d", "max_unpool2d"]
LP_RTOL = {"float32": 1e-5, "float64": 1e-12}


def _load():
    cases = []
    for path in sorted(GOLDEN.glob("*.npz")):
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            for c in meta["cases"]:
                prefix = c["name"] + "/"
                arrays = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
                cases.append(dict(c, arrays=arrays, torch_version=meta["torch_version"]))
    return cases


CASES = _load()


def _params(select):
    return [pytest.param(c, id=f"{c['op']}-{c['name']}") for c in CASES if select(c)]


def assert_same(actual, expected):
    """Same dtype and the same values, NaN equal to NaN."""
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype}, PyTorch gives {expected.dtype}"
    np.testing.assert_array_equal(actual, expected)


def assert_same_zero_signs(actual, expected):
    """-0.0 where PyTorch has -0.0 and 0.0 where it has 0.0 (assert_array_equal counts them equal)."""
    if expected.dtype.kind == "f":
        numbers = ~np.isnan(expected)
        np.testing.assert_array_equal(np.signbit(actual[numbers]), np.signbit(expected[numbers]),
                                      err_msg="the sign bits of zeros differ from PyTorch's")


def _max_results(case):
    """poolviz's answers to a max-pooling case, under the golden arrays' names."""
    op, kw, a = case["op"], case["kwargs"], case["arrays"]
    y, indices = getattr(pv, op)(a["x"], **kw, return_indices=True)
    results = {"y": y, "indices": indices, "y_without_indices": getattr(pv, op)(a["x"], **kw)}
    if "grad_x" in a:  # integer inputs have no gradient in PyTorch
        results["grad_x"] = getattr(pv, op + "_backward")(a["grad_output"], a["x"], **kw)
    return results


def test_golden_files_cover_every_op():
    found = {c["op"] for c in CASES}
    assert found == set(OPS), f"missing golden cases for {set(OPS) - found}; run python tools/make_golden.py"
    for op in OPS:
        runs = [c for c in CASES if c["op"] == op and not c.get("expect_error")]
        assert {"float32", "float64"} <= {c["dtype"] for c in runs}, f"{op} needs float32 and float64 cases"


MAX_CASES = _params(lambda c: c["op"].startswith("max_pool") and not c.get("expect_error"))


@pytest.mark.parametrize("path", MAX_POOL_PATH_PARAMS)
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool(case, path):
    a = case["arrays"]
    with max_pool_path(path):
        results = _max_results(case)
    for name, actual in results.items():
        assert_same(actual, a[name.replace("_without_indices", "")])


@pytest.mark.parametrize("path", MAX_POOL_PATH_PARAMS)
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool_zero_signs(case, path):
    """Bit-exact down to the sign of zero: max copies the first maximum, and a gradient is 0 + contributions."""
    a = case["arrays"]
    with max_pool_path(path):
        results = _max_results(case)
    for name, actual in results.items():
        assert_same_zero_signs(actual, a[name.replace("_without_indices", "")])


@pytest.mark.parametrize("case", _params(lambda c: c.get("expect_error")))
def test_window_of_padding_only_raises(case):
    """PyTorch returns -inf and an index outside the input here (stored in y); poolviz refuses."""
    assert np.isneginf(case["arrays"]["y"]).any()
    with pytest.raises(ValueError, match="only"):
        getattr(pv, case["op"])(case["arrays"]["x"], **case["kwargs"])


@pytest.mark.parametrize("path", ["offsets"] + AVG_POOL_FAST_PARAMS)
@pytest.mark.parametrize("case", _params(lambda c: c["op"].startswith("avg_pool")))
def test_avg_pool(case, path):
    op, kw, a = case["op"], case["kwargs"], case["arrays"]
    with paths.use(avg_pool=path, block_bytes=1):  # the dense paths one plane per block, whatever the size
        results = (getattr(pv, op)(a["x"], **kw), getattr(pv, op + "_backward")(a["grad_output"], a["x"], **kw))
    for actual, expected in zip(results, (a["y"], a["grad_x"])):
        assert_same(actual, expected)
        assert_same_zero_signs(actual, expected)


@pytest.mark.parametrize("case", _params(lambda c: c["op"].startswith("lp_pool")))
def test_lp_pool(case):
    op, kw, a = case["op"], case["kwargs"], case["arrays"]
    rtol = LP_RTOL[case["dtype"]]
    y = getattr(pv, op)(a["x"], **kw)
    assert y.dtype == a["y"].dtype
    np.testing.assert_allclose(y, a["y"], rtol=rtol, atol=0)
    grad_x = getattr(pv, op + "_backward")(a["grad_output"], a["x"], **kw)
    assert grad_x.dtype == a["grad_x"].dtype
    np.testing.assert_allclose(grad_x, a["grad_x"], rtol=rtol, atol=0)


@pytest.mark.parametrize("case", _params(lambda c: c["op"] == "max_unpool2d"))
def test_max_unpool2d(case):
    a = case["arrays"]
    pooled, indices = pv.max_pool2d(a["x"], **case["pool_kwargs"], return_indices=True)
    assert_same(pooled, a["pooled"])
    assert_same(indices, a["indices"])
    y = pv.max_unpool2d(a["pooled"], a["indices"], **case["kwargs"])
    assert_same(y, a["y"])
    assert_same_zero_signs(y, a["y"])
