"""Hidden tests of assignment 01 (perceptron).

The spec's update rule is exact, so weights, bias and epoch count after `fit`
are compared with the reference run of that rule. Independent oracles back it
up: data labelled by the initial weights themselves (no update may happen),
labels {-1, 1} and {0, 1} giving the same model, linearly separable data (AND,
OR, NOT, random clouds with a margin) classified perfectly, and XOR, which no
line separates, never classified perfectly. Messages name what failed, never
the expected values.
PYTEST_DONT_REWRITE: pytest's assertion rewriting would append the compared
values, expected ones included, to every failure message.
"""

import numpy as np
import pytest

from autograder.testkit import assert_close, assert_raises, quiz_check

BOOLEAN_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
GATES = {"AND": np.array([0, 0, 0, 1]), "OR": np.array([0, 1, 1, 1])}
XOR = np.array([0, 1, 1, 0])
LABEL_HINT = "map every label > 0 to class 1 and every other label to class 0 before training"


def separable(rng, n, d, margin=0.2):
    """n points in about [-1, 1]^d, each at least `margin` from a random hyperplane; labels (n,) in {0, 1}."""
    w = rng.normal(size=d)
    w /= np.linalg.norm(w)
    b = rng.uniform(-0.3, 0.3)
    X = rng.uniform(-1, 1, (n, d))
    side = np.sign(X @ w + b)
    return X + margin * side[:, None] * w, (side > 0).astype(int)


def noisy(rng, n, d):
    """n random points with random labels (n,) in {0, 1}: not separable, so training never stops early."""
    return rng.normal(size=(n, d)), rng.integers(0, 2, n)


def fitted(student, X, y, **params):
    """A student Perceptron built with `params` and fitted on (X, y) in the sandbox."""
    model = student.new("Perceptron", **params)
    model.call("fit", X, y)
    return model


def predictions(model, X, what):
    """model.predict(X) as an array, checked to hold one entry per sample."""
    predicted = np.asarray(model.call("predict", X))
    assert predicted.shape == (len(X),), f"{what}: predict returned shape {predicted.shape} for {len(X)} samples"
    return predicted


def epoch_count(model, what):
    """model.n_epochs_, checked to be an int."""
    epochs = model.get("n_epochs_")
    assert isinstance(epochs, (int, np.integer)), f"{what}: n_epochs_ should be an int, got {epochs!r}"
    return int(epochs)


def check_rule(student, reference, X, y, what, **params):
    """weights_, bias_ and n_epochs_ of the student's fit against the reference run of the spec's rule."""
    model = fitted(student, X, y, **params)
    expected = reference.Perceptron(**params).fit(X, y)
    assert_close(model.get("weights_"), expected.weights_, what=f"{what}: weights_")
    assert_close(model.get("bias_"), expected.bias_, what=f"{what}: bias_")
    epochs = epoch_count(model, what)
    assert epochs == expected.n_epochs_, (
        f"{what}: n_epochs_ is {epochs}, which is not the number of epochs the rule runs "
        "(count every epoch, and stop right after the first one without an update)")


def check_learns(student, X, y, what, **params):
    """After fit, the student's model classifies every training sample (labels in {0, 1}) correctly."""
    model = fitted(student, X, y, **params)
    wrong = int(np.sum(predictions(model, X, what) != y))
    assert wrong == 0, f"{what}: {wrong} of {len(X)} training samples misclassified after fit, but the data is linearly separable"


# --- unit_step ----------------------------------------------------------------

@pytest.mark.points(8)
def test_unit_step(student, rng, credit):
    x = rng.normal(0, 2, 12)
    x[[2, 7]] = 0.0
    with credit.part(0.4, "a vector"):
        assert_close(student.unit_step(x), (x >= 0).astype(int), what="unit_step of a vector of 12 numbers, two of them 0")
    with credit.part(0.3, "exactly 0"):
        assert np.array_equal(student.unit_step(0.0), 1), "unit_step(0.0) should be 1: the step is x >= 0, not x > 0"
        assert np.array_equal(student.unit_step(0), 1), "unit_step(0) (an int) should be 1"
    with credit.part(0.3, "int array of the input's shape"):
        matrix = rng.normal(0, 2, (3, 4))
        out = np.asarray(student.unit_step(matrix))
        assert out.dtype.kind in "iu", f"unit_step should return integers, got dtype {out.dtype}"
        assert_close(out, (matrix >= 0).astype(int), what="unit_step of a (3, 4) matrix")


# --- fit: interface, initialisation, the update rule --------------------------

