"""Small example inputs for the pictures: random, tied, post-ReLU, and a real image patch.

Everything here is deterministic (fixed seeds) and numpy-only, so a figure in a notebook
shows the same numbers on every run.

The real patch, ``poolviz/data/hopper_patch.txt``, is a 16x16 greyscale crop around the
left eye and glasses of the portrait of Grace Hopper (US Navy photograph, public domain) that
matplotlib ships as ``mpl-data/sample_data/grace_hopper.jpg``. It was made by
:func:`_make_hopper_patch` (block-averaged 6x6 pixels to 1, then rounded to uint8); nothing
is downloaded.

The handwritten digits, ``poolviz/data/digits.csv.gz`` (:func:`load_digits`), are the UCI "Optical
Recognition of Handwritten Digits" test set (Alpaydin and Kaynak 1998, CC BY 4.0): 1797 images of 8x8
pixels, values 0..16. ``poolviz/data/DIGITS.md`` gives the source, the licence and the citation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["PRESETS", "example_input", "image_patch", "load_digits"]

_PATCH_FILE = Path(__file__).with_name("data") / "hopper_patch.txt"
_DIGITS_FILE = Path(__file__).with_name("data") / "digits.csv.gz"
_CROP = (slice(176, 272), slice(176, 272))  # rows, cols of the 600x512 photograph: one eye and the glasses
_BLOCK = 6  # 96 pixels / 6 = 16 cells per side

#: Input presets understood by :func:`example_input` (and offered by the explorer).
PRESETS = ("random", "ties", "relu", "image")


def image_patch() -> np.ndarray:
    """The shipped 16x16 greyscale image patch, as float64 in [0, 1] (0 black, 1 white).

    Returns
    -------
    ndarray of shape (16, 16)
    """
    return np.loadtxt(_PATCH_FILE, dtype=np.uint8).astype(np.float64) / 255.0


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The shipped handwritten digits: 1797 images of 8x8 pixels and their labels (see ``data/DIGITS.md``).

    Returns
    -------
    images : ndarray of float64, shape (1797, 8, 8)
        Pixel values, integers 0..16 (the number of "on" pixels in a 4x4 block of the original 32x32 bitmap).
    labels : ndarray of int64, shape (1797,)
        The digit, 0..9, in the file's order (not grouped by class).
    """
    import gzip

    with gzip.open(_DIGITS_FILE, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :64].reshape(-1, 8, 8).astype(np.float64), table[:, 64]


def _make_hopper_patch() -> np.ndarray:
    """Rebuild the patch from matplotlib's sample image (needs matplotlib; used once to write the file)."""
    import matplotlib.cbook as cbook
    import matplotlib.image as mimage

    rgb = mimage.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).astype(np.float64)
    grey = rgb[..., :3] @ np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma
    crop = grey[_CROP]
    n = crop.shape[0] // _BLOCK
    blocks = crop.reshape(n, _BLOCK, n, _BLOCK).mean(axis=(1, 3))
    return np.clip(np.rint(blocks), 0, 255).astype(np.uint8)


def example_input(kind: str = "random", shape=(6, 6), seed: int = 0) -> np.ndarray:
    """A small deterministic input for pooling pictures.

    Parameters
    ----------
    kind : {"random", "ties", "relu", "image"}
        ``"random"``: continuous standard-normal values, rounded to 2 decimals (no ties in practice).
        ``"ties"``: integers 0..3, so most windows hold a tied maximum.
        ``"relu"``: ``max(0, normal)`` rounded to 2 decimals: about half the inputs are exactly 0.
        ``"image"``: the top-left ``shape`` crop of :func:`image_patch` (at most 16x16), rounded to 2 decimals.
    shape : (int, int)
        (H, W).
    seed : int
        Seed of the random presets.

    Returns
    -------
    ndarray of shape ``shape`` (float64)

    Raises
    ------
    ValueError
        For an unknown ``kind``, or an ``"image"`` shape larger than 16x16.
    """
    H, W = (int(shape), int(shape)) if np.isscalar(shape) else (int(shape[0]), int(shape[1]))
    if H < 1 or W < 1:
        raise ValueError(f"shape must be positive, got {(H, W)}.")
    rng = np.random.default_rng(seed)
    if kind == "random":
        return np.round(rng.standard_normal((H, W)), 2)
    if kind == "ties":
        return rng.integers(0, 4, size=(H, W)).astype(np.float64)
    if kind == "relu":
        return np.round(np.maximum(rng.standard_normal((H, W)), 0.0), 2)
    if kind == "image":
        patch = image_patch()
        if H > patch.shape[0] or W > patch.shape[1]:
            raise ValueError(f"the image patch is {patch.shape[0]}x{patch.shape[1]}; ask for at most that, "
                             f"got shape {(H, W)}.")
        return np.round(patch[:H, :W], 2)
    raise ValueError(f"unknown input kind {kind!r}; choose one of {', '.join(map(repr, PRESETS))}.")
