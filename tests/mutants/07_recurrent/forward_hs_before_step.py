"""lstm_forward stores each h before the step instead of after: hs[0] is h0 and h_T is missing from hs."""


def lstm_forward(xs, h0, c0, W_ih, W_hh, b_ih, b_hh):
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 3 or len(xs) == 0:
        raise ValueError(f"xs must have shape (T, N, I) with T >= 1, got {xs.shape}")
    h, c = h0, c0
    hs = []
    for x in xs:
        hs.append(h)
        h, c = lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)
    return np.stack(hs), (h, c)