@pytest.mark.points(6)
def test_fit_returns_self_with_fitted_attributes(student, rng, credit):
    X, y = separable(rng, 20, 3)
    model = student.new("Perceptron", learning_rate=0.1, n_iters=50, seed=3)
    with credit.part(0.4, "fit returns self"):
        assert model.call("fit", X, y) is model, "fit(X, y) should return self (so that Perceptron().fit(X, y).predict(X) works)"
    with credit.part(0.3, "weights_ and bias_"):
        weights = np.asarray(model.get("weights_"))
        assert weights.shape == (3,), f"weights_ should have shape (n_features,) = (3,), got {weights.shape}"
        assert np.ndim(model.get("bias_")) == 0, "bias_ should be one number"
    with credit.part(0.3, "n_epochs_"):
        epochs = epoch_count(model, "fit on 20 samples")
        assert 1 <= epochs <= 50, f"n_epochs_ should lie between 1 and n_iters = 50, got {epochs}"


@pytest.mark.points(8)
def test_initial_weights_and_stop_without_update(student, rng, credit):
    """Labels given by the initial weights themselves: the first epoch updates nothing."""
    seed = int(rng.integers(1000))
    initial = np.random.default_rng(seed).uniform(-1, 1, 4)
    X = rng.normal(size=(30, 4))
    model = fitted(student, X, (X @ initial >= 0).astype(int), learning_rate=0.1, n_iters=100, seed=seed)
    with credit.part(0.5, "initial weights"):
        assert_close(model.get("weights_"), initial, what=(
            "weights_ after fitting data that the initial weights already classify correctly "
            "(start from np.random.default_rng(seed).uniform(-1, 1, n_features))"))
    with credit.part(0.2, "initial bias"):
        assert_close(model.get("bias_"), 0.0, what="bias_ after fitting data that needs no update (start from 0)")
    with credit.part(0.3, "one epoch"):
        epochs = epoch_count(model, "fit on data that needs no update")
        assert epochs == 1, f"n_epochs_ is {epochs} on data that needs no update: the first epoch is the one without updates"


@pytest.mark.points(8)
def test_first_epoch_follows_the_rule(student, reference, rng, credit):
    with credit.part(0.5, "separable data"):
        X, y = separable(rng, 25, 3, margin=0.05)
        check_rule(student, reference, X, y, "one epoch over 25 samples", learning_rate=0.1, n_iters=1, seed=7)
    with credit.part(0.5, "random labels"):
        X, y = noisy(rng, 25, 4)
        check_rule(student, reference, X, y, "one epoch over 25 samples with random labels", learning_rate=0.05, n_iters=1, seed=2)


@pytest.mark.points(12)
def test_weights_follow_the_rule(student, reference, rng, credit):
    with credit.part(0.3, "separable data, labels {0, 1}"):
        X, y = separable(rng, 40, 3, margin=0.05)
        check_rule(student, reference, X, y, "fit on 40 separable samples", learning_rate=0.1, n_iters=1000, seed=11)
    with credit.part(0.3, "separable data, labels {-1, 1}"):
        X, y = separable(rng, 40, 2, margin=0.05)
        check_rule(student, reference, X, 2 * y - 1, "fit on 40 separable samples labelled -1/1",
                   learning_rate=0.5, n_iters=1000, seed=4)
    with credit.part(0.2, "random labels, many epochs"):
        X, y = noisy(rng, 30, 3)
        check_rule(student, reference, X, y, "30 epochs over 30 samples with random labels", learning_rate=0.01, n_iters=30, seed=5)
    with credit.part(0.2, "default parameters"):
        X, y = separable(rng, 30, 2)
        check_rule(student, reference, X, y, "fit with the default learning_rate, n_iters and seed")


@pytest.mark.points(8)
def test_labels_minus_one_and_zero_one_agree(student, rng, credit):
    """-1/1 and 0/1 labels describe the same classes, so they must give the same model."""
    X, y = noisy(rng, 20, 3)
    params = dict(learning_rate=0.1, n_iters=10, seed=int(rng.integers(1000)))
    zero_one = fitted(student, X, y, **params)
    with credit.part(0.6, "labels -1/1"):
        minus_one = fitted(student, X, 2 * y - 1, **params)
        assert_close(minus_one.get("weights_"), zero_one.get("weights_"),
                     what=f"weights_ after fitting labels -1/1, compared with labels 0/1 ({LABEL_HINT})")
        assert_close(minus_one.get("bias_"), zero_one.get("bias_"), what=f"bias_ for labels -1/1 against 0/1 ({LABEL_HINT})")
    with credit.part(0.4, "other labels > 0 and <= 0"):
        scaled = fitted(student, X, np.where(y > 0, 2.5, -3.0), **params)
        assert_close(scaled.get("weights_"), zero_one.get("weights_"),
                     what=f"weights_ after fitting labels -3.0/2.5, compared with labels 0/1 ({LABEL_HINT})")


# --- what a perceptron can and cannot learn -----------------------------------

