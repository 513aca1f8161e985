"""Chapter 3 measurements: what label smoothing and temperature do to the penultimate layer.

* the penultimate-layer projection of Müller, Kornblith and Hinton (2019)
  (:func:`projection_basis`, :func:`project_features`, :func:`penultimate_projection`);
* the temperature at which a teacher's soft targets reach a given entropy
  (:func:`equal_entropy_temperature`; the entropy itself is
  :func:`subclass_lib.metrics.soft_target_entropy`);
* how tight the class clusters are and how far apart similar digits sit (:func:`cluster_geometry`);
* the diffusion index of Chandrasegaran et al. (2022, Eq. 1) on the students' features, with
  similar / dissimilar digits from the hard-label teacher's centroids (:func:`digit_sets`,
  :func:`diffusion_rows`);
* the mechanism behind it (their Section 4 and Supplementary E): a teacher's mean probabilities
  of each class's wrong classes, runner-up against the rest, at several temperatures
  (:func:`wrong_class_profile`, :func:`wrong_class_summary`).

The models come from :mod:`subclass_lib.experiments.ls_kd`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .. import metrics
from ..checks import check_classes
from ..metrics import soft_target_entropy
from ..models import predict

__all__ = [
    "projection_basis",
    "project_features",
    "penultimate_projection",
    "equal_entropy_temperature",
    "cluster_geometry",
    "digit_sets",
    "diffusion_rows",
    "wrong_class_profile",
    "wrong_class_summary",
]

N_CLASSES = 10


# ----------------------------------------------------------------------------- projection

def _np64(a) -> np.ndarray:
    return metrics.to_numpy(a).astype(np.float64, copy=False)


def projection_basis(weight, bias, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    r"""Orthonormal basis of the plane through three class templates (Müller et al. 2019).

    The template of class k is its last-layer weight row with the bias appended,
    :math:`w_k = [W_k, b_k] \in \mathbb{R}^{d+1}` (so that :math:`z_k = w_k^\top [h, 1]`).
    The plane through the three templates :math:`w_a, w_b, w_c` is spanned by
    :math:`w_b - w_a` and :math:`w_c - w_a`; QR of that ``[d+1, 2]`` matrix gives the
    orthonormal basis ``Q``. Returns ``(Q [d+1, 2], templates [3, d+1])``.
    Raises ``ValueError`` if the templates are (nearly) collinear.
    """
    a, b, c = check_classes(classes, n_classes=_np64(weight).shape[0])
    W, bvec = _np64(weight), _np64(bias)
    if W.ndim != 2 or bvec.shape != (W.shape[0],):
        raise ValueError(f"weight must be [K, d] and bias [K], got {W.shape} and {bvec.shape}")
    templates = np.concatenate([W, bvec[:, None]], axis=1)[[a, b, c]]
    span = np.stack([templates[1] - templates[0], templates[2] - templates[0]], axis=1)
    Q, R = np.linalg.qr(span)
    if abs(R[1, 1]) < 1e-9 * max(1.0, abs(R[0, 0])) or abs(R[0, 0]) < 1e-12:
        raise ValueError(f"the templates of classes {(a, b, c)} are collinear: no plane through them")
    return Q, templates


def project_features(features, basis) -> np.ndarray:
    """Append a 1 to each feature vector ``[N, d]`` and project onto ``basis`` ``[d+1, 2]``: ``[N, 2]``."""
    H, Q = _np64(features), _np64(basis)
    if H.ndim != 2 or Q.ndim != 2 or H.shape[1] + 1 != Q.shape[0]:
        raise ValueError(f"features [N, d] need a basis [d+1, 2]; got {H.shape} and {Q.shape}")
    return np.concatenate([H, np.ones((H.shape[0], 1))], axis=1) @ Q


def penultimate_projection(model, images: torch.Tensor, labels: torch.Tensor,
                           classes: Sequence[int], max_per_class: int | None = None) -> dict:
    """The Müller et al. (2019) picture for ``model`` (with a linear ``head``).

    Keeps the examples of the three ``classes``, takes their penultimate activations,
    and projects them on the plane through the three templates. Returns
    ``{"points": [N, 2], "labels": [N], "templates": [3, 2], "classes": (a, b, c)}``.
    """
    cls = check_classes(classes)
    labels = torch.as_tensor(labels)
    keep = torch.zeros_like(labels, dtype=torch.bool)
    for c in cls:
        idx = torch.nonzero(labels == c).flatten()
        if max_per_class is not None:
            idx = idx[:max_per_class]
        keep[idx] = True
    feats = predict(model, images[keep], features=True)
    Q, templates = projection_basis(model.head.weight, model.head.bias, cls)
    return {"points": project_features(feats, Q), "labels": labels[keep].numpy(),
            "templates": templates @ Q, "classes": cls}


# ----------------------------------------------------------------------------- entropy

def equal_entropy_temperature(logits, target_bits: float, lo: float = 0.05, hi: float = 1000.0) -> float:
    """The temperature at which ``logits`` give soft targets of mean entropy ``target_bits``
    (bisection in log T; entropy grows with T)."""
    h_lo, h_hi = soft_target_entropy(logits, lo), soft_target_entropy(logits, hi)
    if not h_lo <= target_bits <= h_hi:
        raise ValueError(f"target entropy {target_bits:.3f} bits is outside [{h_lo:.3f}, {h_hi:.3f}]")
    a, b = math.log(lo), math.log(hi)
    for _ in range(60):
        m = 0.5 * (a + b)
        if soft_target_entropy(logits, math.exp(m)) < target_bits:
            a = m
        else:
            b = m
    return math.exp(0.5 * (a + b))


# ----------------------------------------------------------------------------- geometry

def cluster_geometry(features, labels, similar: Sequence[Sequence[int]] | None = None) -> dict:
    """How tight the class clusters are and how far apart similar classes sit.

    * ``tightness``: mean distance of an example to its class centroid divided by the
      mean distance between class centroids (smaller = tighter clusters: LS's
      "information erasure" makes it smaller);
    * ``similar_relative_distance`` (with ``similar``): mean over digits of the distance
      to its similar digit(s) divided by its mean distance to all other digits (larger =
      the "distance enlargement" of Shen et al. 2021).
    """
    X = _np64(features)
    y = np.asarray(labels, dtype=np.int64)
    C = metrics.class_centroids(X, y, N_CLASSES)
    within = float(np.mean(np.linalg.norm(X - C[y], axis=1)))
    D = np.linalg.norm(C[:, None] - C[None], axis=-1)
    between = float(D[~np.eye(N_CLASSES, dtype=bool)].mean())
    out = {"tightness": within / between, "within": within, "between": between}
    if similar is not None:
        rel = [D[a, list(similar[a])].mean() / (D[a].sum() / (N_CLASSES - 1)) for a in range(N_CLASSES)]
        out["similar_relative_distance"] = float(np.mean(rel))
    return out


def digit_sets(teacher_features, labels) -> tuple[list[list[int]], list[list[int]]]:
    """Similar / dissimilar digits for each digit from the hard-label teacher's class
    centroids (paper appendix G.2, method 2: closest 1 % / farthest 90 % of the other
    classes, i.e. 1 similar and 8 dissimilar digits for 10 classes)."""
    C = metrics.class_centroids(teacher_features, labels, N_CLASSES)
    sim, dis = metrics.similar_dissimilar_sets(C)
    return [s.tolist() for s in sim], [d.tolist() for d in dis]


def diffusion_rows(eps: float, features_by_T: dict, labels, similar, dissimilar) -> list[dict]:
    """Diffusion index rows ``{"eps", "T_from": 1, "T_to", "similar", "dissimilar"}`` (percent)
    from the students' penultimate features at T = 1 and each higher T."""
    if 1.0 not in features_by_T:
        raise ValueError("the diffusion index needs the student distilled at T = 1")
    y = np.asarray(labels)
    c1 = metrics.class_centroids(features_by_T[1.0], y, N_CLASSES)
    rows = []
    for T in sorted(features_by_T):
        if T == 1.0:
            continue
        cT = metrics.class_centroids(features_by_T[T], y, N_CLASSES)
        d = metrics.diffusion_index(c1, cT, similar, dissimilar)
        rows.append({"eps": float(eps), "T_from": 1.0, "T_to": float(T),
                     "similar": d["similar"], "dissimilar": d["dissimilar"],
                     "similar_per_class": d["per_class"]["similar"].tolist(),
                     "dissimilar_per_class": d["per_class"]["dissimilar"].tolist()})
    return rows


