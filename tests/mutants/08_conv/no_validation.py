"""conv2d never checks that x and weight agree on the channels: the product fails with
PyTorch's RuntimeError instead of a ValueError that says what is wrong."""


def conv2d(x, weight, bias=None, stride=1, padding=0):
    o, _, kh, kw = weight.shape
    out = weight.reshape(o, -1) @ im2col(x, kh, kw, stride, padding)
    if bias is not None:
        out = out + bias.reshape(1, o, 1)
    n, _, h, w = x.shape
    return out.reshape(n, o, output_size(h, kh, stride, padding), output_size(w, kw, stride, padding))
