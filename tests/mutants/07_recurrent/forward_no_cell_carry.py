"""lstm_forward carries h but restarts every step from c0: the cell state never accumulates memory.

Right for T = 1, wrong from the second step on.
"""


def lstm_forward(xs, h0, c0, W_ih, W_hh, b_ih, b_hh):
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 3 or len(xs) == 0:
        raise ValueError(f"xs must have shape (T, N, I) with T >= 1, got {xs.shape}")
    h, c = h0, c0
    hs = []
    for x in xs:
        h, c = lstm_cell(x, h, c0, W_ih, W_hh, b_ih, b_hh)
        hs.append(h)
    return np.stack(hs), (h, c)
