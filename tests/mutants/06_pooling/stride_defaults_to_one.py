"""stride defaults to 1, as for a convolution, instead of kernel_size.

`def max_pool2d(x, kernel_size, stride=1, ...)`: overlapping windows and a far
larger output whenever the caller leaves stride out. Right when stride is given.
"""


def max_pool2d(x, kernel_size, stride=1, padding=0):
    k, s, p = _window(kernel_size, stride, padding)
    return _windows(_feature_maps(x), k, s, p, -np.inf).max(axis=(4, 5))


def avg_pool2d(x, kernel_size, stride=1, padding=0):
    k, s, p = _window(kernel_size, stride, padding)
    return _windows(_feature_maps(x), k, s, p, 0.0).mean(axis=(4, 5))
