"""train records each epoch's loss after the update instead of before it: the history is
shifted by one step and never shows the loss of the initial parameters."""


def train(params, X, y, lr=0.5, epochs=1000):
    history = []
    for _ in range(epochs):
        _, cache = forward(params, X)
        grads = backward(params, cache, y)
        for key in KEYS:
            params[key] -= lr * grads[key]
        history.append(loss(forward(params, X)[0], y))
    return history
