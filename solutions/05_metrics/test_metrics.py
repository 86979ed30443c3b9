"""Hidden tests of assignment 05 (metrics), graded against scikit-learn.

Oracles: `sklearn.metrics` (confusion_matrix, accuracy_score, precision_score,
recall_score, f1_score, fbeta_score with an explicit zero_division, roc_curve
with drop_intermediate=False, auc, roc_auc_score) and, for the AUC, the
pairwise-ranking probability counted directly. Labels are random and
imbalanced, and degenerate on purpose: a class absent from y_pred or from
y_true, every prediction the same class, tied scores. When a result equals what
a known mistake would give, the message names the mistake.
Messages name what failed, never the expected values.
PYTEST_DONT_REWRITE: pytest's assertion rewriting would append the compared
values, expected ones included, to every failure message.
"""

import numpy as np
import pytest
from sklearn import metrics as sk

from autograder.testkit import assert_close, assert_finite, assert_raises, quiz_check

SKLEARN = {"precision": sk.precision_score, "recall": sk.recall_score, "f1": sk.f1_score, "fbeta": sk.fbeta_score}
SWAPPED = {"precision": "recall", "recall": "precision"}
ZERO_HINT = "where a ratio's denominator is 0 (a class never predicted, or absent from y_true) return zero_division"


# --- inputs -------------------------------------------------------------------

def noisy(rng, n, weights, hit=0.7):
    """Imbalanced labels drawn with class frequencies `weights`, and predictions that
    copy the true label with probability `hit`, else pick a class at random."""
    y_true = rng.choice(len(weights), n, p=weights)
    y_pred = np.where(rng.random(n) < hit, y_true, rng.integers(0, len(weights), n))
    return y_true, y_pred


def exact(rng, counts):
    """Shuffled labels holding counts[k] samples of class k."""
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def never_predicting(rng, y_true, k):
    """Predictions equal to y_true, except that class k (the largest) is replaced by a random smaller class."""
    return np.where(y_true == k, rng.integers(0, k, len(y_true)), y_true)


def tied_scores(rng, n):
    """Scores on a grid of 6 values: most of them tied with others."""
    return rng.integers(0, 6, n) / 5


# --- checks -------------------------------------------------------------------

def same(a, b):
    """Whether a and b are the same numbers (shape included)."""
    try:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def check(result, expected, what, mistakes=()):
    """assert_close, but first name a known mistake whose (wrong) value `result` equals.

    mistakes: (what the mistake returns, what to tell the student) pairs.
    """
    hints = [hint for wrong, hint in mistakes if same(result, wrong) and not same(expected, wrong)]
    if hints:  # several mistakes can give the same number: name them all
        raise AssertionError(f"{what}: " + "; or ".join(dict.fromkeys(hints)))
    assert_close(result, expected, what=what)


def sklearn_score(name, y_true, y_pred, **kwargs):
    return SKLEARN[name](y_true, y_pred, **kwargs)


def known_mistakes(name, y_true, y_pred, kwargs):
    """What the usual mistakes return for score `name` called with `kwargs`, and a hint for each."""
    average = kwargs.get("average", "binary")
    mistakes = []
    if name in SWAPPED:
        mistakes.append((sklearn_score(SWAPPED[name], y_true, y_pred, **kwargs),
                         "precision and recall are swapped: precision divides tp by the predicted count tp + fp, "
                         "recall by the true count tp + fn"))
    if average in ("macro", "micro"):
        other = {"macro": "micro", "micro": "macro"}[average]
        mistakes.append((sklearn_score(name, y_true, y_pred, **{**kwargs, "average": other}),
                         f"this is the {other} average: macro takes the plain mean of the per-class scores, "
                         "micro pools tp, fp and fn over all classes before dividing"))
    if average == "weighted":
        per_class = sklearn_score(name, y_true, y_pred, **{**kwargs, "average": None})
        predicted = sk.confusion_matrix(y_true, y_pred).sum(axis=0)
        mistakes.append((np.average(per_class, weights=predicted),
                         "the weights must be each class's true support (its count in y_true), "
                         "not how often it is predicted"))
        mistakes.append((per_class.mean(), "this is the plain (macro) mean; the weighted average weights "
                                           "each class by its count in y_true"))
    if name == "fbeta":
        mistakes.append((sklearn_score(name, y_true, y_pred, **{**kwargs, "beta": np.sqrt(kwargs["beta"])}),
                         "F-beta weights recall by beta squared: (1 + beta^2) P R / (beta^2 P + R)"))
    return mistakes


