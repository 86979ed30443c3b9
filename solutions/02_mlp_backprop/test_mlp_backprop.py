"""Hidden tests of assignment 02 (mlp_backprop), graded against PyTorch in float64.

Oracles: `torch.sigmoid` for the activation (including |x| > 700),
`torch.nn.functional.mse_loss` for the loss, `torch.autograd` on the same
network for every parameter's gradient, central finite differences of the loss
written here with `scipy.special.expit`, and full-batch gradient descent on
torch's gradients for `train`.
The student's `train` updates a copy of `params` in the sandbox, so it is
graded through the loss history it returns. Messages name what failed, never
the expected values.
PYTEST_DONT_REWRITE: pytest's assertion rewriting would append the compared
values, expected ones included, to every failure message.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import expit

from autograder.testkit import assert_close, assert_finite, assert_raises, numeric_gradient, quiz_check

KEYS = ("W2", "b2", "W1", "b1")  # output layer first: backprop reaches it first, so its error shows first
OVERFLOW_HINT = ("exp overflows float64 above about 709, and e^x / (1 + e^x) is then inf / inf = NaN; "
                 "exponentiate -|x| only: 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) for x < 0")
LARGE = {"negative": (-1, "x < -700"), "positive": (1, "x > 700")}  # side: sign, description
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def t64(a):
    """A float64 tensor holding a copy of `a`."""
    return torch.tensor(np.asarray(a, dtype=np.float64))


def shapes(n_in, n_hidden, n_out):
    return {"W1": (n_in, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, n_out), "b2": (n_out,)}


def random_params(rng, n_in, n_hidden, n_out, bias=0.5):
    """Weights of unit scale and biases of scale `bias`, so that every term of the network matters."""
    return {"W1": rng.normal(0, 1, (n_in, n_hidden)), "b1": rng.normal(0, bias, n_hidden),
            "W2": rng.normal(0, 1, (n_hidden, n_out)), "b2": rng.normal(0, bias, n_out)}


def problem(rng, n, n_in, n_hidden, n_out):
    """Parameters, inputs X (n, n_in) and targets y (n, n_out) in (0, 1), where a sigmoid can reach them."""
    return random_params(rng, n_in, n_hidden, n_out), rng.normal(0, 1, (n, n_in)), rng.uniform(0, 1, (n, n_out))


def torch_network(params, X, y):
    """out, the loss, and the gradient of the loss for every parameter, by torch.autograd."""
    p = {key: t64(value).requires_grad_() for key, value in params.items()}
    out = torch.sigmoid(torch.sigmoid(t64(X) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])
    mse = F.mse_loss(out, t64(y))
    mse.backward()
    return out.detach().numpy(), mse.item(), {key: value.grad.numpy() for key, value in p.items()}


def numpy_loss(params, X, y):
    """The loss written out in NumPy, for central differences."""
    h = expit(X @ params["W1"] + params["b1"])
    return np.mean((expit(h @ params["W2"] + params["b2"]) - y) ** 2)


def torch_descent(params, X, y, lr, epochs):
    """The losses of full-batch gradient descent on torch.autograd's gradients, before steps 1 .. epochs + 1."""
    losses = []
    for _ in range(epochs + 1):
        _, mse, grads = torch_network(params, X, y)
        losses.append(mse)
        params = {key: params[key] - lr * grads[key] for key in params}
    return np.array(losses)


def scale_hint(got, expected, n, n_out):
    """A hint when `got` is `expected` times a constant that names a usual mistake, else ""."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape or not np.any(expected):
        return ""
    ratio = np.vdot(got, expected) / np.vdot(expected, expected)
    if not np.allclose(got, ratio * expected, rtol=1e-6, atol=1e-12):
        return ""
    mistakes = {0.5: "half the right size: d/d out of (out - y)^2 is 2 (out - y)",
                n * n_out: "N * n_out times too large: the loss is a mean, so its gradient carries 1 / (N * n_out)",
                n_out: "n_out times too large: the mean runs over all N * n_out elements, not only the N rows",
                -1.0: "the right size with the wrong sign"}
    return next((hint for factor, hint in mistakes.items() if factor != 1 and np.isclose(ratio, factor)), "")


def run_forward(student, params, X, what):
    """The student's (out, cache), checked to be a pair."""
    result = student.forward(params, X)
    assert isinstance(result, tuple) and len(result) == 2, (
        f"{what}: forward should return a pair (out, cache), got {type(result).__name__}")
    return result


def check_sigmoid(student, x, what):
    """student.sigmoid(x) against torch.sigmoid; returns it."""
    s = student.sigmoid(x)
    assert_finite(s, what, OVERFLOW_HINT)
    assert_close(s, torch.sigmoid(t64(x)).numpy(), what=what)
    return s


