"""log_softmax computed as np.log(softmax(z)).

Stable softmax, but a probability that underflows to 0 gives log(0) = -inf
instead of an ordinary large negative number; cross_entropy inherits the -inf/inf.
"""


def log_softmax(z, axis=-1):
    return np.log(softmax(z, axis=axis))
