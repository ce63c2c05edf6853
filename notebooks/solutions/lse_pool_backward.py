"""Notebook 07, exercise 1: the backward of LogSumExp pooling (2-d, stride = kernel, no padding)."""
import numpy as np


def lse_pool_backward(grad_output, x, kernel_size, beta):
    """dL/dx of y = (1/beta) * log(mean(exp(beta * window))) over k x k windows with stride k.

    grad_output (H // k, W // k), x (H, W) -> dx (H, W). Each window's g is shared by softmax(beta * window),
    computed with the window's maximum subtracted first: the same weights, but every exponent is <= 0, so exp
    never overflows, and the largest term is 1, so the sum is never 0. Rows and columns left over when k does
    not divide H or W belong to no window and receive 0.
    """
    k = kernel_size
    x = np.asarray(x, dtype=float)
    g = np.asarray(grad_output, dtype=float)
    dx = np.zeros(x.shape)
    for i in range(x.shape[0] // k):
        for j in range(x.shape[1] // k):
            window = x[i * k:(i + 1) * k, j * k:(j + 1) * k]
            e = np.exp(beta * (window - window.max()))
            dx[i * k:(i + 1) * k, j * k:(j + 1) * k] = g[i, j] * e / e.sum()
    return dx