def check_forward(student, params, X, what):
    out, _ = run_forward(student, params, X, what)
    expected = torch_network(params, X, np.zeros((len(X), len(params["b2"]))))[0]
    assert_finite(out, what, OVERFLOW_HINT)
    assert_close(out, expected, what=what)


def check_loss(student, out, y, what):
    value = student.loss(out, y)
    assert np.ndim(value) == 0, f"{what}: loss should return one number, got shape {np.shape(value)}"
    expected = F.mse_loss(t64(out), t64(y)).item()
    assert not np.isclose(value, np.size(out) * expected, rtol=1e-9), (
        f"{what}: this is the sum of the squared errors; the loss is their mean over all N * n_out elements")
    assert_close(value, expected, what=what)


def check_gradients(grads, expected, sizes, n, what):
    """Every parameter's gradient against `expected`, with a hint for the usual mistakes."""
    assert isinstance(grads, dict), f"{what}: backward should return a dict of gradients, got {type(grads).__name__}"
    missing = [key for key in KEYS if key not in grads]
    assert not missing, f"{what}: the gradients lack the keys {missing}; use the keys of params"
    for key in KEYS:
        shape, want = np.shape(grads[key]), shapes(*sizes)[key]
        if key.startswith("b") and shape == (n, want[0]) and n > 1:
            raise AssertionError(f"{what}: the gradient of {key} has shape {shape}, one row per sample; "
                                 f"the same bias is added to every sample, so sum its gradient over the batch")
        assert shape == want, f"{what}: the gradient of {key} has shape {shape}, the shape of {key} is {want}"
        hint = scale_hint(grads[key], expected[key], n, sizes[2])
        assert not hint, f"{what}: the gradient of {key} is {hint}"
        assert_close(grads[key], expected[key], rtol=1e-6, what=f"{what}, gradient of {key}")


def check_backward(student, n, sizes, rng, what):
    """The student's forward, then its backward on its own cache, against torch.autograd."""
    params, X, y = problem(rng, n, *sizes)
    _, cache = run_forward(student, params, X, what)
    grads = student.backward(params, cache, y)
    check_gradients(grads, torch_network(params, X, y)[2], sizes, n, what)


def check_finite_differences(student, n, sizes, rng, what):
    params, X, y = problem(rng, n, *sizes)
    _, cache = run_forward(student, params, X, what)
    grads = student.backward(params, cache, y)

    def numeric(key):
        return numeric_gradient(lambda value: numpy_loss({**params, key: value}, X, y), params[key])

    check_gradients(grads, {key: numeric(key) for key in KEYS}, sizes, n, what + " (central differences)")


def history_of(student, params, X, y, lr, epochs, what):
    """The student's loss history as a float64 vector, checked for its length."""
    history = np.asarray(student.train(params, X, y, lr=lr, epochs=epochs), dtype=np.float64)
    assert history.shape == (epochs,), (
        f"{what}: train should return one loss per epoch, {epochs} numbers, got shape {history.shape}")
    assert_finite(history, what)
    return history


# --- sigmoid and its derivative -----------------------------------------------

@pytest.mark.points(8)
def test_sigmoid_matches_torch(student, rng, credit):
    with credit.part(0.4, "a vector"):
        check_sigmoid(student, rng.normal(0, 5, 20), "sigmoid of a vector of 20 values")
    with credit.part(0.4, "a matrix"):
        check_sigmoid(student, rng.normal(0, 5, (6, 5)), "sigmoid of a (6, 5) matrix")
    with credit.part(0.2, "a list"):
        s = check_sigmoid(student, rng.normal(0, 5, 4).tolist(), "sigmoid of a list of 4 numbers")
        assert isinstance(s, np.ndarray) and s.dtype == np.float64, (
            f"sigmoid of a list should return a float64 ndarray, got {type(s).__name__} {getattr(s, 'dtype', '')}")


@pytest.mark.parametrize("side", ["negative", "positive"])
@pytest.mark.points(4)
def test_sigmoid_large_inputs(student, rng, credit, side):
    sign, where = LARGE[side]
    with credit.part(0.6, where):
        check_sigmoid(student, sign * rng.uniform(700, 1e4, 12), f"sigmoid of 12 values with {where}")
    with credit.part(0.4, f"{where} mixed with small values"):
        x = np.concatenate([sign * rng.uniform(700, 1e4, 4), rng.normal(0, 3, 4)])
        check_sigmoid(student, x, f"sigmoid of a vector mixing {where} with small values")


