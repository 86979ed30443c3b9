"""Reference solution of assignment 06: max, average and k-max pooling, and the max-pooling gradient.

Feature maps `x` have PyTorch's layout `(N, C, H, W)`. A square window of side
`kernel_size` slides over H and W in steps of `stride` (default: `kernel_size`,
so windows do not overlap) after `padding` rows and columns are added on every
side. The output has `floor((H + 2 * padding - kernel_size) / stride) + 1` rows,
and likewise for the columns (PyTorch's floor mode).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _integer(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _window(kernel_size, stride, padding):
    """Check the window's arguments; returns (k, s, p) as ints, with s = k when stride is None."""
    k = _integer(kernel_size, "kernel_size", 1)
    s = k if stride is None else _integer(stride, "stride", 1)
    p = _integer(padding, "padding", 0)
    if p > k // 2:  # PyTorch's limit: every window keeps at least one real entry
        raise ValueError(f"padding must be at most kernel_size // 2 = {k // 2}, got {p}")
    return k, s, p


def _feature_maps(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {x.ndim} dimensions {x.shape}")
    return x


def _windows(x, k, s, p, fill):
    """Every window of x padded with `fill`: a view of shape (N, C, H_out, W_out, k, k).

    sliding_window_view gives the H + 2p - k + 1 windows of stride 1; keeping every
    s-th leaves floor((H + 2p - k) / s) + 1 of them.
    """
    if min(x.shape[2:]) + 2 * p < k:
        raise ValueError(f"kernel_size {k} is larger than the padded input {x.shape[2:]} + 2 * {p}")
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    return sliding_window_view(padded, (k, k), axis=(2, 3))[:, :, ::s, ::s]


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Largest value of each window; padding is -inf so it never wins. (N, C, H, W) -> (N, C, H_out, W_out)."""
    k, s, p = _window(kernel_size, stride, padding)
    return _windows(_feature_maps(x), k, s, p, -np.inf).max(axis=(4, 5))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean of each window over all k * k entries, padded zeros included. (N, C, H, W) -> (N, C, H_out, W_out)."""
    k, s, p = _window(kernel_size, stride, padding)
    return _windows(_feature_maps(x), k, s, p, 0.0).mean(axis=(4, 5))


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0):
    """Gradient of a loss with respect to x, given dout = dL/d max_pool2d(x, ...).

    dout: (N, C, H_out, W_out), x: (N, C, H, W) -> dx: (N, C, H, W). Each window
    passes its dout entry to the position of its first maximum (row-major order,
    PyTorch's choice on ties); overlapping windows add up.
    """
    k, s, p = _window(kernel_size, stride, padding)
    x = _feature_maps(x)
    windows = _windows(x, k, s, p, -np.inf)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != windows.shape[:4]:
        raise ValueError(f"dout must have the shape of max_pool2d's output {windows.shape[:4]}, got {dout.shape}")
    first = windows.reshape(*windows.shape[:4], k * k).argmax(axis=-1)  # argmax returns the first maximum
    n, c, i, j = np.indices(dout.shape)
    rows, cols = i * s + first // k, j * s + first % k  # in padded coordinates
    dx = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p))
    np.add.at(dx, (n, c, rows, cols), dout)  # unlike dx[...] += dout, adds every window that shares a maximum
    return dx[:, :, p:p + x.shape[2], p:p + x.shape[3]]


def kmax_pool1d(x, k, axis=-1):
    """The k largest values along `axis`, kept in their original order; that axis becomes length k.

    Of equal values at the cut, the earliest are kept.
    """
    rows = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)  # AxisError (a ValueError) for a bad axis
    if _integer(k, "k", 1) > rows.shape[-1]:
        raise ValueError(f"k must be at most the length of axis {axis}, {rows.shape[-1]}, got {k}")
    largest = np.argsort(-rows, axis=-1, kind="stable")[..., :k]
    kept = np.sort(largest, axis=-1)  # back into the original order
    return np.moveaxis(np.take_along_axis(rows, kept, axis=-1), -1, axis)


QUIZ_ANSWERS = {"q1": 16, "q2": "B", "q3": 4 / 9, "q4": "B", "q5": "C"}  # the right answer to each quiz question
