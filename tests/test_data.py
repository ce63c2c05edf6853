"""The example inputs are deterministic, and the shipped image patch is what its docstring says."""
import numpy as np
import pytest

from poolviz.data import PRESETS, _make_hopper_patch, example_input, image_patch


def test_image_patch_is_a_16x16_greyscale_patch_in_unit_range():
    p = image_patch()
    assert p.shape == (16, 16) and p.dtype == np.float64
    assert 0 <= p.min() < p.max() <= 1
    assert len(np.unique(p)) > 50  # a real photograph, not a flat or synthetic pattern


def test_shipped_patch_matches_its_recipe():
    pytest.importorskip("matplotlib")
    try:
        rebuilt = _make_hopper_patch()
    except FileNotFoundError:
        pytest.skip("matplotlib's sample data is not installed")
    np.testing.assert_array_equal(rebuilt.astype(float) / 255, image_patch())


@pytest.mark.parametrize("kind", PRESETS)
def test_presets_are_deterministic_and_shaped(kind):
    a, b = example_input(kind, (5, 7)), example_input(kind, (5, 7))
    assert a.shape == (5, 7) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)


def test_preset_character():
    ties = example_input("ties", (8, 8))
    assert set(np.unique(ties)) <= {0.0, 1.0, 2.0, 3.0}
    relu = example_input("relu", (8, 8))
    assert (relu >= 0).all() and 0.3 < np.mean(relu == 0) < 0.7
    assert len(np.unique(example_input("random", (8, 8)))) > 50


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown input kind"):
        example_input("noise")
    with pytest.raises(ValueError, match="at most"):
        example_input("image", (17, 4))


def test_the_shipped_digits_are_the_uci_test_set():
    from poolviz.data import load_digits

    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64 and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 16 and np.array_equal(images, np.round(images))
    # the class distribution of optdigits.tes, as the UCI dataset description lists it
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # the first test image is a 0: a ring of ink around an empty centre
    assert labels[0] == 0 and images[0, 3:5, 3:5].max() == 0 and images[0, 1:7, 1:7].max() >= 13