@pytest.mark.points(6)
def test_sigmoid_grad_matches_autograd(student, rng, credit):
    for weight, shape in ((0.6, (30,)), (0.4, (5, 4))):
        with credit.part(weight, f"shape {shape}"):
            x = t64(rng.normal(0, 3, shape)).requires_grad_()
            torch.sigmoid(x).sum().backward()
            s = expit(x.detach().numpy())
            grad = student.sigmoid_grad(s)
            assert not np.allclose(grad, expit(s) * (1 - expit(s))), (
                "sigmoid_grad takes the OUTPUT s = sigmoid(x), not x: return s * (1 - s) without applying sigmoid again")
            assert_close(grad, x.grad.numpy(), what=f"sigmoid_grad(sigmoid(x)) for x of shape {shape}")


# --- init_params --------------------------------------------------------------

@pytest.mark.points(6)
def test_init_params(student, rng, credit):
    seed = int(rng.integers(0, 1000))
    with credit.part(0.3, "keys, shapes, zero biases"):
        params = student.init_params(3, 5, 2, seed=seed)
        assert isinstance(params, dict) and sorted(params) == sorted(KEYS), (
            f"init_params should return a dict with the keys {sorted(KEYS)}, got {sorted(params) if isinstance(params, dict) else type(params).__name__}")
        for key in KEYS:
            assert np.shape(params[key]) == shapes(3, 5, 2)[key], (
                f"init_params(3, 5, 2): {key} has shape {np.shape(params[key])}, expected {shapes(3, 5, 2)[key]}")
        assert not np.any(params["b1"]) and not np.any(params["b2"]), "init_params: the biases should start at 0"
    with credit.part(0.2, "reproducible from the seed"):
        first, again, other = (student.init_params(4, 6, 1, seed=s) for s in (seed, seed, seed + 1))
        assert all(np.array_equal(first[key], again[key]) for key in KEYS), (
            "init_params with the same seed returned different weights: draw from np.random.default_rng(seed)")
        assert not np.array_equal(first["W1"], other["W1"]), "init_params with two different seeds returned the same W1"
    big = student.init_params(100, 100, 100, seed=seed)
    with credit.part(0.3, "Xavier/He scale"):
        for key in ("W1", "W2"):
            std = float(np.std(big[key]))
            assert 0.1 / 3 < std < 0.1 * 3, (
                f"init_params(100, 100, 100): {key} has standard deviation {std:.3g}, not of the order of "
                "1/sqrt(fan_in) (Xavier/He); too large saturates the sigmoids, too small makes tiny gradients")
    with credit.part(0.2, "symmetry broken"):
        for key, hidden_units in (("W1", big["W1"].T), ("W2", big["W2"])):
            assert len(np.unique(hidden_units, axis=0)) == 100, (
                f"init_params(100, 100, 100): some hidden units have identical weights in {key}; "
                "identical units get identical gradients and stay identical forever")


# --- forward and loss ---------------------------------------------------------

@pytest.mark.points(10)
def test_forward_matches_torch(student, rng, credit):
    with credit.part(0.4, "one output"):
        params, X, _ = problem(rng, 8, 3, 5, 1)
        check_forward(student, params, X, "forward of a (8, 3) batch through 3 -> 5 -> 1")
    with credit.part(0.4, "three outputs"):
        params, X, _ = problem(rng, 6, 4, 3, 3)
        check_forward(student, params, X, "forward of a (6, 4) batch through 4 -> 3 -> 3")
    with credit.part(0.2, "one sample given as a list"):
        params, X, _ = problem(rng, 1, 2, 4, 1)
        check_forward(student, params, X.tolist(), "forward of one sample [[x1, x2]] given as a list")


@pytest.mark.points(6)
def test_loss_matches_torch(student, rng, credit):
    with credit.part(0.4, "one output"):
        check_loss(student, rng.uniform(0, 1, (10, 1)), rng.uniform(0, 1, (10, 1)), "loss of a (10, 1) output")
    with credit.part(0.4, "three outputs"):
        check_loss(student, rng.uniform(0, 1, (7, 3)), rng.uniform(0, 1, (7, 3)), "loss of a (7, 3) output")
    with credit.part(0.2, "lists"):
        check_loss(student, rng.uniform(0, 1, (4, 2)).tolist(), rng.uniform(0, 1, (4, 2)).tolist(),
                   "loss of (4, 2) nested lists")


# --- backward -----------------------------------------------------------------

