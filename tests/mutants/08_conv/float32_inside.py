"""conv2d computes in float32 whatever the inputs: the dtype is not kept and float64 loses precision."""

_reference_conv2d = conv2d


def conv2d(x, weight, bias=None, stride=1, padding=0):
    return _reference_conv2d(x.float(), weight.float(), None if bias is None else bias.float(), stride, padding)