def check_score(student, name, y_true, y_pred, what, **kwargs):
    """student.<name>(y_true, y_pred, **kwargs) against scikit-learn; zero_division 0 unless given."""
    kwargs.setdefault("zero_division", 0.0)
    result = getattr(student, name)(y_true, y_pred, **kwargs)
    assert_finite(result, what, ZERO_HINT)
    check(result, sklearn_score(name, y_true, y_pred, **kwargs), what, known_mistakes(name, y_true, y_pred, kwargs))


def check_confusion_matrix(student, y_true, y_pred, what, **labels):
    """Against scikit-learn; a transposed matrix is named as such."""
    expected = sk.confusion_matrix(y_true, y_pred, **labels)
    transposed = "rows and columns are swapped: rows are the true labels, columns the predicted ones"
    check(student.confusion_matrix(y_true, y_pred, **labels), expected, what, [(expected.T, transposed)])


def check_roc_curve(student, y_true, scores, what, **pos_label):
    """Against scikit-learn's curve with every point kept; a missing first point or split ties are named."""
    curve = student.roc_curve(y_true, scores, **pos_label)
    assert isinstance(curve, (tuple, list)) and len(curve) == 3, f"{what}: return the tuple (fpr, tpr, thresholds)"
    points = len(np.unique(scores)) + 1
    assert np.shape(curve[0]) != (points - 1,), (
        f"{what}: the curve is one point short; it starts at (0, 0) with threshold +inf, "
        "where no sample is above the threshold yet")
    if points < len(scores) + 1:
        assert np.shape(curve[0]) != (len(scores) + 1,), (
            f"{what}: one point per sample; tied scores cross the threshold together and give one point")
    names = ("fpr", "tpr", "thresholds")
    for result, expected, name in zip(curve, sk.roc_curve(y_true, scores, drop_intermediate=False, **pos_label), names):
        check(result, expected, f"{what}, {name}")


def ranked_pairs(y_true, scores):
    """Over all (positive, negative) pairs: whether the positive scores higher, and whether they tie."""
    positive, negative = scores[y_true == 1][:, None], scores[y_true != 1][None, :]
    return positive > negative, positive == negative


def check_roc_auc(student, y_true, scores, what):
    """Against scikit-learn and against the ranking probability P(s+ > s-) + P(s+ = s-) / 2."""
    higher, tied = ranked_pairs(y_true, scores)
    ties_ignored = (np.mean(higher), "tied scores count 1/2 in the AUC (a diagonal piece of the ROC curve)")
    result = student.roc_auc(y_true, scores)
    check(result, sk.roc_auc_score(y_true, scores), what, [ties_ignored])
    assert_close(result, np.mean(higher + 0.5 * tied), what=f"{what} (as a ranking probability)")


def check_auc(student, x, y, what):
    """Against scikit-learn; rectangles with the left or the right height are named as such."""
    hint = "these are rectangles; use trapezoids, dx * (y_left + y_right) / 2"
    rectangles = [(abs(np.sum(np.diff(x) * height)), hint) for height in (y[:-1], y[1:])]
    check(student.auc(x, y), sk.auc(x, y), what, rectangles)


# --- confusion matrix and accuracy --------------------------------------------

@pytest.mark.points(10)
def test_confusion_matrix_matches_sklearn(student, rng, credit):
    with credit.part(0.3, "random labels"):
        y_true, y_pred = noisy(rng, 60, [0.5, 0.3, 0.15, 0.05])
        check_confusion_matrix(student, y_true, y_pred, "confusion_matrix of 60 labels in 4 classes")
    with credit.part(0.2, "a class absent from y_true or y_pred"):
        y_true, y_pred = exact(rng, [10, 8, 6]), exact(rng, [0, 8, 8, 8])
        check_confusion_matrix(student, y_true, y_pred, "confusion_matrix where class 0 is never predicted "
                                                        "and class 3 never true")
    with credit.part(0.3, "the labels argument"):
        y_true, y_pred = noisy(rng, 40, [0.4, 0.3, 0.2, 0.1])
        labels = rng.permutation(5)[:4]
        check_confusion_matrix(student, y_true, y_pred, f"confusion_matrix(..., labels={labels.tolist()})",
                               labels=labels)
    with credit.part(0.2, "string labels in lists"):
        y_true = ["cat", "dog", "pig", "cat", "cat", "pig", "dog", "cat"]
        y_pred = ["cat", "cat", "pig", "dog", "cat", "cat", "dog", "pig"]
        check_confusion_matrix(student, y_true, y_pred, "confusion_matrix of lists of 'cat', 'dog', 'pig'")


