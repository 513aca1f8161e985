"""Behaviour tests for subclass_lib.metrics."""

import math

import numpy as np
import pytest
import torch

from subclass_lib import metrics as M


# ------------------------------------------------------------------ accuracy
def test_accuracy_logits_and_predictions():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 1.0]])
    y = torch.tensor([0, 1, 1, 1])
    assert M.accuracy(logits, y) == pytest.approx(0.75)
    assert M.accuracy(np.array([0, 1, 0, 1]), np.array([0, 1, 1, 1])) == pytest.approx(0.75)
    assert isinstance(M.accuracy(logits, y), float)


@pytest.mark.parametrize(
    "args",
    [
        (np.array([0, 1]), np.array([0, 1, 1])),  # length mismatch
        (np.zeros((2, 3)), np.array([0, 3])),  # label out of range for K = 3
        (np.array([0.0, 1.0]), np.array([0, 1])),  # float predictions
        (np.zeros((2, 2, 2)), np.array([0, 1])),  # 3-D
        (np.array([], dtype=int), np.array([], dtype=int)),  # empty
    ],
)
def test_accuracy_bad_inputs(args):
    with pytest.raises(ValueError):
        M.accuracy(*args)


# --------------------------------------------------------------- contingency
def test_contingency_known():
    pred = torch.tensor([0, 0, 1, 1, 2])
    true = np.array([0, 0, 1, 0, 1])
    c = M.contingency(pred, true, 3, 2)
    assert c.dtype == np.int64 and c.shape == (3, 2)
    np.testing.assert_array_equal(c, [[2, 0], [1, 1], [0, 1]])


@pytest.mark.parametrize(
    "args",
    [
        ([0, 1], [0], 2, 2),  # lengths differ
        ([0, 2], [0, 1], 2, 2),  # pred out of range
        ([0, 1], [0, -1], 2, 2),  # true negative
        ([0, 1], [0, 1], 0, 2),  # n_pred < 1
        (np.array([0.0, 1.0]), [0, 1], 2, 2),  # float
        (np.zeros((2, 1), dtype=int), [0, 1], 2, 2),  # not 1-D
    ],
)
def test_contingency_bad_inputs(args):
    p, t, a, b = args
    with pytest.raises(ValueError):
        M.contingency(np.asarray(p), np.asarray(t), a, b)


# ---------------------------------------------------------- subclass recovery
def test_recovery_known_square():
    cont = np.array([[5, 0, 0], [1, 4, 0], [0, 2, 3]])
    r = M.subclass_recovery(cont)
    assert r["any_mapping"] == pytest.approx(12 / 15)
    assert r["one_to_one"] == pytest.approx(12 / 15)
    assert sorted(r["assignment"]) == [(0, 0), (1, 1), (2, 2)]


def test_recovery_optimal_beats_greedy():
    cont = np.array([[10, 9], [9, 0]])
    total = cont.sum()

    # greedy: repeatedly take the largest remaining cell, removing its row and column
    c = cont.astype(float).copy()
    greedy = 0.0
    for _ in range(2):
        r, k = np.unravel_index(np.argmax(c), c.shape)
        greedy += cont[r, k]
        c[r, :] = -1
        c[:, k] = -1
    greedy /= total
    assert greedy == pytest.approx(10 / 28)

    r = M.subclass_recovery(cont)
    assert r["one_to_one"] == pytest.approx(18 / 28)  # optimal: (0,1) + (1,0)
    assert r["one_to_one"] > greedy
    assert sorted(r["assignment"]) == [(0, 1), (1, 0)]
    assert r["any_mapping"] == pytest.approx(19 / 28) and r["any_mapping"] >= r["one_to_one"]


