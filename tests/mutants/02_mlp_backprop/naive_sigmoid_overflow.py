"""sigmoid written as e^x / (1 + e^x): exp overflows above x = 709 and inf / inf gives NaN."""


def sigmoid(x):
    e = np.exp(np.asarray(x, dtype=np.float64))
    return e / (1 + e)
