"""Hidden tests of assignment 04 (information), graded against SciPy and identities.

Oracles: `scipy.stats.entropy` (entropy and KL), `scipy.special.xlogy`
(cross-entropy) and `scipy.spatial.distance.jensenshannon` (its square is the
JS divergence). Messages name what failed, never the expected values.
PYTEST_DONT_REWRITE: pytest's assertion rewriting would append the compared
values, expected ones included, to every failure message.
"""

import numpy as np
import pytest
import scipy.stats
from scipy.spatial.distance import jensenshannon
from scipy.special import xlogy

from autograder.testkit import assert_close, assert_finite, assert_raises, quiz_check

ZERO_HINT = ("0 * log(0) is nan in NumPy; by the convention 0 log 0 = 0, "
             "entries with p = 0 must contribute nothing to the sum")


def distributions(rng, shape, zeros=0.0):
    """Probability vectors along the last axis of `shape`; about a fraction `zeros`
    of the entries are exactly 0: never the first of a vector, always its last
    (so that every seed exercises 0 * log 0) when `zeros` > 0."""
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    dropped = rng.random(shape) < zeros
    dropped[..., 0] = False
    dropped[..., -1] = zeros > 0
    p[dropped] = 0
    return p / p.sum(axis=-1, keepdims=True)


def scipy_cross_entropy(p, q, base=np.e):
    return -xlogy(p, q).sum(axis=-1) / np.log(base)


def scipy_js(p, q, base=2):
    return jensenshannon(p, q, base=base, axis=-1) ** 2


def check(result, expected, what):
    assert_finite(result, what, ZERO_HINT)
    assert_close(result, expected, what=what)


# --- entropy ------------------------------------------------------------------

@pytest.mark.points(10)
def test_entropy_matches_scipy(student, rng, credit):
    p = distributions(rng, (6,))
    with credit.part(0.4, "natural log"):
        check(student.entropy(p), scipy.stats.entropy(p), "entropy of a vector of 6 probabilities")
    with credit.part(0.3, "base 2"):
        check(student.entropy(p, base=2), scipy.stats.entropy(p, base=2), "entropy(p, base=2)")
    with credit.part(0.3, "base 10"):
        check(student.entropy(p, base=10), scipy.stats.entropy(p, base=10), "entropy(p, base=10)")


@pytest.mark.points(8)
def test_entropy_zero_entries(student, rng, credit):
    with credit.part(0.3, "one-hot"):
        check(student.entropy([0.0, 0.0, 1.0, 0.0]), 0.0, "entropy of the one-hot list [0, 0, 1, 0]")
    with credit.part(0.4, "a vector with zeros"):
        p = distributions(rng, (8,), zeros=0.4)
        check(student.entropy(p, base=2), scipy.stats.entropy(p, base=2), "entropy(p, base=2) of a vector with zero entries")
    with credit.part(0.3, "a batch with zeros"):
        p = distributions(rng, (5, 6), zeros=0.4)
        check(student.entropy(p), scipy.stats.entropy(p, axis=-1), "entropy of a (5, 6) batch with zero entries")


@pytest.mark.points(6)
def test_entropy_batch_last_axis(student, rng, credit):
    with credit.part(0.5, "(6, 5) batch"):
        p = distributions(rng, (6, 5))
        check(student.entropy(p), scipy.stats.entropy(p, axis=-1), "entropy of a (6, 5) batch (one value per row)")
    with credit.part(0.5, "(2, 3, 4) batch"):
        p = distributions(rng, (2, 3, 4))
        check(student.entropy(p, base=2), scipy.stats.entropy(p, base=2, axis=-1), "entropy of a (2, 3, 4) batch, base 2")


# --- cross-entropy ------------------------------------------------------------

@pytest.mark.points(8)
def test_cross_entropy_matches_scipy(student, rng, credit):
    with credit.part(0.4, "a vector"):
        p, q = distributions(rng, (6,)), distributions(rng, (6,))
        check(student.cross_entropy(p, q), scipy_cross_entropy(p, q), "cross_entropy(p, q) of two vectors")
    with credit.part(0.3, "a batch, base 2"):
        p, q = distributions(rng, (5, 4)), distributions(rng, (5, 4))
        check(student.cross_entropy(p, q, base=2), scipy_cross_entropy(p, q, 2), "cross_entropy(p, q, base=2) of (5, 4) batches")
    with credit.part(0.15, "zeros in p"):
        p, q = distributions(rng, (8,), zeros=0.4), distributions(rng, (8,))
        check(student.cross_entropy(p, q), scipy_cross_entropy(p, q), "cross_entropy(p, q) where p has zero entries")
    with credit.part(0.15, "q == 0 < p"):
        h = student.cross_entropy([0.5, 0.5], [1.0, 0.0])
        assert np.isposinf(h), f"cross_entropy([0.5, 0.5], [1, 0]) returned {h}; q is 0 where p is positive"


