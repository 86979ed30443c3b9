"""im2col calls F.unfold through getattr on a computed name: the static scan cannot see it,
the guard in the child catches it while im2col runs (and conv2d, which calls im2col)."""


def im2col(x, kh, kw, stride=1, padding=0):
    check_geometry(x, kh, kw, stride, padding)
    return getattr(F, "un" + "fold")(x, (kh, kw), stride=stride, padding=padding)
