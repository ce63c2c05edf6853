"""Notebook 03, exercise: the partial derivatives of max(a, b), with the first-maximum rule at a tie."""


def max_derivative(a, b):
    """(d max/da, d max/db): indicators of the winner; at a tie a (the first) wins."""
    if a >= b:
        return 1.0, 0.0
    return 0.0, 1.0
