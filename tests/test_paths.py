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


def test_auto_follows_the_table(monkeypatch):
    monkeypatch.setenv("POOLVIZ_COMPILED", "0")  # the numpy rows of the table (the compiled row: below)
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

    monkeypatch.setenv("POOLVIZ_COMPILED", "0")  # "auto" without the compiled path

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


# --- the compiled path: when "auto" takes it, and what happens without numba ---------------------------

def _without_numba(monkeypatch):
    monkeypatch.setattr(paths, "numba_installed", lambda: False)


def test_asking_for_the_compiled_path_without_numba_says_how_to_install_it(monkeypatch):
    _without_numba(monkeypatch)
    for field in ("max_pool", "avg_pool"):
        with pytest.raises(ImportError, match=r"pip install poolviz\[fast\]"):
            with paths.use(**{field: "compiled"}):
                pass
    monkeypatch.setenv("POOLVIZ_COMPILED", "1")  # forced for every input: refused at the first call
    with pytest.raises(ImportError, match=r"pip install poolviz\[fast\]"):
        pv.max_pool2d(np.zeros((4, 4)), 2)


@pytest.mark.parametrize("mode", ["", "auto", "0"])
def test_without_numba_auto_runs_the_numpy_paths(monkeypatch, mode):
    _without_numba(monkeypatch)
    monkeypatch.setenv("POOLVIZ_COMPILED", mode)
    large = pool_geometry((56, 56), 2)
    assert _fast.max_path(2**24, large, paths.Paths(), np.float32, route=True) == "tiles"
    assert not _fast.avg_compiled(2**24, paths.Paths(), np.float32)


def test_auto_takes_the_compiled_path_only_where_it_pays_when_numba_is_installed(monkeypatch):
    monkeypatch.setattr(paths, "numba_installed", lambda: True)  # the rule, whether or not numba is here
    auto, geom = paths.Paths(), pool_geometry((56, 56), 2)
    monkeypatch.delenv("POOLVIZ_COMPILED", raising=False)
    for mode in (None, "auto", " AUTO "):
        if mode is not None:
            monkeypatch.setenv("POOLVIZ_COMPILED", mode)
        # the backward from saved switches, from 2**18 elements on
        assert _fast.max_path(2**18, geom, auto, np.float32, route=True) == "compiled"
        assert _fast.max_path(2**18 - 1, geom, auto, np.float32, route=True) == "tiles"   # one fewer: numpy
        assert _fast.max_path(8 * 8, pool_geometry((8, 8), 2), auto, np.float32, route=True) == "gather"
        # max pooling's forward and backward from x on the windows with kernels of their own (k2s2 here,
        # k3s2, k3s1), from 2**18 elements on
        assert _fast.max_path(2**18, geom, auto, np.float32, np.float32) == "compiled"
        assert _fast.max_path(2**18, pool_geometry((55, 55), 3, 2), auto, np.float32) == "compiled"
        assert _fast.max_path(2**18, pool_geometry((55, 55), 3, 1, 1), auto, np.float32) == "compiled"
        assert _fast.max_path(2**18 - 1, geom, auto, np.float32) == "tiles"
        # the kernels that measured slower than numpy's: never under "auto", whatever the size
        assert _fast.max_path(2**24, pool_geometry((56, 56), 3, 3), auto, np.float32) == "tiles"
        assert _fast.max_path(2**24, pool_geometry((56, 56), 3, 2, dilation=2), auto, np.float32) == "tiles"
        assert _fast.max_path(2**24, pool_geometry((56, 56), (3, 2), 2), auto, np.float32) == "tiles"
        assert not _fast.avg_compiled(2**24, auto, np.float64)
    # the dtypes the kernels take: float16 hands over to numpy
    assert _fast.max_path(2**20, geom, auto, np.float16, route=True) == "tiles"
    assert _fast.max_path(2**20, geom, auto, np.float64, route=True) == "compiled"
    assert _fast.max_path(2**20, geom, paths.Paths(max_pool="compiled"), np.int32, np.float64) == "compiled"
    assert _fast.max_path(2**20, geom, paths.Paths(max_pool="compiled"), np.float32, np.float16) == "tiles"
    assert not _fast.avg_compiled(2**20, paths.Paths(avg_pool="compiled"), np.float16)
    # a path asked for is honoured: "auto" alone chooses
    assert _fast.max_path(2**20, geom, paths.Paths(max_pool="planes"), np.float32) == "planes"
    assert not _fast.avg_compiled(2**20, paths.Paths(avg_pool="dense-rows"), np.float32)
    assert _fast.max_path(8, geom, paths.Paths(max_pool="compiled"), np.float32) == "compiled"  # any size
    assert _fast.max_path(8, geom, paths.Paths(max_pool="compiled"), np.float16) == "gather"   # hands over
    assert _fast.avg_compiled(8, paths.Paths(avg_pool="compiled"), np.float32)


def test_the_environment_variable_sets_what_auto_does(monkeypatch):
    monkeypatch.setattr(paths, "numba_installed", lambda: True)
    auto, geom = paths.Paths(), pool_geometry((56, 56), 2)
    monkeypatch.setenv("POOLVIZ_COMPILED", "0")
    assert _fast.max_path(2**24, geom, auto, np.float32, route=True) == "tiles"
    assert not _fast.avg_compiled(2**24, auto, np.float32)
    assert _fast.max_path(8, geom, paths.Paths(max_pool="compiled"), np.float32) == "compiled"  # asked: still runs
    monkeypatch.setenv("POOLVIZ_COMPILED", "1")
    assert _fast.max_path(8 * 8, pool_geometry((8, 8), 2), auto, np.float32) == "compiled"  # every size, kernel
    assert _fast.max_path(8 * 8, pool_geometry((8, 8), 2), auto, np.float32, route=True) == "compiled"
    assert _fast.avg_compiled(4, auto, np.float32)
    assert _fast.max_path(8, geom, paths.Paths(max_pool="offsets"), np.float32) == "offsets"
    monkeypatch.setenv("POOLVIZ_COMPILED", "yes")
    with pytest.raises(ValueError, match="POOLVIZ_COMPILED='yes' is not understood: use 1"):
        _fast.max_path(2**24, geom, auto, np.float32, route=True)