# --- KL divergence ------------------------------------------------------------

@pytest.mark.points(10)
def test_kl_matches_scipy(student, rng, credit):
    p, q = distributions(rng, (6,)), distributions(rng, (6,))
    with credit.part(0.3, "natural log"):
        check(student.kl_divergence(p, q), scipy.stats.entropy(p, q), "kl_divergence(p, q) of two vectors")
    with credit.part(0.2, "base 2"):
        check(student.kl_divergence(p, q, base=2), scipy.stats.entropy(p, q, base=2), "kl_divergence(p, q, base=2)")
    with credit.part(0.25, "a batch"):
        p, q = distributions(rng, (5, 4)), distributions(rng, (5, 4))
        check(student.kl_divergence(p, q), scipy.stats.entropy(p, q, axis=-1), "kl_divergence of (5, 4) batches")
    with credit.part(0.25, "zeros in p"):
        p, q = distributions(rng, (8,), zeros=0.4), distributions(rng, (8,))
        check(student.kl_divergence(p, q), scipy.stats.entropy(p, q), "kl_divergence(p, q) where p has zero entries")


@pytest.mark.points(6)
def test_kl_equals_cross_entropy_minus_entropy(student, rng):
    p, q = distributions(rng, (5, 6)), distributions(rng, (5, 6))
    kl = student.kl_divergence(p, q)
    difference = np.asarray(student.cross_entropy(p, q)) - np.asarray(student.entropy(p))
    check(kl, difference, "kl_divergence(p, q) against your cross_entropy(p, q) - entropy(p) on (5, 6) batches")


@pytest.mark.points(4)
def test_kl_nonnegative_and_zero_on_equal(student, rng, credit):
    with credit.part(0.5, "non-negative"):
        p = distributions(rng, (20, 5))
        q = np.concatenate([distributions(rng, (10, 5)), 0.99 * p[10:] + 0.01 / 5])  # half the pairs nearly equal
        kl = np.asarray(student.kl_divergence(p, q))
        assert_finite(kl, "kl_divergence of 20 pairs", ZERO_HINT)
        assert np.all(kl >= -1e-12), f"kl_divergence is negative for {np.count_nonzero(kl < -1e-12)} of 20 pairs (lowest {kl.min():.1e})"
    with credit.part(0.5, "KL(p || p)"):
        p = distributions(rng, (4, 6), zeros=0.3)
        check(student.kl_divergence(p, p), np.zeros(4), "kl_divergence(p, p) for a (4, 6) batch with zero entries")


@pytest.mark.points(3)
def test_kl_argument_order(student, rng):
    p, q = distributions(rng, (6,)), distributions(rng, (6,))
    kl = student.kl_divergence(p, q)
    assert not np.isclose(kl, scipy.stats.entropy(q, p), rtol=1e-7, atol=0), (
        "kl_divergence(p, q) computed D_KL(q || p): the arguments are swapped")
    check(kl, scipy.stats.entropy(p, q), "kl_divergence(p, q) (KL is not symmetric)")


@pytest.mark.points(6)
def test_kl_infinite_where_q_is_zero(student, rng, credit):
    with credit.part(0.4, "one pair"):
        d = student.kl_divergence([0.5, 0.5], [1.0, 0.0])
        assert np.isposinf(d), f"kl_divergence([0.5, 0.5], [1, 0]) returned {d}; q is 0 where p is positive"
    with credit.part(0.3, "one row of a batch"):
        p, q = distributions(rng, (3, 4)), distributions(rng, (3, 4))
        q[1] = [0.0, 0.5, 0.25, 0.25]
        d = np.asarray(student.kl_divergence(p, q))
        assert np.shape(d) == (3,), f"kl_divergence of (3, 4) batches should give shape (3,), got {np.shape(d)}"
        assert np.isposinf(d[1]), f"kl_divergence returned {d[1]} for the row where q is 0 and p is positive"
        check(d[[0, 2]], scipy.stats.entropy(p[[0, 2]], q[[0, 2]], axis=-1), "kl_divergence of the rows without zeros")
    with credit.part(0.3, "q == 0 where p == 0"):
        p, q = [0.0, 0.3, 0.7], [0.0, 0.6, 0.4]
        check(student.kl_divergence(p, q), scipy.stats.entropy(p, q), "kl_divergence where p and q are both 0 in one entry")


# --- JS divergence ------------------------------------------------------------

