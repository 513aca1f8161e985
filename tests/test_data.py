"""Tests for subclass_lib.data: digit groups, digit sets, splits and subsets, jitter.
(The MNIST sources and their cache: tests/test_mnist.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from subclass_lib import data as D


# --------------------------------------------------------------------------- #
# Groups
# --------------------------------------------------------------------------- #


def test_check_groups_accepts_forms():
    assert D.check_groups(D.DEFAULT_GROUPS) == D.DEFAULT_GROUPS
    assert D.check_groups("01234") == D.DEFAULT_GROUPS
    assert D.check_groups("0138") == ((0, 1, 3, 8), (2, 4, 5, 6, 7, 9))
    assert D.check_groups(("0138", "245679")) == ((0, 1, 3, 8), (2, 4, 5, 6, 7, 9))
    assert D.check_groups("0138|2456/79") == ((0, 1, 3, 8), (2, 4, 5, 6), (7, 9))
    assert D.check_groups([[9, 0], range(1, 9)]) == ((9, 0), (1, 2, 3, 4, 5, 6, 7, 8))


@pytest.mark.parametrize(
    "groups,match",
    [
        (((0, 1, 2, 3), (5, 6, 7, 8, 9)), r"\[4\] are missing"),
        (((0, 1, 2, 3, 4), (4, 5, 6, 7, 8, 9)), r"\[4\] appear more than once"),
        (((0, 1, 2, 3, 4, 5, 6, 7, 8, 9),), "at least 2 groups"),
        ("0123456789", "empty"),
        (((0, 1, 2, 3, 4), (), (5, 6, 7, 8, 9)), "empty"),
        (((0, 1, 2, 3, 10), (4, 5, 6, 7, 8, 9)), "outside 0..9"),
        (((0, 1, 2, 3, 4.0), (5, 6, 7, 8, 9)), "group 0 must be integers 0..9"),
        ("01a", "group string must be integers 0..9, got 'a'"),
        (((0, 1), 2, (3, 4, 5, 6, 7, 8, 9)), "bare number"),
        ((None, range(10)), "group 0 must be integers"),
        (5, "expected"),
    ],
)
def test_check_groups_rejects(groups, match):
    with pytest.raises(ValueError, match=match):
        D.check_groups(groups)


def test_parse_digits_sorted_without_repeats():
    assert D.parse_digits(None) == () == D.parse_digits(()) == D.parse_digits("")
    assert D.parse_digits(3) == (3,) == D.parse_digits(np.int64(3)) == D.parse_digits("3")
    assert D.parse_digits("7 3,3") == (3, 7) == D.parse_digits(["7", torch.tensor(3), np.int8(3)])
    assert D.parse_digits(torch.tensor([9, 0])) == (0, 9)
    for bad, match in [([10], "outside 0..9"), (True, "integers 0..9"), ("3a", "got 'a'"), (["03"], "got '03'"),
                       ([1.0], "got 1.0"), ([torch.tensor(True)], "integers 0..9"), (object(), "integers 0..9")]:
        with pytest.raises(ValueError, match=match):
            D.parse_digits(bad)


def test_superclass_labels_and_order():
    y = torch.arange(10).repeat(2)
    assert D.superclass_labels(y).tolist() == [0] * 5 + [1] * 5 + [0] * 5 + [1] * 5
    assert D.superclass_labels(y, "0138").tolist()[:10] == [0, 0, 1, 0, 1, 1, 1, 1, 0, 1]
    assert D.superclass_labels(torch.tensor([[9, 0]])).dtype == torch.int64
    assert D.subclass_order(D.DEFAULT_GROUPS) == list(range(10))
    assert D.subclass_order("0138") == [0, 1, 3, 8, 2, 4, 5, 6, 7, 9]
    with pytest.raises(ValueError, match="0..9"):
        D.superclass_labels(torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="integer"):
        D.superclass_labels(torch.tensor([0.0, 1.0]))


# --------------------------------------------------------------------------- #
# Selection, splitting, subsets
# --------------------------------------------------------------------------- #


@pytest.fixture
def small():
    y = torch.arange(10).repeat(30)
    x = torch.arange(300, dtype=torch.float32).unsqueeze(1).repeat(1, 784)
    return x, y


def test_omit_and_keep_digits(small):
    x, y = small
    xo, yo = D.omit_digits(x, y, [3, 7])
    assert len(yo) == 240 and not bool(((yo == 3) | (yo == 7)).any())
    assert torch.equal(xo[:, 0].long() % 10, yo)  # rows travel with their labels
    xk, yk = D.keep_digits(x, y, "37")
    assert sorted(set(yk.tolist())) == [3, 7] and len(yk) == 60
    assert D.omit_digits(x, y, [])[1].shape == y.shape
    with pytest.raises(ValueError, match="all ten"):
        D.omit_digits(x, y, range(10))
    with pytest.raises(ValueError, match="outside 0..9"):
        D.omit_digits(x, y, [11])
    with pytest.raises(ValueError, match="rows"):
        D.omit_digits(x[:5], y, [1])
    with pytest.raises(ValueError, match="0..9"):
        D.keep_digits(x, y + 5, [1])


def test_train_val_split(small):
    x, y = small
    (xtr, ytr), (xva, yva) = D.train_val_split(x, y, val_size=50, seed=3)
    assert len(ytr) == 250 and len(yva) == 50
    tr_ids, va_ids = set(xtr[:, 0].tolist()), set(xva[:, 0].tolist())
    assert not tr_ids & va_ids and len(tr_ids | va_ids) == 300
    (xtr2, _), (xva2, _) = D.train_val_split(x, y, val_size=50, seed=3)
    assert torch.equal(xva, xva2) and torch.equal(xtr, xtr2)
    (_, _), (xva3, _) = D.train_val_split(x, y, val_size=50, seed=4)
    assert not torch.equal(xva, xva3)
    (_, _), (_, yf) = D.train_val_split(x, y, val_size=0.1)
    assert len(yf) == 30
    for bad in (0, 300, 1.0, 0.0, -0.5, True, "10"):
        with pytest.raises(ValueError, match="val_size"):
            D.train_val_split(x, y, val_size=bad)
    for bad in (1.5, -1, True, "0"):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            D.train_val_split(x, y, seed=bad)


def test_subset(small):
    x, y = small
    xs, ys = D.subset(x, y, 0.1, seed=1)
    assert len(ys) == 30 and torch.equal(xs[:, 0].long() % 10, ys)
    assert torch.equal(D.subset(x, y, 0.1, seed=1)[0], xs)
    assert not torch.equal(D.subset(x, y, 0.1, seed=2)[0], xs)
    assert len(D.subset(x, y, 1.0)[1]) == 300
    assert len(D.subset(x, y, 1e-9)[1]) == 1
    for bad in (0, 0.0, 1.5, -1, "0.5"):
        with pytest.raises(ValueError, match="fraction"):
            D.subset(x, y, bad)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        D.subset(x, y, 0.5, seed=-1)


# --------------------------------------------------------------------------- #
# Jitter
# --------------------------------------------------------------------------- #


def _blob_batch(b=16):
    img = torch.zeros(b, 28, 28)
    img[:, 11:17, 12:16] = torch.rand(b, 6, 4) + 0.1
    return img.reshape(b, 784)


def _manual_shift(img28: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(img28)
    for i in range(28):
        for j in range(28):
            si, sj = i - dy, j - dx
            if 0 <= si < 28 and 0 <= sj < 28:
                out[i, j] = img28[si, sj]
    return out


def test_jitter_shape_identity_and_mass():
    x = _blob_batch()
    g = torch.Generator().manual_seed(0)
    out = D.jitter(x, max_shift=2, generator=g)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out.sum(1), x.sum(1))
    assert D.jitter(x, max_shift=0) is x
    # Independent shifts per example, reproducible with the generator.
    assert not all(torch.equal(out[i], x[i]) for i in range(len(x)))
    assert torch.equal(out, D.jitter(x, 2, generator=torch.Generator().manual_seed(0)))


def test_jitter_matches_roll_and_manual_shift():
    x = _blob_batch(3)
    shifts = torch.tensor([[2, -1], [-2, 2], [0, 0]])
    out = D.jitter(x, max_shift=2, shifts=shifts)
    for k, (dx, dy) in enumerate(shifts.tolist()):
        img = x[k].reshape(28, 28).numpy()
        rolled = np.roll(img, shift=(dy, dx), axis=(0, 1))  # blob stays in frame: roll == shift
        np.testing.assert_array_equal(out[k].reshape(28, 28).numpy(), rolled)

    # Zero fill at the border, on a full random image.
    r = torch.rand(2, 784)
    s = torch.tensor([[3, 1], [-1, -4]])
    out = D.jitter(r, max_shift=4, shifts=s)
    for k, (dx, dy) in enumerate(s.tolist()):
        np.testing.assert_array_equal(out[k].reshape(28, 28).numpy(), _manual_shift(r[k].reshape(28, 28).numpy(), dx, dy))


def test_jitter_validates():
    with pytest.raises(ValueError, match="784"):
        D.jitter(torch.zeros(4, 28, 28))
    with pytest.raises(ValueError, match="max_shift"):
        D.jitter(torch.zeros(4, 784), max_shift=-1)
    with pytest.raises(ValueError, match="max_shift"):
        D.jitter(torch.zeros(4, 784), max_shift=1.5)
    with pytest.raises(ValueError, match="shifts"):
        D.jitter(torch.zeros(4, 784), shifts=torch.zeros(3, 2, dtype=torch.long))


def test_random_view_is_a_shift_plus_noise_and_repeatable():
    torch.manual_seed(0)
    x = torch.rand(16, 784)
    a = D.random_view(x, 1, 0.5, generator=torch.Generator().manual_seed(3))
    b = D.random_view(x, 1, 0.5, generator=torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    # with no noise it is exactly a jitter with the same draw
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(D.random_view(x, 2, 0.0, generator=g1), D.jitter(x, 2, generator=g2))
    # no shift: the difference is the noise, of about the asked standard deviation
    d = D.random_view(x, 0, 0.5, generator=torch.Generator().manual_seed(1)) - x
    assert 0.45 < float(d.std()) < 0.55 and abs(float(d.mean())) < 0.02


@pytest.mark.parametrize("noise", [-0.1, float("nan"), "0.5", True])
def test_random_view_rejects_bad_noise(noise):
    with pytest.raises(ValueError, match="noise"):
        D.random_view(torch.rand(2, 784), 1, noise)
