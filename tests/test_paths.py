"""The one setting that chooses an implementation: it is checked, it is honoured, and "auto" follows its table."""
import numpy as np
import pytest

import poolviz as pv
from poolviz import _fast, paths
from poolviz.geometry import pool_geometry


def test_unknown_paths_and_settings_are_refused_in_words():
    with pytest.raises(ValueError, match="max_pool path must be one of 'auto', 'offsets'"):
        with paths.use(max_pool="fastest"):
            pass
    with pytest.raises(TypeError, match="unknown setting colour"):
        with paths.use(colour="red"):
            pass
    with pytest.raises(ValueError, match="block_bytes must be a positive int"):
        paths.Paths(block_bytes=0)


def test_the_setting_is_restored_even_after_an_error():
    before = paths.current()
    with pytest.raises(RuntimeError):
        with paths.use(max_pool="offsets", avg_pool="dense-rows", block_bytes=1):
            assert paths.current() == paths.Paths("offsets", "dense-rows", 1)
            raise RuntimeError
    assert paths.current() == before == paths.Paths()


def test_auto_follows_the_table():
    auto = paths.Paths()
    tiling, overlapping = pool_geometry((56, 56), 2), pool_geometry((55, 55), 3, 2)
    assert _fast.max_path(8 * 8, pool_geometry((8, 8), 2), auto) == "gather"  # 8*8*4 <= 2**15
    assert _fast.max_path(2**13, tiling, auto) == "gather"                     # 2**13 * 4 == 2**15
    assert _fast.max_path(2**13 + 1, tiling, auto) == "tiles"                  # tiles where windows tile ...
    assert _fast.max_path(2**20, overlapping, auto) == "tiles"                  # ... planes elsewhere (same call)
    assert _fast.avg_layout(2**15, tiling, auto) is None                        # small: one pass per offset
    assert _fast.avg_layout(2**15 + 1, tiling, auto).split == 1                 # 4 kernel elements: rows as they are
    assert _fast.avg_layout(2**20, overlapping, auto).split == 2                # 9 elements: rows split by phase
    assert _fast.avg_layout(2**20, pool_geometry((56, 56), 1), auto) is None    # one element: nothing to add
    assert _fast.avg_layout(2**20, pool_geometry((56, 56), 2, 4), auto) is None  # 16x the windows: not worth it


@pytest.mark.parametrize("setting, fast", [("offsets", False), ("auto", True)])
def test_the_setting_decides_whether_the_fast_paths_run(monkeypatch, setting, fast):
    from poolviz._fast import max_route

    calls = []
    for module, name in [(_fast, "max_by_planes"), (_fast, "dense_window_sum"), (max_route, "route_in_blocks")]:
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    x = np.random.default_rng(0).standard_normal((4, 128, 32, 32)).astype(np.float32)  # 512 planes: 2 blocks
    with paths.use(max_pool=setting, avg_pool=setting):
        y = pv.max_pool2d(x, 2)
        pv.max_pool2d_backward(np.ones_like(y), x, 2)
        pv.avg_pool2d(x, 2)
    assert (sorted(set(calls)) == ["dense_window_sum", "max_by_planes", "route_in_blocks"]) is fast
    assert (calls == []) is not fast
