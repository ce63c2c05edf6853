"""Notebook 06, exercise 1: the largest safe step of a central-difference check of max pooling."""
import math

import numpy as np


def safe_step(x, kernel_size, stride=None, padding=0):
    """Largest eps for which central differences of max pooling are exact at every input of x (H, W).

    Moving one input by eps keeps its window's maximum on the right slope while eps is at most the window's
    gap, maximum minus runner-up; so the answer is the smallest gap over all windows (0 at a tie). A window
    with one real input has no runner-up and sets no limit; with no limit at all, every step is safe (inf).
    """
    s = kernel_size if stride is None else stride
    H, W = x.shape
    H_out = (H + 2 * padding - kernel_size) // s + 1
    W_out = (W + 2 * padding - kernel_size) // s + 1
    padded = np.pad(np.asarray(x, dtype=float), padding, constant_values=-np.inf)  # -inf never competes
    step = math.inf
    for oh in range(H_out):
        for ow in range(W_out):
            window = padded[oh * s:oh * s + kernel_size, ow * s:ow * s + kernel_size].ravel()
            values = np.sort(window[window > -np.inf])  # the window's real inputs, smallest first
            if values.size >= 2:
                step = min(step, values[-1] - values[-2])
    return step