# ----------------------------------------------------------------------------- the mechanism

def wrong_class_profile(logits, labels, temperatures: Sequence[float]) -> dict:
    r"""A teacher's mean soft targets for each class, split into the own class and the wrong ones
    (Chandrasegaran et al. 2022, Section 4 and Supplementary E).

    For each class :math:`k` and temperature :math:`T`, the mean of
    :math:`\mathrm{softmax}(z / T)` over the examples labelled :math:`k`: its own entry ``own[t, k]``
    and its :math:`K - 1` wrong entries ``wrong[t, k, :]``, in the order of their mean at the
    *first* temperature, largest first (the same classes in every temperature's row: rank 1 is
    the class's runner-up at ``temperatures[0]``, its look-alike; the rest are the noise floor).
    Returns ``{"T": [...], "own": [nT, K], "wrong": [nT, K, K-1], "wrong_classes": [K, K-1]}``.
    """
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.int64)
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"logits must be [N, K] and labels [N], got {tuple(z.shape)} and {tuple(y.shape)}")
    K = z.shape[1]
    Ts = [float(T) for T in temperatures]
    if not Ts or min(Ts) <= 0:
        raise ValueError(f"temperatures must be a non-empty list of positive numbers, got {temperatures!r}")
    counts = torch.bincount(y, minlength=K)
    if len(counts) > K or (counts == 0).any():
        raise ValueError(f"every class 0..{K - 1} needs examples, and only those: counts {counts.tolist()}")
    onehot = torch.nn.functional.one_hot(y, K).to(torch.float64)
    # mean[t, k, j]: mean probability of class j over the examples of class k at temperature t
    mean = np.stack([((onehot.T @ torch.softmax(z / T, dim=1)) / counts[:, None]).numpy() for T in Ts])
    own = mean[:, np.arange(K), np.arange(K)]
    others = np.array([[j for j in range(K) if j != k] for k in range(K)])
    order = np.argsort(-mean[0][np.arange(K)[:, None], others], axis=1, kind="stable")
    wrong_classes = np.take_along_axis(others, order, axis=1)
    wrong = mean[:, np.arange(K)[:, None], wrong_classes]
    return {"T": Ts, "own": own, "wrong": wrong, "wrong_classes": wrong_classes}


