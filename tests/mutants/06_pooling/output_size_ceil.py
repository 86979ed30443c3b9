"""Output size rounded up: ceil((H + 2p - k) / s) + 1 instead of floor.

The loop then pools a partial window at the bottom and right edges (PyTorch's
ceil_mode=True). Right whenever the windows tile the padded input exactly, as in
the notes' 4x4 example; one row or column too many otherwise.
"""


def _pool(x, kernel_size, stride, padding, fill, reduce):
    k, s, p = _window(kernel_size, stride, padding)
    x = _feature_maps(x)
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    h_out = int(np.ceil((x.shape[2] + 2 * p - k) / s)) + 1
    w_out = int(np.ceil((x.shape[3] + 2 * p - k) / s)) + 1
    out = np.empty(x.shape[:2] + (h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = reduce(padded[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0):
    return _pool(x, kernel_size, stride, padding, -np.inf, np.max)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    return _pool(x, kernel_size, stride, padding, 0.0, np.mean)
