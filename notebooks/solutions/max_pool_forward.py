"""Notebook 04, exercise: max pooling forward by loops, returning the switches (argmax positions)."""
import numpy as np


def max_pool_forward(x, kernel_size, stride=None, padding=0):
    """2-d max pooling of x (H, W). Returns (y, switches): y (H_out, W_out) and the (row, col) of each
    window's first maximum, shape (H_out, W_out, 2). Padding is -inf: it never wins."""
    k = kernel_size
    s = k if stride is None else stride
    H, W = x.shape
    H_out = (H + 2 * padding - k) // s + 1
    W_out = (W + 2 * padding - k) // s + 1
    y = np.empty((H_out, W_out))
    switches = np.empty((H_out, W_out, 2), dtype=int)
    for oh in range(H_out):
        for ow in range(W_out):
            best, where = -np.inf, None
            for jh in range(k):
                for jw in range(k):
                    r, c = oh * s - padding + jh, ow * s - padding + jw
                    if 0 <= r < H and 0 <= c < W and (where is None or x[r, c] > best):
                        best, where = x[r, c], (r, c)
            y[oh, ow] = best
            switches[oh, ow] = where
    return y, switches