@pytest.mark.points(4)
def test_accuracy_matches_sklearn(student, rng, credit):
    with credit.part(0.4, "random labels"):
        y_true, y_pred = noisy(rng, 50, [0.5, 0.3, 0.2])
        check(student.accuracy(y_true, y_pred), sk.accuracy_score(y_true, y_pred), "accuracy of 50 labels")
    with credit.part(0.3, "imbalanced, always the majority class"):
        y_true = exact(rng, [45, 5])
        check(student.accuracy(y_true, np.zeros(50, int)), sk.accuracy_score(y_true, np.zeros(50, int)),
              "accuracy of always predicting the majority class")
    with credit.part(0.3, "string labels in lists"):
        y_true, y_pred = ["spam", "ham", "ham", "ham"], ["ham", "ham", "spam", "ham"]
        check(student.accuracy(y_true, y_pred), sk.accuracy_score(y_true, y_pred), "accuracy of lists of strings")


# --- precision, recall, F-scores ----------------------------------------------

@pytest.mark.points(10)
def test_precision_recall_binary(student, rng, credit):
    y_true, y_pred = noisy(rng, 50, [0.7, 0.3], hit=0.75)
    for name in ("precision", "recall"):
        with credit.part(0.2, f"{name}, labels 0 and 1"):
            check_score(student, name, y_true, y_pred, f"{name} of 50 binary labels")
        with credit.part(0.15, f"{name}, pos_label=0"):
            check_score(student, name, y_true, y_pred, f"{name}(..., pos_label=0)", pos_label=0)
    signs = np.array([-1, 1])
    spam = np.array(["ham", "spam"])
    with credit.part(0.15, "labels -1 and 1"):
        check_score(student, "precision", signs[y_true], signs[y_pred], "precision of labels -1 and 1")
    with credit.part(0.15, "string labels with pos_label"):
        check_score(student, "recall", spam[y_true].tolist(), spam[y_pred].tolist(),
                    "recall(..., pos_label='spam') of lists of strings", pos_label="spam")


@pytest.mark.points(6)
@pytest.mark.parametrize("name", ["precision", "recall"])
def test_multiclass_averages(student, rng, credit, name):
    y_true, y_pred = noisy(rng, 80, [0.55, 0.25, 0.15, 0.05], hit=0.6)
    for average, weight in (("macro", 0.35), ("micro", 0.3), ("weighted", 0.35)):
        with credit.part(weight, f"average={average!r}"):
            check_score(student, name, y_true, y_pred, f"{name}(..., average={average!r}) of 4 imbalanced classes",
                        average=average)


@pytest.mark.points(10)
def test_f_scores(student, rng, credit):
    y_true, y_pred = noisy(rng, 60, [0.65, 0.35], hit=0.7)
    with credit.part(0.3, "f1, binary"):
        check_score(student, "f1", y_true, y_pred, "f1 of 60 binary labels")
    with credit.part(0.3, "fbeta, binary, beta 2 and 0.5"):
        for beta in (2.0, 0.5):
            check_score(student, "fbeta", y_true, y_pred, f"fbeta(..., beta={beta})", beta=beta)
    y_true, y_pred = noisy(rng, 60, [0.5, 0.3, 0.2], hit=0.6)
    with credit.part(0.2, "f1, macro"):
        check_score(student, "f1", y_true, y_pred, "f1(..., average='macro') of 3 classes", average="macro")
    with credit.part(0.2, "fbeta, weighted"):
        check_score(student, "fbeta", y_true, y_pred, "fbeta(..., beta=3, average='weighted') of 3 classes",
                    beta=3.0, average="weighted")


@pytest.mark.points(9)
def test_degenerate_label_sets(student, rng, credit):
    y_true = exact(rng, [20, 12, 8])
    never_predicted = never_predicting(rng, y_true, 2)
    with credit.part(0.3, "a class never predicted"):
        for name in ("precision", "f1"):
            check_score(student, name, y_true, never_predicted,
                        f"{name}(..., average='macro') where class 2 is never predicted", average="macro")
    never_true = y_true.copy()
    never_true[rng.choice(40, 5, replace=False)] = 3
    with credit.part(0.3, "a class absent from y_true"):
        for name, average in (("precision", "macro"), ("recall", "macro"), ("recall", "weighted")):
            check_score(student, name, y_true, never_true,
                        f"{name}(..., average={average!r}) where class 3 is predicted but never true", average=average)
    majority = exact(rng, [36, 4])
    with credit.part(0.4, "every prediction the majority class"):
        for name in ("precision", "recall", "f1"):
            check_score(student, name, majority, np.zeros(40, int),
                        f"{name} of always predicting the majority class 0 (pos_label=1)")
        check_score(student, "f1", y_true, np.zeros(40, int), "f1(..., average='macro') of always predicting class 0",
                    average="macro")