@pytest.mark.points(8)
def test_logic_gates(student, rng, credit):
    seed = int(rng.integers(1000))
    for gate, y in GATES.items():
        with credit.part(0.4, gate):
            check_learns(student, BOOLEAN_X, y, f"the {gate} gate", learning_rate=0.1, n_iters=1000, seed=seed)
    with credit.part(0.2, "NOT"):
        check_learns(student, np.array([[0.0], [1.0]]), np.array([1, 0]), "the NOT gate (one feature)",
                     learning_rate=0.1, n_iters=1000, seed=seed)


@pytest.mark.points(4)
@pytest.mark.parametrize("n_features", [2, 6])
def test_separable_clouds(student, rng, n_features):
    X, y = separable(rng, 60, n_features)
    check_learns(student, X, y, f"60 separable samples with {n_features} features (margin 0.2)",
                 learning_rate=0.1, n_iters=1000, seed=int(rng.integers(1000)))


@pytest.mark.points(5)
def test_xor_is_not_learned(student, rng):
    model = fitted(student, BOOLEAN_X, XOR, learning_rate=0.1, n_iters=50, seed=int(rng.integers(1000)))
    correct = int(np.sum(predictions(model, BOOLEAN_X, "XOR") == XOR))
    assert correct < 4, "all four XOR samples came out right, which no single line can do: check predict"
    epochs = epoch_count(model, "XOR")
    assert epochs == 50, f"n_epochs_ is {epochs} on XOR: some sample is always wrong, so every one of the n_iters = 50 epochs runs"


@pytest.mark.points(6)
def test_early_stop(student, rng, credit):
    X, y = separable(rng, 40, 3, margin=0.05)
    params = dict(learning_rate=0.1, seed=int(rng.integers(1000)))
    model = fitted(student, X, y, n_iters=1000, **params)
    epochs = epoch_count(model, "fit on 40 separable samples")
    with credit.part(0.5, "stops early"):
        assert epochs < 1000, "n_epochs_ reached n_iters on separable data: stop after the first epoch without an update"
    with credit.part(0.5, "n_epochs_ counts the epoch without an update"):
        if 2 <= epochs < 1000:
            shorter = fitted(student, X, y, n_iters=epochs - 1, **params)
            assert_close(shorter.get("weights_"), model.get("weights_"), what=(
                f"weights_ after n_iters = n_epochs_ - 1 epochs, compared with the full fit (n_epochs_ = {epochs}): "
                "the last epoch counted in n_epochs_ must be the one that updates nothing"))


# --- predict, bad arguments, plain Python input -------------------------------

@pytest.mark.points(5)
def test_predict_returns_zero_one_ints(student, rng, credit):
    X, y = separable(rng, 30, 3)
    model = fitted(student, X, 2 * y - 1, learning_rate=0.1, n_iters=1000, seed=int(rng.integers(1000)))
    predicted = predictions(model, X, "predict after fitting labels -1/1")
    with credit.part(0.5, "classes 0 and 1"):
        assert set(np.unique(predicted).tolist()) <= {0, 1}, (
            "predict should return classes 0 and 1, even when the training labels were -1 and 1")
    with credit.part(0.5, "integers"):
        assert predicted.dtype.kind in "iu", f"predict should return an int array, got dtype {predicted.dtype}"


@pytest.mark.points(5)
def test_bad_arguments_raise_value_error(student, credit):
    model = student.new("Perceptron", learning_rate=0.1, n_iters=10)
    with credit.part(0.5, "more labels than samples"):
        assert_raises(ValueError, lambda: model.call("fit", BOOLEAN_X[:3], np.array([-1, -1, 1, 1])),
                      "fit with 3 samples and 4 labels (the course notes' example)")
    with credit.part(0.3, "fewer labels than samples"):
        assert_raises(ValueError, lambda: model.call("fit", BOOLEAN_X, np.array([0, 1])), "fit with 4 samples and 2 labels")
    with credit.part(0.2, "1-D X"):
        assert_raises(ValueError, lambda: model.call("fit", np.array([0.0, 1.0, 2.0]), np.array([0, 1, 1])),
                      "fit with a 1-D X (X must have shape (N, D))")


@pytest.mark.points(3)
def test_accepts_python_lists(student):
    model = fitted(student, BOOLEAN_X.tolist(), GATES["OR"].tolist(), learning_rate=0.1, n_iters=1000)
    predicted = predictions(model, BOOLEAN_X.tolist(), "predict on a nested list after fitting OR given as lists")
    assert np.array_equal(predicted, GATES["OR"]), (
        "after fitting OR given as Python lists, predict on the same nested list is wrong "
        "(fit and predict should take any array-like: convert with np.asarray)")


# --- quiz ---------------------------------------------------------------------

QUIZ_TOLERANCES = {"q5": 0.5}  # numeric answers; others 1e-3


@pytest.mark.points(2)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question], QUIZ_TOLERANCES.get(question))
