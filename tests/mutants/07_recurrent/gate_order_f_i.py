"""LSTM gates read in the order f, i, g, o: the input and forget blocks of the weights swapped.

Diagrams often draw the forget gate first; PyTorch stacks the rows as i, f, g, o.
No error, just wrong numbers (and a forget gate that behaves like the input gate).
"""


def _lstm_gates(a):
    a_f, a_i, a_g, a_o = np.split(a, 4, axis=1)
    return _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
