"""max_pool2d_backward scatters with `dx[n, c, rows, cols] += dout` instead of np.add.at.

With fancy indexing a repeated index is written once, so an entry that is the
maximum of several overlapping windows gets one window's gradient instead of
their sum. Right when the windows do not overlap (stride >= kernel_size).
"""


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0):
    k, s, p = _window(kernel_size, stride, padding)
    x = _feature_maps(x)
    windows = _windows(x, k, s, p, -np.inf)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != windows.shape[:4]:
        raise ValueError(f"dout must have shape {windows.shape[:4]}, got {dout.shape}")
    first = windows.reshape(*windows.shape[:4], k * k).argmax(axis=-1)
    n, c, i, j = np.indices(dout.shape)
    dx = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p))
    dx[n, c, i * s + first // k, j * s + first % k] += dout
    return dx[:, :, p:p + x.shape[2], p:p + x.shape[3]]
