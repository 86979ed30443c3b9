"""im2col ignores `padding`: the windows never see the zero border.

The output size still counts the padding, so the strided slices come up short
and the copy fails (or, for padding 0, everything is right).
"""


def im2col(x, kh, kw, stride=1, padding=0):
    check_geometry(x, kh, kw, stride, padding)
    n, c, h, w = x.shape
    out_h, out_w = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    cols = x.new_zeros(n, c, kh, kw, out_h, out_w)
    for i in range(kh):
        for j in range(kw):
            window = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
            cols[:, :, i, j, :window.shape[2], :window.shape[3]] = window
    return cols.reshape(n, c * kh * kw, out_h * out_w)
