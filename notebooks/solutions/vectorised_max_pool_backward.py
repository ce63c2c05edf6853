"""Notebook 08, exercise 1: a vectorised max-pool backward, with no Python loop over the output positions."""
import numpy as np


def max_pool_backward_vectorised(grad_output, x, kernel_size, stride=None):
    """dL/dx of 2-d max pooling without padding; the only Python loop runs over the k*k kernel offsets.

    grad_output : (..., H_out, W_out); x : (..., H, W); returns dx of shape (..., H, W), float32 for a float32
    grad_output, float64 for a float64 or integer one. H_out = (H - k) // stride + 1, and the same for W.

    Switches: a running maximum over the offsets (u, v) in row-major window order, replaced only by a strictly
    larger value, so the first maximum wins a tie (PyTorch's rule). Scatter: one `+=` per offset on the strided
    slice of dx that holds element (u, v) of every window. One slice holds each input at most once (two windows
    put their element (u, v) at different inputs), so the buffered `+=` loses nothing. The offsets go in reverse
    order: an input that wins several windows then adds their gradients in increasing output order, as PyTorch
    does, so float32 results are PyTorch's bit for bit.
    """
    x, grad_output = np.asarray(x), np.asarray(grad_output)
    k = kernel_size
    s = k if stride is None else stride
    H_out, W_out = (x.shape[-2] - k) // s + 1, (x.shape[-1] - k) // s + 1

    def offset_view(a, u, v):  # element (u, v) of every window: a view of shape (..., H_out, W_out)
        return a[..., u: u + s * (H_out - 1) + 1: s, v: v + s * (W_out - 1) + 1: s]

    best = np.full(x.shape[:-2] + (H_out, W_out), -np.inf, dtype=np.result_type(x.dtype, np.float32))
    code = np.zeros(best.shape, dtype=np.min_scalar_type(k * k - 1))  # u * k + v of each window's first maximum
    for c in range(k * k):
        view = offset_view(x, *divmod(c, k))
        wins = view > best  # strictly larger: a later equal value does not take over
        np.copyto(best, view, where=wins)
        code[wins] = c

    dx = np.zeros(x.shape, dtype=np.result_type(grad_output.dtype, np.float32))
    for c in reversed(range(k * k)):
        slice_c = offset_view(dx, *divmod(c, k))
        slice_c += np.where(code == c, grad_output, 0)
    return dx