@pytest.mark.points(10)
def test_js_matches_scipy(student, rng, credit):
    with credit.part(0.4, "a vector"):
        p, q = distributions(rng, (6,)), distributions(rng, (6,))
        check(student.js_divergence(p, q), scipy_js(p, q), "js_divergence(p, q) of two vectors (base 2)")
    with credit.part(0.3, "a batch with zeros"):
        p, q = distributions(rng, (5, 4), zeros=0.3), distributions(rng, (5, 4), zeros=0.3)
        check(student.js_divergence(p, q), scipy_js(p, q), "js_divergence of (5, 4) batches with zero entries")
    with credit.part(0.3, "natural log"):
        p, q = distributions(rng, (6,)), distributions(rng, (6,))
        check(student.js_divergence(p, q, base=np.e), scipy_js(p, q, np.e), "js_divergence(p, q, base=np.e)")


@pytest.mark.points(5)
def test_js_symmetric_and_bounded(student, rng, credit):
    p, q = distributions(rng, (10, 5), zeros=0.3), distributions(rng, (10, 5), zeros=0.3)
    with credit.part(0.3, "symmetric"):
        check(student.js_divergence(p, q), np.asarray(student.js_divergence(q, p)), "js_divergence(p, q) against js_divergence(q, p)")
    with credit.part(0.3, "within [0, 1] in bits"):
        js = np.asarray(student.js_divergence(p, q))
        assert_finite(js, "js_divergence of 10 pairs", ZERO_HINT)
        assert np.all((js >= -1e-12) & (js <= 1 + 1e-12)), (
            f"js_divergence (base 2) left [0, 1] for {np.count_nonzero((js < -1e-12) | (js > 1 + 1e-12))} of 10 pairs")
    with credit.part(0.4, "disjoint supports"):
        check(student.js_divergence([0.0, 0.4, 0.0, 0.6], [0.7, 0.0, 0.3, 0.0]), 1.0,
              "js_divergence of two distributions with disjoint supports (base 2)")


# --- binary entropy -----------------------------------------------------------

@pytest.mark.points(8)
def test_binary_entropy(student, rng, credit):
    with credit.part(0.35, "pure nodes"):
        check(student.binary_entropy(0.0), 0.0, "binary_entropy(0.0), a pure node")
        check(student.binary_entropy(1.0), 0.0, "binary_entropy(1.0), a pure node")
    with credit.part(0.25, "a 50/50 node"):
        check(student.binary_entropy(0.5), 1.0, "binary_entropy(0.5), a 50/50 node, in bits")
    with credit.part(0.25, "random nodes"):
        for p1 in rng.random(5):
            check(student.binary_entropy(float(p1)), scipy.stats.entropy([p1, 1 - p1], base=2), "binary_entropy of a random p1 in (0, 1)")
    with credit.part(0.15, "natural log"):
        check(student.binary_entropy(0.5, base=np.e), np.log(2), "binary_entropy(0.5, base=np.e)")


# --- bad arguments ------------------------------------------------------------

@pytest.mark.points(6)
def test_invalid_distributions_raise_value_error(student, credit):
    with credit.part(0.25, "negative entries"):
        assert_raises(ValueError, lambda: student.entropy([-0.5, 1.5]), "entropy([-0.5, 1.5])")
        assert_raises(ValueError, lambda: student.kl_divergence([0.5, 0.5], [1.2, -0.2]), "kl_divergence with a negative q")
    with credit.part(0.25, "not summing to 1"):
        assert_raises(ValueError, lambda: student.entropy([0.5, 0.6]), "entropy([0.5, 0.6])")
        assert_raises(ValueError, lambda: student.cross_entropy([[0.5, 0.5], [0.3, 0.3]], [[0.5, 0.5], [0.5, 0.5]]),
                      "cross_entropy with a batch row of p summing to 0.6")
    with credit.part(0.2, "mismatched shapes"):
        assert_raises(ValueError, lambda: student.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5]), "kl_divergence of shapes (2,) and (3,)")
    with credit.part(0.1, "JS of an unnormalised q"):
        assert_raises(ValueError, lambda: student.js_divergence([0.5, 0.5], [0.5, 0.7]), "js_divergence with q summing to 1.2")
    with credit.part(0.1, "p1 outside [0, 1]"):
        assert_raises(ValueError, lambda: student.binary_entropy(1.5), "binary_entropy(1.5)")
    with credit.part(0.1, "rounding error is accepted"):
        check(student.entropy([0.3, 0.7 + 1e-9]), scipy.stats.entropy([0.3, 0.7 + 1e-9]),
              "entropy of [0.3, 0.7 + 1e-9] (sums to 1 within the 1e-6 tolerance)")


# --- quiz ---------------------------------------------------------------------

QUIZ_TOLERANCES = {"q3": 2e-3, "q4": 2e-3}  # numeric answers; others 1e-3


@pytest.mark.points(2)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question], QUIZ_TOLERANCES.get(question))
