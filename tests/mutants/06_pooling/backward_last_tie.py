"""max_pool2d_backward routes a tied window's gradient to its last maximum.

Comparing with `>=` while scanning the window (or argmax of the reversed window)
keeps the last of equal values; PyTorch keeps the first. Right whenever the
maxima are unique.
"""


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0):
    k, s, p = _window(kernel_size, stride, padding)
    x = _feature_maps(x)
    windows = _windows(x, k, s, p, -np.inf)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != windows.shape[:4]:
        raise ValueError(f"dout must have shape {windows.shape[:4]}, got {dout.shape}")
    last = k * k - 1 - windows.reshape(*windows.shape[:4], k * k)[..., ::-1].argmax(axis=-1)
    n, c, i, j = np.indices(dout.shape)
    dx = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p))
    np.add.at(dx, (n, c, i * s + last // k, j * s + last % k), dout)
    return dx[:, :, p:p + x.shape[2], p:p + x.shape[3]]