def wrong_class_summary(profile: dict) -> list[dict]:
    """One row per temperature of a :func:`wrong_class_profile`: the medians over the classes of
    the own class's mean probability (``own``), the runner-up's (``runner_up``), the noise floor's
    (``floor``: the median of the other wrong classes), and of the per-class ratios
    ``runner_up / own`` and ``runner_up / floor``; from the second temperature on, ``gain_ratio``:
    the median over the classes of how much probability the runner-up gained since the first
    temperature over how much the floor gained (``None`` in the first row). A ``gain_ratio`` near 1
    means the temperature lifts every wrong class alike; well above 1, mostly the look-alike."""
    wrong = np.asarray(profile["wrong"], dtype=np.float64)
    own = np.asarray(profile["own"], dtype=np.float64)
    ru, floor = wrong[:, :, 0], np.median(wrong[:, :, 1:], axis=2)  # [nT, K]
    rows = []
    for t, T in enumerate(profile["T"]):
        gain = None if t == 0 else float(np.median((ru[t] - ru[0]) / (floor[t] - floor[0])))
        rows.append({"T": T, "own": float(np.median(own[t])), "runner_up": float(np.median(ru[t])),
                     "floor": float(np.median(floor[t])), "runner_up_over_own": float(np.median(ru[t] / own[t])),
                     "runner_up_over_floor": float(np.median(ru[t] / floor[t])), "gain_ratio": gain})
    return rows
