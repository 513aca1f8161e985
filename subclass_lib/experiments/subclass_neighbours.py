"""Chapter 5, "Sub-logits as a learned projection": nearest neighbours of validation images in three
layers of chapter 4's binary teacher (the subclass paper's Fig. 2 idea, on MNIST).

At a high temperature, matching softened logits amounts to matching zero-meaned logits (Hinton et
al.'s limit, chapter 1), so what a distilled student is taught is the teacher's zero-meaned output
layer. For a binary teacher with a subclass head that is either its 2 class logits (conventional
distillation) or its c*s sub-logits (subclass distillation), both linear functions of its
penultimate layer (penultimate-layer distillation). :func:`teacher_spaces` computes the three;
:func:`nearest_neighbours` and :func:`neighbour_agreement` measure what each keeps of the digit
that the teacher was never told. No training: the teacher is the cached one.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .. import losses as L
from ..models import predict
from .subclass import TeacherResult, load_data

__all__ = ["SPACES", "teacher_spaces", "nearest_neighbours", "neighbour_agreement", "validation_neighbours"]

#: The three layers, in the order of the chapter's figure and table.
SPACES = ("class logits", "sub-logits", "penultimate")


def _centre(z: torch.Tensor) -> torch.Tensor:
    return z - z.mean(dim=1, keepdim=True)


def teacher_spaces(model: torch.nn.Module, x: torch.Tensor, n_sub: int) -> dict[str, torch.Tensor]:
    """The three representations of images ``x`` ([N, 784]) in a subclass teacher with ``n_sub``
    subclasses per class: its zero-meaned class logits (``grouped_logits``: c values), its
    zero-meaned sub-logits (c*s values), both as a high-temperature distillation loss sees them,
    and its penultimate activations."""
    if x.dim() != 2:
        raise ValueError(f"x must be [N, D] images, got shape {tuple(x.shape)}")
    sub = predict(model, x).float()
    L._check_groups(sub, n_sub, "the teacher's sub-logits")
    return {"class logits": _centre(L.grouped_logits(sub, n_sub)), "sub-logits": _centre(sub),
            "penultimate": predict(model, x, features=True).float()}


def nearest_neighbours(feats: torch.Tensor, k: int, queries: torch.Tensor | None = None) -> torch.Tensor:
    """Indices [Q, k] of the ``k`` rows of ``feats`` ([N, d]) nearest (Euclidean) to each query row
    (``queries``: row indices, default all), nearest first, the query itself excluded."""
    if feats.dim() != 2:
        raise ValueError(f"feats must be [N, d], got shape {tuple(feats.shape)}")
    n = feats.shape[0]
    if not isinstance(k, int) or not 1 <= k < n:
        raise ValueError(f"k must be an integer in [1, {n - 1}], got {k!r}")
    q = torch.arange(n) if queries is None else torch.as_tensor(queries, dtype=torch.long)
    if q.numel() and (q.min() < 0 or q.max() >= n):
        raise ValueError(f"queries must be row indices in [0, {n})")
    f = feats.float()
    out = []
    for rows in q.split(1024):  # blocks of queries: memory stays small for any N
        d = torch.cdist(f[rows], f)
        d[torch.arange(len(rows)), rows] = float("inf")
        out.append(torch.topk(d, k, dim=1, largest=False).indices)
    return torch.cat(out) if out else torch.empty(0, k, dtype=torch.long)


def neighbour_agreement(neighbours: Mapping[str, torch.Tensor], labels: torch.Tensor) -> dict[str, float]:
    """For each space, the fraction of the neighbours (``neighbours[space]``: [N, k] row indices,
    row i holding image i's, from :func:`nearest_neighbours`) that share the image's label
    (``labels``: [N] integers, e.g. the digit)."""
    labels = torch.as_tensor(labels)
    out = {}
    for name, idx in neighbours.items():
        if idx.dim() != 2 or idx.shape[0] != labels.shape[0]:
            raise ValueError(f"neighbours[{name!r}] must be [{labels.shape[0]}, k], got {tuple(idx.shape)}")
        out[name] = float((labels[idx] == labels[:, None]).double().mean())
    return out


def validation_neighbours(teacher: TeacherResult, k: int = 8) -> dict:
    """The chapter's numbers on the 5,000 validation images: ``spaces`` (:func:`teacher_spaces`),
    ``x``, ``digit``, ``y`` (super-class), ``neighbours`` (each image's ``k`` nearest in each
    space), and for each space the fraction of them that share the image's digit
    (``same_digit``) and its super-class (``same_class``)."""
    if not isinstance(teacher, TeacherResult):
        raise ValueError("teacher must be a TeacherResult (subclass_students.get_teacher)")
    cfg = teacher.config
    data = load_data(cfg.split, cfg.teacher_fraction)
    spaces = teacher_spaces(teacher.model.cpu(), data["x_val"], cfg.n_sub)
    nbrs = {name: nearest_neighbours(f, k) for name, f in spaces.items()}
    return {"k": k, "spaces": spaces, "x": data["x_val"], "digit": data["digit_val"], "y": data["y_val"],
            "neighbours": nbrs, "same_digit": neighbour_agreement(nbrs, data["digit_val"]),
            "same_class": neighbour_agreement(nbrs, data["y_val"])}