@pytest.mark.points(16)
def test_backward_matches_autograd(student, rng, credit):
    with credit.part(0.4, "one output"):
        check_backward(student, 8, (3, 5, 1), rng, "backward for a batch of 8 through 3 -> 5 -> 1")
    with credit.part(0.4, "two outputs"):
        check_backward(student, 6, (4, 3, 2), rng, "backward for a batch of 6 through 4 -> 3 -> 2")
    with credit.part(0.2, "one sample"):
        check_backward(student, 1, (2, 4, 1), rng, "backward for one sample through 2 -> 4 -> 1")


@pytest.mark.points(8)
def test_backward_finite_differences(student, rng, credit):
    with credit.part(0.5, "one output"):
        check_finite_differences(student, 4, (2, 3, 1), rng, "backward for a batch of 4 through 2 -> 3 -> 1")
    with credit.part(0.5, "two outputs, two hidden units"):
        check_finite_differences(student, 5, (3, 2, 2), rng, "backward for a batch of 5 through 3 -> 2 -> 2")


# --- train --------------------------------------------------------------------

@pytest.mark.points(10)
def test_train_loss_history(student, rng, credit):
    params, X, y = problem(rng, 10, 3, 4, 2)
    expected = torch_descent(params, X, y, lr=0.5, epochs=30)
    history = history_of(student, params, X, y, 0.5, 30, "train(params, X, y, lr=0.5, epochs=30)")
    with credit.part(0.3, "first entry"):
        assert not np.isclose(history[0], expected[1], rtol=1e-9), (
            "train: the first loss is the loss after one step; record each epoch's loss before its update")
        assert_close(history[0], expected[0], what="train: the first loss in the history (before any update)")
    with credit.part(0.4, "gradient descent as in torch"):
        assert_close(history, expected[:30], rtol=1e-6,
                     what="train: the loss history of 30 epochs of full-batch gradient descent")
    with credit.part(0.3, "non-increasing for a small lr"):
        params, X, y = problem(rng, 12, 2, 5, 1)
        small = history_of(student, params, X, y, 0.05, 200, "train(params, X, y, lr=0.05, epochs=200)")
        rises = np.flatnonzero(np.diff(small) > 1e-12)
        assert not rises.size, (
            f"train with lr=0.05: the loss went up at {rises.size} of 199 steps (first at epoch {rises[0] + 1}); "
            "gradient descent subtracts lr * gradient")


@pytest.mark.points(6)
def test_train_learns_xor(student, rng):
    params = {"W1": rng.normal(0, np.sqrt(0.2), (2, 8)), "b1": np.zeros(8),
              "W2": rng.normal(0, np.sqrt(2 / 9), (8, 1)), "b2": np.zeros(1)}
    history = history_of(student, params, XOR_X, XOR_Y, 2.0, 3000, "train on XOR with lr=2, epochs=3000")
    assert history[-1] < 0.01, (
        f"train on XOR through 2 -> 8 -> 1 with lr=2 for 3000 epochs: the final loss is {history[-1]:.3g}, "
        "it should fall below 0.01")


# --- bad arguments ------------------------------------------------------------

@pytest.mark.points(6)
def test_bad_arguments_raise_value_error(student, rng, credit):
    params, X, y = problem(rng, 4, 3, 2, 1)
    with credit.part(0.3, "loss with mismatched shapes"):
        assert_raises(ValueError, lambda: student.loss(y, y[:, 0]),
                      "loss(out, y) with out of shape (4, 1) and y of shape (4,) (broadcasting would give (4, 4))")
        assert_raises(ValueError, lambda: student.loss(y, y[:3]), "loss(out, y) with 4 outputs and 3 targets")
    with credit.part(0.3, "backward with mismatched targets"):
        _, cache = run_forward(student, params, X, "forward of a (4, 3) batch")
        assert_raises(ValueError, lambda: student.backward(params, cache, y[:, 0]),
                      "backward with targets of shape (4,) for an output of shape (4, 1)")
    with credit.part(0.2, "forward with X of the wrong shape"):
        assert_raises(ValueError, lambda: student.forward(params, X[0]), "forward with a 1-D X")
        assert_raises(ValueError, lambda: student.forward(params, X[:, :2]), "forward with 2 features for W1 of 3 rows")
    with credit.part(0.2, "init_params with a non-positive size"):
        assert_raises(ValueError, lambda: student.init_params(3, 0, 1), "init_params(3, 0, 1)")
        assert_raises(ValueError, lambda: student.init_params(-2, 4, 1), "init_params(-2, 4, 1)")


# --- quiz ---------------------------------------------------------------------

QUIZ_TOLERANCES = {"q4": 1e-4}  # numeric answers; others 1e-3


@pytest.mark.points(2)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question], QUIZ_TOLERANCES.get(question))
