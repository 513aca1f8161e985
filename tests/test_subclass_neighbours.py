"""Chapter 5: nearest neighbours in a subclass teacher's three layers."""

from __future__ import annotations

import pytest
import torch

from subclass_lib import losses as L
from subclass_lib.experiments import subclass_neighbours as N
from subclass_lib.models import MLP


def test_nearest_neighbours_by_hand():
    f = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert N.nearest_neighbours(f, 2).tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    assert N.nearest_neighbours(f, 1, queries=[3]).tolist() == [[2]]


def test_nearest_neighbours_matches_brute_force_over_blocks():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(1500, 5, generator=g)  # more than one block of queries
    got = N.nearest_neighbours(f, 3)
    d = torch.cdist(f.double(), f.double())
    d.fill_diagonal_(float("inf"))
    assert torch.equal(got, d.argsort(dim=1)[:, :3])


@pytest.mark.parametrize("k", [0, 4, 2.0])
def test_nearest_neighbours_rejects_bad_k(k):
    with pytest.raises(ValueError):
        N.nearest_neighbours(torch.zeros(4, 2), k)


def test_agreement_counts_shared_labels():
    nbrs = {"a": torch.tensor([[1], [0], [3], [2]]), "b": torch.tensor([[2], [3], [0], [1]])}
    labels = torch.tensor([0, 0, 1, 1])
    assert N.neighbour_agreement(nbrs, labels) == {"a": 1.0, "b": 0.0}
    with pytest.raises(ValueError):
        N.neighbour_agreement({"a": torch.zeros(3, 1, dtype=torch.long)}, labels)


def test_teacher_spaces_are_zero_meaned_projections_of_the_penultimate_layer():
    torch.manual_seed(0)
    model = MLP(hidden=(16,), out_dim=10)
    x = torch.rand(20, 784)
    sp = N.teacher_spaces(model, x, n_sub=5)
    assert [sp[s].shape[1] for s in N.SPACES] == [2, 10, 16]
    for s in ("class logits", "sub-logits"):
        assert torch.allclose(sp[s].mean(1), torch.zeros(20), atol=1e-5)
    with torch.no_grad():
        sub = model.head(sp["penultimate"])
    assert torch.allclose(sp["sub-logits"], sub - sub.mean(1, keepdim=True), atol=1e-5)
    cls = L.grouped_logits(sub, 5)
    assert torch.allclose(sp["class logits"], cls - cls.mean(1, keepdim=True), atol=1e-5)
    with pytest.raises(ValueError):
        N.teacher_spaces(model, x, n_sub=3)
