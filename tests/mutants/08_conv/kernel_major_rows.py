"""im2col orders the rows (i, j, c) instead of unfold's (c, i, j).

Right for one channel; for C > 1 the rows no longer line up with the
filters unrolled by weight.reshape(O, -1), so conv2d is wrong too.
"""


def im2col(x, kh, kw, stride=1, padding=0):
    check_geometry(x, kh, kw, stride, padding)
    n, c, h, w = x.shape
    out_h, out_w = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    padded = F.pad(x, (padding, padding, padding, padding))
    cols = x.new_empty(n, kh, kw, c, out_h, out_w)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = padded[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return cols.reshape(n, c * kh * kw, out_h * out_w)