def test_recovery_non_square_and_bounds():
    cont = np.array([[4, 0], [3, 0], [0, 5]])  # 3 clusters, 2 labels: one row unmatched
    r = M.subclass_recovery(cont)
    assert r["one_to_one"] == pytest.approx(9 / 12)
    assert r["any_mapping"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        c = rng.integers(0, 20, size=(rng.integers(1, 6), rng.integers(1, 6)))
        c[0, 0] += 1
        rr = M.subclass_recovery(c)
        assert 0 <= rr["one_to_one"] <= rr["any_mapping"] <= 1


@pytest.mark.parametrize(
    "cont", [np.array([1, 2, 3]), np.array([[1, -1], [0, 2]]), np.zeros((2, 2)), np.zeros((0, 3)), [[np.nan, 1.0]]]
)
def test_recovery_bad_inputs(cont):
    with pytest.raises(ValueError):
        M.subclass_recovery(np.asarray(cont))


def test_match_columns_recovers_permutation():
    rng = np.random.default_rng(1)
    n = 7
    a = rng.integers(0, n, size=500)
    sigma = rng.permutation(n)
    b = sigma[a]  # B is A with relabelled cluster ids
    perm = M.match_columns(a, torch.as_tensor(b), n)
    np.testing.assert_array_equal(perm[b], a)
    np.testing.assert_array_equal(perm[sigma], np.arange(n))  # perm is sigma's inverse
    # with 10% noise the permutation is still recovered exactly
    b_noisy = b.copy()
    idx = rng.choice(500, 50, replace=False)
    b_noisy[idx] = rng.integers(0, n, size=50)
    np.testing.assert_array_equal(M.match_columns(a, b_noisy, n), perm)


def test_match_permutation_square_only():
    with pytest.raises(ValueError, match="square"):
        M.match_permutation(np.ones((2, 3)))


# ------------------------------------------------------------------ entropies
def test_entropy_bits():
    assert M.entropy_bits(np.full(8, 1 / 8)) == pytest.approx(3.0)
    assert M.entropy_bits([1.0, 0.0]) == pytest.approx(0.0)
    h = M.entropy_bits(np.array([[0.5, 0.5], [1.0, 0.0]]))
    np.testing.assert_allclose(h, [1.0, 0.0])
    np.testing.assert_allclose(M.entropy_bits(np.array([[0.5, 1.0], [0.5, 0.0]]), axis=0), [1.0, 0.0])
    for bad in ([0.5, 0.6], [-0.1, 1.1], [np.nan, 1.0]):
        with pytest.raises(ValueError):
            M.entropy_bits(bad)


def test_subclass_entropies():
    # 4 examples, c = 2 classes x n_sub = 2; each example one-hot on a distinct subclass
    P = np.eye(4)
    r = M.subclass_entropies(P)
    assert r["per_example_bits"] == pytest.approx(0.0)
    assert r["utilisation_bits"] == pytest.approx(2.0)
    assert r["argmax_utilisation_bits"] == pytest.approx(2.0)
    r2 = M.subclass_entropies(P, np.array([0, 0, 1, 1]), 2)
    assert r2["within_class_per_example_bits"] == pytest.approx(0.0)
    assert r2["within_class_utilisation_bits"] == pytest.approx(1.0)
    # uniform predictions: peaky = max, utilisation = max, argmax collapses to one subclass
    U = np.full((3, 4), 0.25)
    r3 = M.subclass_entropies(torch.as_tensor(U), np.array([0, 1, 1]), 2)
    assert r3["per_example_bits"] == pytest.approx(2.0)
    assert r3["utilisation_bits"] == pytest.approx(2.0)
    assert r3["argmax_utilisation_bits"] == pytest.approx(0.0)
    assert r3["within_class_per_example_bits"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        M.subclass_entropies(U, np.array([0, 1, 1]))  # n_sub missing
    with pytest.raises(ValueError):
        M.subclass_entropies(U, np.array([0, 1, 2]), 2)  # label out of range
    with pytest.raises(ValueError):
        M.subclass_entropies(U * 2)  # not probabilities


def test_effective_label_bits():
    assert M.effective_label_bits(1.0) == pytest.approx(math.log2(5))
    assert M.effective_label_bits(0.2) == pytest.approx(0.0, abs=1e-12)
    assert M.effective_label_bits(0.0) == pytest.approx(math.log2(5) + math.log2(1 / 4))
    assert M.effective_label_bits(0.5, q=2) == pytest.approx(0.0, abs=1e-12)
    # subclass paper: 73.0% subclass accuracy -> 0.94 extra label bits
    assert M.effective_label_bits(0.73) == pytest.approx(0.94, abs=0.005)
    np.testing.assert_allclose(M.effective_label_bits(np.array([1.0, 0.2])), [math.log2(5), 0.0], atol=1e-12)
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError):
            M.effective_label_bits(bad)
    with pytest.raises(ValueError):
        M.effective_label_bits(0.5, q=1)


# ------------------------------------------------------------ diffusion index
def test_class_centroids():
    X = np.array([[0.0, 0.0], [2.0, 2.0], [1.0, 5.0], [3.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(M.class_centroids(X, y, 2), [[1.0, 1.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="without examples"):
        M.class_centroids(X, y, 3)
    with pytest.raises(ValueError):
        M.class_centroids(X, y[:3], 2)


def test_similar_dissimilar_sets_on_a_line():
    cents = np.arange(10, dtype=float)[:, None] ** 1.5  # increasing gaps along a line
    S, D = M.similar_dissimilar_sets(cents)  # 1 similar, 8 dissimilar for C = 10
    assert [s.tolist() for s in S[:3]] == [[1], [0], [1]]
    assert D[0].tolist() == [9, 8, 7, 6, 5, 4, 3, 2]
    assert all(len(d) == 8 and a not in d and not set(d) & set(S[a]) for a, d in enumerate(D))
    S2, D2 = M.similar_dissimilar_sets(cents, n_similar=2, n_dissimilar=3)
    assert S2[5].tolist() == [4, 6] and D2[5].tolist() == [9, 8, 0]  # farthest first: 15.8, 11.5, 11.2
    with pytest.raises(ValueError):
        M.similar_dissimilar_sets(cents, n_similar=5, n_dissimilar=5)


def test_diffusion_index_hand():
    # target 0 at the origin; similar class 1 at distance 1, dissimilar class 2 at distance 3.
    c1 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    # at higher T class 1 diffuses halfway towards class 0
    cT = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 3.0]])
    # relative distances: T=1: 1/4, 3/4; T: 0.5/3.5 = 1/7, 3/3.5 = 6/7
    eta_s = 100 * ((1 / 7) - (1 / 4)) / (1 / 4)  # -42.857 %
    eta_d = 100 * ((6 / 7) - (3 / 4)) / (3 / 4)  # +14.286 %
    r = M.diffusion_index(c1, cT, {0: [1]}, {0: [2]})
    assert r["similar"] == pytest.approx(eta_s) and r["similar"] < 0
    assert r["dissimilar"] == pytest.approx(eta_d) and r["dissimilar"] > 0
    assert r["per_class"]["targets"].tolist() == [0]
    # global rescaling / translation of the high-T centroids changes nothing
    r2 = M.diffusion_index(c1, 10 * cT + 3.0, {0: [1]}, {0: [2]}, percent=False)
    assert r2["similar"] == pytest.approx(eta_s / 100) and r2["dissimilar"] == pytest.approx(eta_d / 100)
    # no change -> zero
    r3 = M.diffusion_index(c1, c1, [[1], [0], [1]], [[2], [2], [0]])
    assert r3["similar"] == pytest.approx(0.0) and r3["dissimilar"] == pytest.approx(0.0)
    assert r3["per_class"]["similar"].shape == (3,)


def test_diffusion_index_with_method2_sets():
    rng = np.random.default_rng(2)
    c1 = rng.normal(size=(10, 4)) * 5
    S, D = M.similar_dissimilar_sets(c1)
    cT = c1.copy()
    for a in range(10):  # every class drifts towards its nearest neighbour
        cT[a] = c1[a] + 0.3 * (c1[S[a][0]] - c1[a])
    r = M.diffusion_index(c1, cT, S, D)
    assert r["per_class"]["similar"].shape == (10,)
    assert np.isfinite(r["similar"]) and np.isfinite(r["dissimilar"])


@pytest.mark.parametrize(
    "args",
    [
        (np.zeros((3, 2)), np.zeros((4, 2)), {0: [1]}, {0: [2]}),  # class-count mismatch
        (np.eye(3), np.eye(3), {0: [0]}, {0: [2]}),  # target in its own set
        (np.eye(3), np.eye(3), {0: [1]}, {0: [1]}),  # overlapping sets
        (np.eye(3), np.eye(3), {0: [5]}, {0: [2]}),  # out of range
        (np.eye(3), np.eye(3), {0: []}, {0: [2]}),  # empty set
        (np.eye(3), np.eye(3), {0: [1]}, {1: [2]}),  # no common target
        (np.zeros((3, 2)), np.eye(3)[:, :2], {0: [1]}, {0: [2]}),  # coinciding centroids
        (np.eye(3)[0], np.eye(3), {0: [1]}, {0: [2]}),  # not 2-D
    ],
)
def test_diffusion_index_bad_inputs(args):
    with pytest.raises(ValueError):
        M.diffusion_index(*args)
