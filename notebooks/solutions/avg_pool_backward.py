"""Notebook 02, exercise: the average-pool backward with stride and zero padding (counted in the divisor)."""
import numpy as np


def avg_pool_backward(grad_output, x, kernel_size, stride=None, padding=0):
    """dL/dx of 2-d average pooling: every real element of a window receives g / k^2.

    k^2 is the divisor here because this is PyTorch's default (count_include_pad=True) in floor mode, where
    every window lies inside the padded input (notebook 02, section 7); padding cells receive nothing.

    grad_output : (H_out, W_out); x : (H, W); returns dx of shape (H, W).
    """
    k = kernel_size
    s = k if stride is None else stride
    H, W = x.shape
    H_out, W_out = grad_output.shape
    dx = np.zeros((H, W))
    for i in range(H_out):  # output indices (i, j)
        for j in range(W_out):
            for a in range(k):  # window offsets (a, b)
                for b in range(k):
                    r, c = i * s - padding + a, j * s - padding + b  # input indices (r, c)
                    if 0 <= r < H and 0 <= c < W:  # padding zeros receive nothing
                        dx[r, c] += grad_output[i, j] / (k * k)
    return dx
