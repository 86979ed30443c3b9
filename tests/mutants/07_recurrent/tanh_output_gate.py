"""tanh instead of sigmoid on the output gate: o lies in (-1, 1) and can flip the sign of tanh(c)."""


def _lstm_gates(a):
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    return _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), np.tanh(a_o)
