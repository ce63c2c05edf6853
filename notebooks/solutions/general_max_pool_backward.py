"""Notebook 05, exercise 1 with its optional part: the max-pool backward with stride, padding and dilation."""
import numpy as np


def max_pool_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1):
    """dL/dx of 2-d max pooling: each window's gradient is ADDED to its first maximum (its switch).

    grad_output : (H_out, W_out), one entry per window; x : (H, W); returns dx of shape (H, W).
    The window of output indices (i, j) holds the input indices (i*s - p + u*d, j*s - p + v*d), 0 <= u, v < k.
    Members outside x are -inf padding: skipped, never the maximum. The number of windows is read from
    grad_output's shape, so ceil_mode needs nothing more here. NaN is not treated specially (PyTorch's
    maximum is a NaN when the window holds one).
    """
    k, p, d = kernel_size, padding, dilation
    s = k if stride is None else stride
    H, W = x.shape
    dx = np.zeros((H, W))
    H_out, W_out = grad_output.shape
    for i in range(H_out):
        for j in range(W_out):
            best, switch = -np.inf, None
            for u in range(k):
                for v in range(k):
                    r, c = i * s - p + u * d, j * s - p + v * d
                    if not (0 <= r < H and 0 <= c < W):
                        continue  # padding: never read it (a negative index would wrap around)
                    if switch is None or x[r, c] > best:  # strictly larger: the first maximum wins a tie
                        best, switch = x[r, c], (r, c)
            if switch is None:
                raise ValueError(f"window {(i, j)} holds only padding: use less padding or less dilation.")
            dx[switch] += grad_output[i, j]  # +=: overlapping windows may share a switch
    return dx
