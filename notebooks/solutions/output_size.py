"""Notebook 05, exercise: the number of windows along one axis (PyTorch's rule)."""


def output_size(L, kernel_size, stride, padding=0, dilation=1, ceil_mode=False):
    span = dilation * (kernel_size - 1) + 1           # inputs covered by one window
    room = L + 2 * padding - span                      # how far the window's start can move
    if not ceil_mode:
        return room // stride + 1
    n = -(-room // stride) + 1                         # round up: keep a partial last window...
    if (n - 1) * stride >= L + padding:                # ...unless it would start in the right padding
        n -= 1
    return n
