"""binary_entropy written out as -p1 log p1 - (1 - p1) log(1 - p1) with no 0 log 0 = 0.

nan for the pure nodes p1 = 0 and p1 = 1, and no check that p1 lies in [0, 1].
"""


def binary_entropy(p1, base=2):
    p1 = np.asarray(p1, dtype=np.float64)
    return -(p1 * np.log(p1) + (1 - p1) * np.log(1 - p1)) / np.log(base)
