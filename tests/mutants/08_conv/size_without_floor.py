"""The output size rounds up, ceil((H + 2p - k) / s) + 1, instead of flooring.

Right whenever the stride divides H + 2p - k (stride 1 always); one extra,
half-outside window otherwise.
"""


def output_size(size, kernel, stride, padding):
    return -(-(size + 2 * padding - kernel) // stride) + 1
