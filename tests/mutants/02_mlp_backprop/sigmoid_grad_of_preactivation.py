"""sigmoid_grad treats its argument as the pre-activation x and applies the sigmoid again,
although it receives the output s = sigmoid(x): the derivative becomes sigmoid(s) (1 - sigmoid(s))."""


def sigmoid_grad(s):
    s = sigmoid(np.asarray(s, dtype=np.float64))
    return s * (1 - s)
