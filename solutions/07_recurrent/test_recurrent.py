"""Hidden tests of assignment 07 (recurrent), graded against PyTorch in float64.

Oracles: `torch.nn.LSTMCell`, `torch.nn.GRUCell` and `torch.nn.LSTM` with the
same weights copied in, and torch autograd of sum(h * dh + c * dc) for the LSTM
backward pass. The backward pass is tested end to end: the student's own
lstm_cell(..., return_cache=True) makes the cache that goes into the student's
lstm_cell_backward. Messages name what failed, never the expected values.
PYTEST_DONT_REWRITE: pytest's assertion rewriting would append the compared
values, expected ones included, to every failure message.
"""

from contextlib import contextmanager
from itertools import permutations

import numpy as np
import pytest
import torch

from autograder.testkit import assert_close, assert_finite, assert_raises, quiz_check

LSTM_GATES = ("i", "f", "g", "o")
LSTM_HINT = ("PyTorch stacks the LSTM gates by rows in the order i, f, g, o; i, f and o use sigmoid, g uses tanh; "
             "c = f * c_prev + i * g, h = o * tanh(c); the pre-activation is x W_ih^T + b_ih + h_prev W_hh^T + b_hh")
GRU_HINT = ("PyTorch's GRU: gates r, z, n stacked by rows in that order; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), "
            "h = (1 - z) * n + z * h_prev")
SIGMOID_HINT = "exp(a) / (1 + exp(a)) is inf / inf = nan for a > 709; use 1 / (1 + exp(-a)) or a stable form"
TORCH_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
GRADIENTS = ("x", "h_prev", "c_prev", "W_ih", "W_hh", "b_ih", "b_hh")


