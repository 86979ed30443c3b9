"""The LSTM pre-activation without b_hh: only one of PyTorch's two biases is added."""


def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, return_cache=False):
    x, h_prev, W_ih, W_hh, b_ih, b_hh = _cell_arguments(4, x, h_prev, W_ih, W_hh, b_ih, b_hh)
    c_prev = np.asarray(c_prev, dtype=np.float64)
    if c_prev.shape != h_prev.shape:
        raise ValueError(f"c_prev must have the shape of h_prev {h_prev.shape}, got {c_prev.shape}")
    i, f, g, o = _lstm_gates(x @ W_ih.T + b_ih + h_prev @ W_hh.T)
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    if not return_cache:
        return h, c
    return h, c, dict(x=x, h_prev=h_prev, c_prev=c_prev, W_ih=W_ih, W_hh=W_hh, i=i, f=f, g=g, o=o, c=c)
