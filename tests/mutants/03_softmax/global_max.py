"""Max subtracted over the whole array instead of along the softmax axis.

`z.max()` without `axis=..., keepdims=True`: fine for one vector and for rows of
similar scale, but a row far below the global maximum underflows to all zeros
(0 / 0 = nan in softmax, log(0) = -inf in log_softmax).
"""


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max()
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