def t64(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def weights(rng, gates, n_in, hidden, scale=0.5):
    """(W_ih, W_hh, b_ih, b_hh) for `gates` gates stacked by rows, PyTorch's layout."""
    rows = gates * hidden
    return tuple(rng.normal(0, scale, shape) for shape in [(rows, n_in), (rows, hidden), (rows,), (rows,)])


def torch_cell(kind, w, suffix=""):
    """A float64 torch.nn.LSTMCell, GRUCell or LSTM (`kind`) holding the weights `w`; the LSTM's names end in `suffix`."""
    module = kind(w[0].shape[1], w[1].shape[1], dtype=torch.float64)
    with torch.no_grad():
        for name, value in zip(TORCH_NAMES, w):
            getattr(module, name + suffix).copy_(t64(value))
    return module


def torch_lstm_cell(x, h, c, w):
    with torch.no_grad():
        h_new, c_new = torch_cell(torch.nn.LSTMCell, w)(t64(x), (t64(h), t64(c)))
    return h_new.numpy(), c_new.numpy()


def torch_gru_cell(x, h, w):
    with torch.no_grad():
        return torch_cell(torch.nn.GRUCell, w)(t64(x), t64(h)).numpy()


def state(rng, n, hidden):
    """A random (h, c): h in (-1, 1) like a tanh output, c unbounded."""
    return np.tanh(rng.normal(0, 1, (n, hidden))), rng.normal(0, 2, (n, hidden))


@contextmanager
def hint(explain):
    """Append `explain()` to the message of an assertion that fails inside."""
    try:
        yield
    except AssertionError as error:
        raise AssertionError(f"{error}; {explain()}") from None


def gate_order_hint(h_new, c_new, x, h, c, w):
    """The gate order that reproduces the student's (h, c), if a wrong one does, else LSTM_HINT."""
    for order in permutations(range(4)):
        permuted = tuple(np.concatenate([np.split(p, 4)[k] for k in order]) for p in w)
        if order != (0, 1, 2, 3) and all(np.allclose(got, want) for got, want in
                                         zip((h_new, c_new), torch_lstm_cell(x, h, c, permuted))):
            yours = [LSTM_GATES[order.index(k)] for k in range(4)]
            return f"your code reads the row blocks of the weights as gates {', '.join(yours)}; PyTorch's order is i, f, g, o"
    return LSTM_HINT


def pair(out, what, names):
    assert isinstance(out, (tuple, list)) and len(out) == 2, f"{what}: should return the pair {names}"
    return out


def with_cache(student, x, h, c, w):
    """The student's lstm_cell(..., return_cache=True), checked to be a triple (h, c, cache)."""
    out = student.lstm_cell(x, h, c, *w, return_cache=True)
    assert isinstance(out, (tuple, list)) and len(out) == 3, (
        "lstm_cell(..., return_cache=True) should return three values (h, c, cache)")
    return out


def check_lstm_cell(student, x, h, c, w, what):
    h_new, c_new = pair(student.lstm_cell(x, h, c, *w), what, "(h, c)")
    want_h, want_c = torch_lstm_cell(x, h, c, w)
    assert_finite(h_new, f"{what}: h", SIGMOID_HINT)
    assert_finite(c_new, f"{what}: c", SIGMOID_HINT)
    same_shapes = np.shape(h_new) == want_h.shape and np.shape(c_new) == want_c.shape
    with hint(lambda: gate_order_hint(h_new, c_new, x, h, c, w) if same_shapes else LSTM_HINT):
        assert_close(c_new, want_c, what=f"{what}: c")
        assert_close(h_new, want_h, what=f"{what}: h")


def check_gru_cell(student, x, h, w, what, explain=GRU_HINT):
    h_new = student.gru_cell(x, h, *w)
    assert_finite(h_new, what, SIGMOID_HINT)
    with hint(lambda: explain):
        assert_close(h_new, torch_gru_cell(x, h, w), what=what)


def with_bias(w, gate, hidden, value):
    """`w` with b_ih of the gate number `gate` set to `value` (a large value saturates that gate)."""
    b_ih = w[2].copy()
    b_ih[gate * hidden:(gate + 1) * hidden] = value
    return w[:2] + (b_ih,) + w[3:]


# --- lstm_cell ----------------------------------------------------------------

@pytest.mark.points(12)
def test_lstm_cell_matches_torch(student, rng, credit):
    with credit.part(0.3, "one sample"):
        w = weights(rng, 4, 3, 2)
        check_lstm_cell(student, rng.normal(0, 1, (1, 3)), *state(rng, 1, 2), w, "lstm_cell of one sample (I = 3, H = 2)")
    with credit.part(0.7, "a batch"):
        w = weights(rng, 4, 4, 6)
        check_lstm_cell(student, rng.normal(0, 1, (5, 4)), *state(rng, 5, 6), w, "lstm_cell of a batch (N = 5, I = 4, H = 6)")


@pytest.mark.points(5)
def test_lstm_cell_forget_gate_keeps_memory(student, rng):
    n, n_in, hidden = 3, 4, 5
    open_forget_closed_input = with_bias(with_bias(weights(rng, 4, n_in, hidden), 1, hidden, 40.0), 0, hidden, -40.0)
    x, (h, c) = rng.normal(0, 1, (n, n_in)), state(rng, n, hidden)
    check_lstm_cell(student, x, h, c, open_forget_closed_input,
                    "lstm_cell with the forget gate open (f = 1) and the input gate closed (i = 0), "
                    "where c must equal c_prev")


@pytest.mark.points(5)
def test_lstm_cell_saturated_gates(student, rng):
    w = weights(rng, 4, 4, 5, scale=100.0)
    check_lstm_cell(student, rng.normal(0, 3, (4, 4)), *state(rng, 4, 5), w, "lstm_cell with pre-activations of magnitude ~1000")


@pytest.mark.points(4)
def test_lstm_cell_return_cache(student, rng, credit):
    w, x, (h, c) = weights(rng, 4, 3, 4), rng.normal(0, 1, (2, 3)), state(rng, 2, 4)
    with credit.part(0.4, "return_cache=False"):
        pair(student.lstm_cell(x, h, c, *w), "lstm_cell(..., return_cache=False)", "(h, c)")
    with credit.part(0.6, "return_cache=True"):
        out = with_cache(student, x, h, c, w)
        h_new, c_new = pair(student.lstm_cell(x, h, c, *w), "lstm_cell(..., return_cache=False)", "(h, c)")
        assert_close(out[0], h_new, what="h of lstm_cell(..., return_cache=True), against return_cache=False")
        assert_close(out[1], c_new, what="c of lstm_cell(..., return_cache=True), against return_cache=False")


# --- gru_cell -----------------------------------------------------------------

@pytest.mark.points(12)
def test_gru_cell_matches_torch(student, rng, credit):
    with credit.part(0.3, "one sample"):
        check_gru_cell(student, rng.normal(0, 1, (1, 3)), state(rng, 1, 2)[0], weights(rng, 3, 3, 2),
                       "gru_cell of one sample (I = 3, H = 2)")
    with credit.part(0.4, "a batch"):
        check_gru_cell(student, rng.normal(0, 1, (5, 4)), state(rng, 5, 6)[0], weights(rng, 3, 4, 6),
                       "gru_cell of a batch (N = 5, I = 4, H = 6)")
    with credit.part(0.3, "saturated gates"):
        check_gru_cell(student, rng.normal(0, 3, (4, 4)), state(rng, 4, 5)[0], weights(rng, 3, 4, 5, scale=100.0),
                       "gru_cell with pre-activations of magnitude ~1000")


@pytest.mark.points(5)
def test_gru_cell_update_gate_direction(student, rng, credit):
    n, n_in, hidden = 3, 4, 5
    x, h = rng.normal(0, 1, (n, n_in)), state(rng, n, hidden)[0]
    with credit.part(0.5, "update gate z = 1"):
        check_gru_cell(student, x, h, with_bias(weights(rng, 3, n_in, hidden), 1, hidden, 40.0),
                       "gru_cell with the update gate z = 1",
                       "with z = 1 the cell keeps its state, h = h_prev: h = (1 - z) * n + z * h_prev")
    with credit.part(0.5, "update gate z = 0"):
        check_gru_cell(student, x, h, with_bias(weights(rng, 3, n_in, hidden), 1, hidden, -40.0),
                       "gru_cell with the update gate z = 0",
                       "with z = 0 the cell takes the new candidate, h = n: h = (1 - z) * n + z * h_prev")


@pytest.mark.points(5)
def test_gru_cell_reset_gate_after_matrix_product(student, rng):
    n, n_in, hidden = 3, 4, 5
    x, h = rng.normal(0, 1, (n, n_in)), state(rng, n, hidden)[0]
    closed_reset = with_bias(weights(rng, 3, n_in, hidden, scale=1.0), 0, hidden, -40.0)
    check_gru_cell(student, x, h, closed_reset, "gru_cell with the reset gate r = 0",
                   "r multiplies the whole (W_hn h + b_hn), after the matrix product, so with r = 0 "
                   "n = tanh(W_in x + b_in): PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))")


# --- lstm_cell_backward -------------------------------------------------------

def autograd_lstm_cell(x, h, c, w, dh, dc):
    """Torch autograd's gradients of sum(h' * dh + c' * dc) for one LSTMCell step, by GRADIENTS name."""
    cell = torch_cell(torch.nn.LSTMCell, w)
    inputs = [t64(a).requires_grad_() for a in (x, h, c)]
    h_new, c_new = cell(inputs[0], (inputs[1], inputs[2]))
    (h_new * t64(dh) + c_new * t64(dc)).sum().backward()
    leaves = inputs + [getattr(cell, name) for name in TORCH_NAMES]
    return {name: leaf.grad.numpy() for name, leaf in zip(GRADIENTS, leaves)}


def check_backward(student, rng, dh_scale, dc_scale, what, explain):
    """The student's lstm_cell_backward on the student's own cache against autograd."""
    n, n_in, hidden = 4, 3, 5
    w, x, (h, c) = weights(rng, 4, n_in, hidden), rng.normal(0, 1, (n, n_in)), state(rng, n, hidden)
    dh, dc = rng.normal(0, dh_scale, (n, hidden)), rng.normal(0, dc_scale, (n, hidden))
    grads = student.lstm_cell_backward(dh, dc, with_cache(student, x, h, c, w)[2])
    assert isinstance(grads, dict), f"{what}: lstm_cell_backward should return a dict, got {type(grads).__name__}"
    missing = [name for name in GRADIENTS if name not in grads]
    assert not missing, f"{what}: the dict of gradients has no key {', '.join(missing)}"
    expected = autograd_lstm_cell(x, h, c, w, dh, dc)
    with hint(lambda: explain):
        for name in GRADIENTS:
            assert_finite(grads[name], f"{what}: gradient of {name}")
            assert_close(grads[name], expected[name], what=f"{what}: gradient of {name}")


@pytest.mark.points(18)
def test_lstm_cell_backward_matches_autograd(student, rng, credit):
    with credit.part(0.35, "gradient from h only"):
        check_backward(student, rng, 1.0, 0.0, "lstm_cell_backward with dc = 0",
                       "with dc = 0, c gets its gradient only through h = o * tanh(c): dc += dh * o * (1 - tanh(c)^2)")
    with credit.part(0.25, "gradient from c only"):
        check_backward(student, rng, 0.0, 1.0, "lstm_cell_backward with dh = 0",
                       "with dh = 0: di = dc * g, df = dc * c_prev, dg = dc * i, dc_prev = dc * f")
    with credit.part(0.4, "gradients from h and c"):
        check_backward(student, rng, 1.0, 1.0, "lstm_cell_backward with dh and dc",
                       "dA (N, 4H), in gate order i, f, g, o, gives dx = dA W_ih, dW_ih = dA^T x, db = dA summed over N")


# --- lstm_forward -------------------------------------------------------------

def check_lstm_forward(student, rng, steps, n, n_in, hidden, x_scale, what):
    w = weights(rng, 4, n_in, hidden)
    xs, (h0, c0) = rng.normal(0, x_scale, (steps, n, n_in)), state(rng, n, hidden)
    hs, last = pair(student.lstm_forward(xs, h0, c0, *w), what, "(hs, (h_T, c_T))")
    h_last, c_last = pair(last, f"{what}: the second value", "(h_T, c_T)")
    with torch.no_grad():
        want_hs, (want_h, want_c) = torch_cell(torch.nn.LSTM, w, "_l0")(t64(xs), (t64(h0)[None], t64(c0)[None]))
    for name, got in (("hs", hs), ("h_T", h_last), ("c_T", c_last)):
        assert_finite(got, f"{what}: {name}", SIGMOID_HINT)
    with hint(lambda: "carry both h and c from each step to the next; hs[0] is the h after the first step, not h0"):
        assert_close(hs, want_hs.numpy(), what=f"{what}: hs")
        assert_close(h_last, want_h[0].numpy(), what=f"{what}: h_T")
        assert_close(c_last, want_c[0].numpy(), what=f"{what}: c_T")


@pytest.mark.points(12)
def test_lstm_forward_matches_torch(student, rng, credit):
    with credit.part(0.25, "one step"):
        check_lstm_forward(student, rng, 1, 2, 3, 4, 1.0, "lstm_forward of T = 1 step")
    with credit.part(0.75, "six steps"):
        check_lstm_forward(student, rng, 6, 3, 4, 5, 1.0, "lstm_forward of T = 6 steps (N = 3, I = 4, H = 5)")


@pytest.mark.points(8)
def test_lstm_forward_long_sequence(student, rng, credit):
    with credit.part(0.5, "T = 200"):
        check_lstm_forward(student, rng, 200, 3, 4, 6, 1.0, "lstm_forward of T = 200 steps")
    with credit.part(0.5, "T = 200 with large inputs"):
        check_lstm_forward(student, rng, 200, 2, 4, 6, 300.0,
                           "lstm_forward of T = 200 steps with inputs of magnitude ~300")


# --- bad arguments ------------------------------------------------------------

@pytest.mark.points(4)
def test_bad_arguments_raise_value_error(student, rng, credit):
    n_in, hidden = 3, 4
    lstm, gru = weights(rng, 4, n_in, hidden), weights(rng, 3, n_in, hidden)
    x, (h, c) = rng.normal(0, 1, (3, n_in)), state(rng, 3, hidden)
    with credit.part(0.3, "batch sizes that differ"):
        assert_raises(ValueError, lambda: student.lstm_cell(x, h[:1], c[:1], *lstm),
                      "lstm_cell with x of 3 samples and h_prev, c_prev of 1")
        assert_raises(ValueError, lambda: student.gru_cell(x, h[:1], *gru), "gru_cell with x of 3 samples and h_prev of 1")
    with credit.part(0.2, "GRU weights in lstm_cell"):
        assert_raises(ValueError, lambda: student.lstm_cell(x, h, c, *gru), "lstm_cell with W_ih of 3H rows instead of 4H")
    with credit.part(0.2, "c_prev of the wrong shape"):
        assert_raises(ValueError, lambda: student.lstm_cell(x, h, c[:, :1], *lstm), "lstm_cell with c_prev of shape (3, 1)")
    with credit.part(0.3, "xs of two dimensions"):
        assert_raises(ValueError, lambda: student.lstm_forward(x, h[:1], c[:1], *lstm),
                      "lstm_forward with a 2-D xs (it must be (T, N, I))")


# --- quiz ---------------------------------------------------------------------

QUIZ_TOLERANCES = {"q3": 0.5}  # numeric answers; others 1e-3


@pytest.mark.points(2)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question], QUIZ_TOLERANCES.get(question))
