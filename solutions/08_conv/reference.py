"""Reference solution of assignment 08: convolution as im2col followed by one matrix product.

`x` is a batch of images `(N, C, H, W)`, `weight` a bank of filters `(O, C, kh, kw)`.
Every function works on the inputs' device and dtype and keeps them.
"""

import torch
import torch.nn.functional as F


def output_size(size, kernel, stride, padding):
    """How many positions a window of `kernel` takes along an axis of `size`: (size + 2p - k) // s + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def check_geometry(x, kh, kw, stride, padding):
    """Raise ValueError unless a (kh, kw) window with this stride and padding fits the 4-D batch `x`."""
    if x.dim() != 4:
        raise ValueError(f"x must be a 4-D batch (N, C, H, W), got {x.dim()} dimensions")
    if kh < 1 or kw < 1 or stride < 1 or padding < 0:
        raise ValueError(f"need kh, kw, stride >= 1 and padding >= 0, got {kh}, {kw}, {stride}, {padding}")
    if kh > x.shape[2] + 2 * padding or kw > x.shape[3] + 2 * padding:
        raise ValueError(f"a {kh}x{kw} kernel does not fit a padded {tuple(x.shape[2:])} image")


def im2col(x, kh, kw, stride=1, padding=0):
    """Unfold every (kh, kw) window of `x` into a column, like torch.nn.functional.unfold.

    x: (N, C, H, W). Returns (N, C*kh*kw, L) with L = out_h * out_w; row c*kh*kw + i*kw + j of
    column l holds x[n, c, oh*stride + i - padding, ow*stride + j - padding], l = oh*out_w + ow.
    """
    check_geometry(x, kh, kw, stride, padding)
    n, c, h, w = x.shape
    out_h, out_w = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    padded = F.pad(x, (padding, padding, padding, padding))
    cols = x.new_empty(n, c, kh, kw, out_h, out_w)
    for i in range(kh):          # one strided slice per kernel offset (i, j): kh*kw copies in all
        for j in range(kw):
            cols[:, :, i, j] = padded[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """Cross-correlation of `x` (N, C, H, W) with `weight` (O, C, kh, kw), plus `bias` (O,).

    out[n, o] = sum over (c, i, j) of weight[o, c, i, j] * window[n, (c, i, j)] + bias[o]:
    one (O, C*kh*kw) @ (C*kh*kw, L) product per image. Returns (N, O, out_h, out_w).
    """
    if weight.dim() != 4 or x.dim() != 4 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"x (N, C, H, W) and weight (O, C, kh, kw) must agree on C, "
                         f"got {tuple(x.shape)} and {tuple(weight.shape)}")
    if weight.dtype != x.dtype or weight.device != x.device:
        raise ValueError(f"x and weight must share dtype and device, got {x.dtype} on {x.device} "
                         f"and {weight.dtype} on {weight.device}")
    o, _, kh, kw = weight.shape
    cols = im2col(x, kh, kw, stride, padding)                # (N, C*kh*kw, L)
    out = weight.reshape(o, -1) @ cols                        # (N, O, L)
    if bias is not None:
        out = out + bias.reshape(1, o, 1)
    n, _, h, w = x.shape
    return out.reshape(n, o, output_size(h, kh, stride, padding), output_size(w, kw, stride, padding))


QUIZ_ANSWERS = {"q1": 16, "q2": "C", "q3": 9, "q4": "B"}  # the right answer to each quiz question