@pytest.mark.points(7)
def test_zero_division(student, rng, credit):
    y_true = exact(rng, [30, 10])
    all_negative = np.zeros(40, int)
    with credit.part(0.3, "no positive predicted"):
        for name in ("precision", "f1"):
            check_score(student, name, y_true, all_negative, f"{name}(..., zero_division=1.0) with no positive predicted",
                        zero_division=1.0)
    with credit.part(0.4, "no positive at all, zero_division 0 and 1"):
        for name in ("precision", "recall", "f1"):
            for zero_division in (0.0, 1.0):
                check_score(student, name, all_negative, all_negative,
                            f"{name}(..., zero_division={zero_division}) with no positive in y_true or y_pred",
                            zero_division=zero_division)
    y_true = exact(rng, [20, 12, 8])
    with credit.part(0.3, "macro average over a class never predicted"):
        check_score(student, "precision", y_true, never_predicting(rng, y_true, 2),
                    "precision(..., average='macro', zero_division=1.0) where class 2 is never predicted",
                    average="macro", zero_division=1.0)


# --- ROC and AUC --------------------------------------------------------------

@pytest.mark.points(10)
def test_roc_curve_matches_sklearn(student, rng, credit):
    y_true = exact(rng, [18, 12])
    with credit.part(0.35, "distinct scores"):
        check_roc_curve(student, y_true, rng.normal(size=30) + y_true, "roc_curve of 30 distinct scores")
    with credit.part(0.35, "tied scores"):
        check_roc_curve(student, y_true, tied_scores(rng, 30), "roc_curve of scores with ties")
    with credit.part(0.15, "pos_label=0"):
        check_roc_curve(student, y_true, rng.normal(size=30), "roc_curve(..., pos_label=0)", pos_label=0)
    with credit.part(0.15, "string labels"):
        y_text = np.array(["ham", "spam"])[y_true].tolist()
        check_roc_curve(student, y_text, tied_scores(rng, 30), "roc_curve(..., pos_label='spam') of a list of strings",
                        pos_label="spam")


@pytest.mark.points(5)
def test_auc_trapezoids(student, rng, credit):
    x, y = np.sort(rng.random(12)), rng.random(12)
    with credit.part(0.5, "increasing x"):
        check_auc(student, x, y, "auc of 12 points with increasing x")
    with credit.part(0.2, "decreasing x"):
        check_auc(student, x[::-1], y[::-1], "auc of 12 points with decreasing x (the area is still positive)")
    with credit.part(0.3, "an ROC curve with ties"):
        fpr, tpr, _ = sk.roc_curve(exact(rng, [10, 10]), tied_scores(rng, 20), drop_intermediate=False)
        check_auc(student, fpr, tpr, "auc of an ROC curve with diagonal pieces")


@pytest.mark.points(7)
def test_roc_auc_matches_sklearn(student, rng, credit):
    y_true = exact(rng, [25, 15])
    with credit.part(0.3, "distinct scores"):
        check_roc_auc(student, y_true, rng.normal(size=40) + y_true, "roc_auc of 40 distinct scores")
    with credit.part(0.4, "tied scores"):
        check_roc_auc(student, y_true, tied_scores(rng, 40), "roc_auc of scores with ties")
    with credit.part(0.3, "perfect and reversed ranking"):
        check_roc_auc(student, y_true, y_true + rng.random(40) / 2, "roc_auc of scores that rank every positive first")
        check_roc_auc(student, y_true, -y_true + rng.random(40) / 2, "roc_auc of scores that rank every negative first")


# --- bad arguments ------------------------------------------------------------

@pytest.mark.points(4)
def test_bad_arguments_raise_value_error(student, rng, credit):
    y3, y4 = rng.integers(0, 2, 3), rng.integers(0, 2, 4)
    with credit.part(0.25, "mismatched lengths and ranks"):
        assert_raises(ValueError, lambda: student.confusion_matrix(y3, y4), "confusion_matrix of 3 and 4 labels")
        assert_raises(ValueError, lambda: student.accuracy(y4, y4.reshape(2, 2)), "accuracy of a (2, 2) y_pred")
    with credit.part(0.25, "average"):
        assert_raises(ValueError, lambda: student.precision(y4, y4, average="mean"), "precision(..., average='mean')")
        assert_raises(ValueError, lambda: student.recall([0, 1, 2], [0, 1, 1]), "recall of 3 classes with average='binary'")
    with credit.part(0.25, "roc_auc with one class"):
        assert_raises(ValueError, lambda: student.roc_auc(np.ones(5, int), rng.random(5)), "roc_auc of all-positive labels")
    with credit.part(0.25, "auc of non-monotonic x"):
        assert_raises(ValueError, lambda: student.auc([0.0, 0.5, 0.2, 1.0], [0.0, 0.4, 0.6, 1.0]),
                      "auc with x neither increasing nor decreasing")


# --- quiz ---------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5", "q6"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question])
