"""conv2d calls torch.nn.functional.conv2d (cuDNN on a GPU): forbidden, so every conv2d test fails.

im2col is the student's own and still earns its points.
"""


def conv2d(x, weight, bias=None, stride=1, padding=0):
    return F.conv2d(x, weight, bias, stride=stride, padding=padding)
