"""Notebook 10, exercise 1: max unpooling of one plane."""
import numpy as np


def max_unpool(values, switches, output_shape):
    """Write each value at its switch in a plane of zeros, as ``torch.nn.functional.max_unpool2d`` does.

    values : (H_out, W_out); switches : (H_out, W_out) ints, flat ``row * W + col``; output_shape : (H, W).
    Returns the plane, of shape (H, W) and the values' dtype. Unpooling writes (=), it does not add: where
    windows share a switch one of their values is left there (here the last in row-major order).
    """
    H, W = output_shape
    out = np.zeros((H, W), dtype=np.asarray(values).dtype)
    for (i, j), s in np.ndenumerate(switches):
        r, c = divmod(int(s), W)   # the switch was made in a plane of width W
        out[r, c] = values[i, j]
    return out
