"""Window geometry and argument checking, shared by every pooling op.

This is the one place where the output-size rule lives. For one spatial axis of
length ``L`` pooled with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d``::

    L_out = floor((L + 2p - d*(k - 1) - 1 + (s - 1 if ceil_mode else 0)) / s) + 1

and, with ``ceil_mode``, one window less when the last window would start at or
beyond ``L + p`` (every window must start inside the input or the left padding).
Window ``o`` covers the unpadded input coordinates ``o*s - p + j*d`` for ``j = 0..k-1``;
coordinates outside ``[0, L)`` are padding. This is PyTorch's rule
(``torch.nn.functional.max_pool2d``, ``aten/src/ATen/native/Pool.h``).

Every check raises ``ValueError`` (or ``TypeError`` for a wrong type) with a message
that names the parameter, what was wrong, and what to do instead. The arrays themselves are
checked in :mod:`poolviz.checks`.
"""
from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import numpy as np

from .checks import check_array, check_grad_output  # noqa: F401  (their old home; poolviz.checks has them now)

__all__ = [
    "AxisGeometry",
    "PoolGeometry",
    "as_int_tuple",
    "output_size",
    "pool_geometry",
]


def as_int_tuple(value, name: str, n: int) -> tuple[int, ...]:
    """An int, or a sequence of ``n`` ints (a 1-element sequence is repeated), as a tuple."""
    if type(value) is int:  # the common case, first: small inputs are dominated by this overhead
        return (value,) * n
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got the bool {value!r}.")
    if isinstance(value, numbers.Integral):
        return (int(value),) * n
    if isinstance(value, (tuple, list, np.ndarray)):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        if len(items) == 1:
            items = items * n
        if len(items) == n and all(
            isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in items
        ):
            return tuple(int(v) for v in items)
        raise TypeError(
            f"{name} must be an int or a tuple of {n} ints, got {value!r}"
            + (f" (a {n}-d pool takes {n} value{'s' if n > 1 else ''})." if len(items) != n else ".")
        )
    raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {type(value).__name__} {value!r}.")


