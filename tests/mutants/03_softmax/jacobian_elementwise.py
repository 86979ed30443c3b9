"""softmax_jacobian as diag(s) - s * s: the elementwise square instead of the outer product s s^T.

(K, K) - (K,) broadcasts without complaint, so the shape is right but every
row gets the same s_j^2 subtracted instead of s_i s_j.
"""


def softmax_jacobian(z):
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1:
        raise ValueError(f"softmax_jacobian takes a 1-D vector of logits, got shape {z.shape}")
    s = softmax(z)
    return np.diag(s) - s * s
