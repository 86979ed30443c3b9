"""loss and backward never check that y has the shape of out: y of shape (N,) against out of
shape (N, 1) silently broadcasts to an (N, N) matrix of differences."""


def _targets(y, out):
    return np.asarray(y, dtype=np.float64)