def output_size(length: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """Number of windows along one axis, by PyTorch's rule (see the module docstring).

    May return zero or a negative number when the kernel does not fit; callers check.
    """
    for name, value, low in (("length", length, 0), ("kernel", kernel, 1), ("stride", stride, 1),
                             ("padding", padding, 0), ("dilation", dilation, 1)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"output_size: {name} must be an int, got {value!r}.")
        if value < low:
            raise ValueError(f"output_size: {name} must be at least {low}, got {value}.")
    span = dilation * (kernel - 1) + 1
    numerator = length + 2 * padding - span + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1  # floor division, like PyTorch's div_rtn
    if ceil_mode and out > 0 and (out - 1) * stride >= length + padding:
        out -= 1
    return out


@dataclass(frozen=True)
class AxisGeometry:
    """The windows along one axis: input ``length`` -> ``out`` windows."""

    length: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    ceil_mode: bool
    out: int

    @property
    def starts(self) -> np.ndarray:
        """First coordinate of each window, in unpadded input coordinates (may be negative), shape (out,)."""
        return np.arange(self.out) * self.stride - self.padding

    @property
    def span(self) -> int:
        """Distance from a window's first to its last element, plus one: ``d*(k-1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    def coords(self) -> np.ndarray:
        """Input coordinate of element ``j`` of window ``o``, shape (out, kernel); outside [0, length) is padding."""
        return self.starts[:, None] + self.dilation * np.arange(self.kernel)[None, :]

    def inside(self) -> np.ndarray:
        """Boolean (out, kernel): is element ``j`` of window ``o`` a real input (not padding)?"""
        c = self.coords()
        return (c >= 0) & (c < self.length)

    def counts(self, count_include_pad: bool) -> np.ndarray:
        """Average-pool divisor factor along this axis, shape (out,), as PyTorch computes it.

        With ``count_include_pad`` the window is clipped to the padded extent ``[-p, L + p)``
        (a ceil_mode window that runs past it counts only its part inside); without, to ``[0, L)``.
        """
        start = self.starts
        end = start + self.span
        if count_include_pad:
            return np.minimum(end, self.length + self.padding) - start
        return np.minimum(end, self.length) - np.maximum(start, 0)

    @property
    def padded_extent(self) -> tuple[int, int]:
        """(left, right) amount of padding the windows reach; right may be negative (unused tail)."""
        needed = (self.out - 1) * self.stride + self.span
        return self.padding, needed - self.padding - self.length


@dataclass(frozen=True, eq=False)
class PoolGeometry:
    """Geometry of a 2-d pooling: one :class:`AxisGeometry` for rows (``h``) and one for columns (``w``).

    :func:`pool_geometry` returns one shared object per set of arguments (so it hashes by identity,
    which keeps the per-geometry caches cheap); compare geometries by their ``h`` and ``w``.
    """

    h: AxisGeometry
    w: AxisGeometry

    @property
    def out_shape(self) -> tuple[int, int]:
        return self.h.out, self.w.out

    @property
    def in_shape(self) -> tuple[int, int]:
        return self.h.length, self.w.length

    @property
    def kernel(self) -> tuple[int, int]:
        return self.h.kernel, self.w.kernel

    def offsets(self):
        """Kernel offsets ``(jh, jw)`` in row-major window order: the order that decides ties."""
        for jh in range(self.h.kernel):
            for jw in range(self.w.kernel):
                yield jh, jw


def pool_geometry(in_shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                  dims: int = 2, max_padding: bool = True) -> PoolGeometry:
    """Check pooling arguments against an input's spatial shape and return the window geometry.

    Parameters
    ----------
    in_shape : tuple of int
        Spatial shape ``(H, W)`` (or ``(L,)`` when ``dims=1``).
    kernel_size, stride, padding, dilation : int or tuple
        As in ``torch.nn.functional.max_pool2d``; ``stride=None`` means ``stride = kernel_size``.
    ceil_mode : bool
    dims : 1 or 2
        A 1-d geometry is returned as a 2-d one whose row axis has length 1 and kernel 1.
    max_padding : bool
        Enforce PyTorch's ``padding <= kernel_size // 2`` (true for every PyTorch pool).

    Returns
    -------
    PoolGeometry

    Raises
    ------
    TypeError, ValueError
        With a message naming the argument and the fix.
    """
    if type(kernel_size) is int and (stride is None or type(stride) is int) and type(padding) is int \
            and type(dilation) is int and type(ceil_mode) is bool:  # the common case, without the conversions
        k = (kernel_size,) * dims
        return _checked_geometry(tuple(map(int, in_shape)), k, k if stride is None else (stride,) * dims,
                                 (padding,) * dims, (dilation,) * dims, ceil_mode, dims, max_padding)
    k = as_int_tuple(kernel_size, "kernel_size", dims)
    s = k if stride is None else as_int_tuple(stride, "stride", dims)
    p = as_int_tuple(padding, "padding", dims)
    d = as_int_tuple(dilation, "dilation", dims)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode must be True or False, got {ceil_mode!r}.")
    return _checked_geometry(tuple(map(int, in_shape)), k, s, p, d, bool(ceil_mode), dims, max_padding)


@functools.lru_cache(maxsize=512)
def _checked_geometry(in_shape, k, s, p, d, ceil_mode, dims, max_padding) -> PoolGeometry:
    """The range checks and the geometry, cached: a small input's pooling is dominated by this overhead."""
    for name, values, low, hint in [
        ("kernel_size", k, 1, "a window needs at least one element"),
        ("stride", s, 1, "use stride=None for the default (stride = kernel_size)"),
        ("dilation", d, 1, "use dilation=1 for an ordinary, contiguous window"),
    ]:
        if min(values) < low:
            raise ValueError(f"{name} must be positive, got {name}={_show(values)}: {hint}.")
    if min(p) < 0:
        raise ValueError(f"padding must be zero or positive, got padding={_show(p)}.")
    if max_padding:
        for axis, (pi, ki) in enumerate(zip(p, k)):
            if pi > ki // 2:
                raise ValueError(
                    f"padding={_show(p)} is too large for kernel_size={_show(k)}: padding may be at most "
                    f"half the kernel (kernel_size // 2 = {ki // 2}{_axis_name(axis, dims)}), otherwise some "
                    f"windows would hold only padding. PyTorch has the same rule. Use padding <= {ki // 2}."
                )
    if dims == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
        in_shape = (1,) + tuple(in_shape)
    axes = []
    for axis in range(2):
        length = int(in_shape[axis])
        out = output_size(length, k[axis], s[axis], p[axis], d[axis], bool(ceil_mode))
        if out < 1:
            span = d[axis] * (k[axis] - 1) + 1
            what = "length" if dims == 1 else ("height" if axis == 0 else "width")
            raise ValueError(
                f"the pooling window does not fit: the input {what} is {length}"
                f"{f' (plus padding {p[axis]} on each side)' if p[axis] else ''}, but the window spans {span} "
                f"(kernel_size={_show(k[-dims:])}, dilation={_show(d[-dims:])}), so the output would be empty. "
                f"Use a smaller kernel or dilation, more padding, or a larger input."
            )
        axes.append(AxisGeometry(length, k[axis], s[axis], p[axis], d[axis], bool(ceil_mode), out))
    geom = PoolGeometry(*axes)
    for axis, g in enumerate(axes):
        empty = ~g.inside().any(axis=1)
        if empty.any():
            o = int(np.flatnonzero(empty)[0])
            what = "position" if dims == 1 else ("row" if axis == 0 else "column")
            coords = [int(c) for c in g.coords()[o]]  # plain ints: [-1, 3], not [np.int64(-1), ...]
            raise ValueError(
                f"with padding={_show(p[-dims:])} and dilation={_show(d[-dims:])}, window {what} {o} holds only "
                f"padding (its elements fall at {coords}, outside 0..{g.length - 1}). PyTorch returns "
                f"-inf and an index outside the input there; poolviz refuses. Use less padding or less dilation."
            )
    return geom


def _show(values: tuple[int, ...]):
    return values[0] if len(values) == 1 else values


def _axis_name(axis: int, dims: int) -> str:
    return "" if dims == 1 else (" along the rows" if axis == 0 else " along the columns")
