"""Notebooks 04 and 05, exercise: the max-pool backward, with overlapping windows and -inf padding."""
import numpy as np

from .max_pool_forward import max_pool_forward


def max_pool_backward(grad_output, x, kernel_size, stride=None, padding=0):
    """dL/dx of 2-d max pooling: each window's gradient is ADDED to its first maximum.

    grad_output : (H_out, W_out); x : (H, W); returns dx of shape (H, W).
    """
    _, switches = max_pool_forward(x, kernel_size, stride, padding)
    dx = np.zeros(x.shape)
    H_out, W_out = grad_output.shape
    for oh in range(H_out):
        for ow in range(W_out):
            r, c = switches[oh, ow]
            dx[r, c] += grad_output[oh, ow]  # +=: overlapping windows may share a winner
    return dx


def max_pool_backward_vectorised(grad_output, x, kernel_size, stride=None, padding=0):
    """The same, without the Python loop over windows: np.add.at accumulates repeated indices."""
    _, switches = max_pool_forward(x, kernel_size, stride, padding)
    dx = np.zeros(x.shape)
    np.add.at(dx, (switches[..., 0], switches[..., 1]), grad_output)
    return dx
