"""Evaluation metrics: accuracy, subclass recovery, entropies, label bits and
the diffusion index of Chandrasegaran et al. (2022).

Functions accept torch tensors or NumPy arrays and return Python floats,
NumPy arrays or plain dicts.  Bad inputs raise ``ValueError``.
"""

from __future__ import annotations

import math
import numbers
from typing import Mapping, Sequence, Union

import numpy as np
from scipy.optimize import linear_sum_assignment

from .checks import check_temperature

__all__ = [
    "to_numpy",
    "accuracy",
    "contingency",
    "subclass_recovery",
    "match_permutation",
    "match_columns",
    "entropy_bits",
    "soft_target_entropy",
    "entropy_curve",
    "subclass_entropies",
    "effective_label_bits",
    "class_centroids",
    "similar_dissimilar_sets",
    "diffusion_index",
    "mean_std",
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def to_numpy(x, name: str = "array") -> np.ndarray:
    """``x`` (a torch tensor, detached and moved to the CPU, or anything array-like) as a NumPy array."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, no hard torch import
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - defensive
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc


def _int_1d(x, name: str) -> np.ndarray:
    a = to_numpy(x, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must have an integer dtype, got {a.dtype}")
    return a.astype(np.int64, copy=False)


def _check_count(n, name: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return int(n)


def _check_range(a: np.ndarray, n: int, name: str) -> None:
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"{name} out of range: expected values in [0, {n - 1}], got min {a.min()}, max {a.max()}")


def _check_prob(p, name: str, axis: int = -1, atol: float = 1e-4) -> np.ndarray:
    a = to_numpy(p, name).astype(np.float64, copy=False)
    if a.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and non-negative (probabilities)")
    if a.size and not np.allclose(a.sum(axis=axis), 1.0, atol=atol):
        raise ValueError(f"{name} must sum to 1 along axis {axis} (probabilities, not logits)")
    return a


def _xlog2x(p: np.ndarray) -> np.ndarray:
    """p * log2(p) with 0 log 0 = 0."""
    out = np.zeros_like(p, dtype=np.float64)
    m = p > 0
    out[m] = p[m] * np.log2(p[m])
    return out


# --------------------------------------------------------------------------
# accuracy / contingency / recovery
# --------------------------------------------------------------------------
def accuracy(logits_or_pred, labels) -> float:
    """Fraction of correct predictions.

    ``logits_or_pred``: [N, K] float scores (argmax over K is taken) or [N]
    integer predictions; ``labels``: [N] integers >= 0 (and < K for scores).
    Torch tensors or NumPy arrays.  N must be >= 1.
    """
    x = to_numpy(logits_or_pred, "logits_or_pred")
    y = _int_1d(labels, "labels")
    if x.ndim == 2:
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.dtype == bool:
            raise ValueError(f"logits must be numeric, got {x.dtype}")
        if x.shape[1] < 1:
            raise ValueError("logits must have at least one column")
        _check_range(y, x.shape[1], "labels")
        pred = x.argmax(axis=1)
    elif x.ndim == 1:
        pred = _int_1d(x, "predictions")
        if y.size and y.min() < 0:
            raise ValueError("labels must be >= 0")
    else:
        raise ValueError(f"logits_or_pred must be [N, K] scores or [N] predictions, got shape {x.shape}")
    if pred.shape[0] != y.shape[0]:
        raise ValueError(f"length mismatch: {pred.shape[0]} predictions vs {y.shape[0]} labels")
    if y.shape[0] == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(pred == y))


def contingency(pred, true, n_pred: int, n_true: int) -> np.ndarray:
    """Contingency table ``C[r, t]`` = number of examples with predicted
    cluster ``r`` and true label ``t``; shape [n_pred, n_true], int64.

    ``pred``, ``true``: 1-D integer arrays/tensors of equal length with values
    in ``[0, n_pred)`` and ``[0, n_true)``.  One ``np.bincount`` call.
    """
    n_pred = _check_count(n_pred, "n_pred")
    n_true = _check_count(n_true, "n_true")
    p = _int_1d(pred, "pred")
    t = _int_1d(true, "true")
    if p.shape[0] != t.shape[0]:
        raise ValueError(f"length mismatch: pred has {p.shape[0]} entries, true has {t.shape[0]}")
    _check_range(p, n_pred, "pred")
    _check_range(t, n_true, "true")
    flat = np.bincount(p * n_true + t, minlength=n_pred * n_true)
    return flat.reshape(n_pred, n_true).astype(np.int64, copy=False)


def _check_table(cont, name: str = "contingency") -> np.ndarray:
    c = to_numpy(cont, name)
    if c.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {c.shape}")
    if c.dtype == bool or not (np.issubdtype(c.dtype, np.integer) or np.issubdtype(c.dtype, np.floating)):
        raise ValueError(f"{name} must be numeric, got {c.dtype}")
    if c.size == 0:
        raise ValueError(f"{name} must be non-empty")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return c


def subclass_recovery(contingency: np.ndarray) -> dict:
    """How well predicted clusters (rows) recover true labels (columns).

    * ``any_mapping``: every row is mapped to its plurality column (several
      rows may share a column): ``sum_r max_t C[r, t] / total``.
    * ``one_to_one``: optimal one-to-one matching of rows to columns
      (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment`` maximising
      matched counts): ``sum over matched (r, t) of C[r, t] / total``.  Works
      for non-square tables; unmatched rows/columns count as wrong.
    * ``assignment``: list of the matched ``(row, col)`` pairs (Python ints).

    Always ``0 <= one_to_one <= any_mapping <= 1``.
    """
    c = _check_table(contingency)
    total = float(c.sum())
    if total <= 0:
        raise ValueError("contingency table has zero total count")
    any_mapping = float(c.max(axis=1).sum()) / total
    rows, cols = linear_sum_assignment(c, maximize=True)
    one_to_one = float(c[rows, cols].sum()) / total
    return {
        "any_mapping": any_mapping,
        "one_to_one": one_to_one,
        "assignment": [(int(r), int(k)) for r, k in zip(rows, cols)],
    }


def match_permutation(cont) -> np.ndarray:
    """Optimal permutation from a square [n, n] table ``cont[b, a]`` (rows: the
    ids to relabel, columns: the reference ids): returns ``perm`` (int64,
    length n) with ``perm[b] = a`` maximising ``sum_b cont[b, perm[b]]``.
    """
    c = _check_table(cont, "cont")
    if c.shape[0] != c.shape[1]:
        raise ValueError(f"cont must be square to define a permutation, got shape {c.shape}")
    rows, cols = linear_sum_assignment(c, maximize=True)
    perm = np.empty(c.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm


def match_columns(a_pred, b_pred, n: int) -> np.ndarray:
    """Relabel model B's cluster ids onto model A's (e.g. to align ensemble
    members' subclasses).

    ``a_pred``, ``b_pred``: 1-D integer cluster ids in ``[0, n)`` for the same
    examples.  Returns ``perm`` (int64 array of length n, a permutation) such
    that ``perm[b_pred]`` is B's labelling expressed in A's ids, chosen to
    maximise agreement ``mean(perm[b_pred] == a_pred)``.  Implemented as
    :func:`match_permutation` on ``contingency(b_pred, a_pred, n, n)``.
    If B is exactly a relabelled copy of A, ``perm[b_pred] == a_pred``.
    """
    n = _check_count(n, "n")
    return match_permutation(contingency(b_pred, a_pred, n, n))


# --------------------------------------------------------------------------
# entropies and label bits
# --------------------------------------------------------------------------
def entropy_bits(p, axis: int = -1):
    """Shannon entropy in bits of probability vectors along ``axis``
    (0 log 0 = 0).  ``p`` must be non-negative and sum to 1 along ``axis``
    (tolerance 1e-4).  Returns a float for 1-D input, else an array.
    """
    a = _check_prob(p, "p", axis=axis)
    h = -_xlog2x(a).sum(axis=axis)
    return float(h) if np.ndim(h) == 0 else h


def soft_target_entropy(logits, T: float) -> float:
    """Mean entropy in bits of ``softmax(logits / T)`` (the smoothness of the soft targets)."""
    import torch  # only here: the rest of this module takes arrays or tensors without torch

    T = check_temperature(T)
    z = torch.as_tensor(logits, dtype=torch.float64)
    p = torch.softmax(z / T, dim=1)
    return float(np.mean(entropy_bits(p.numpy(), axis=1)))


def entropy_curve(logits, temperatures: Sequence[float]) -> list[float]:
    """:func:`soft_target_entropy` at each temperature."""
    return [soft_target_entropy(logits, T) for T in temperatures]


def subclass_entropies(probs, class_labels=None, n_sub=None) -> dict:
    """Entropy diagnostics of a subclass head (cf. subclass paper §4.1, which
    reports 0.42 bits per example and 3.19 bits utilisation on CIFAR-2x5).

    ``probs``: [N, c·n_sub] full softmax over all subclass logits (rows sum to 1).

    * ``per_example_bits`` = mean_i H(P_i), entropy over all c·n_sub
      subclass probabilities of each example ("peakiness"; low is peaky).
    * ``utilisation_bits`` = H(mean_i P_i), entropy of the dataset-averaged
      subclass distribution (high = all subclasses used).
    * ``argmax_utilisation_bits`` = entropy of the histogram of
      ``argmax_k P_ik`` (the paper's literal "after making a hard decision"
      reading; maximum log2(c·n_sub), 3.32 bits for 10 subclasses).

    If ``class_labels`` ([N] ints in [0, c)) and ``n_sub`` are given, also:

    * ``within_class_per_example_bits`` = mean_i H(P_{i,y_i,:} / Σ_k P_{i,y_i,k}),
      entropy over the n_sub subclasses of the example's own class.
    * ``within_class_utilisation_bits`` = mean over classes present of the
      entropy of the mean within-class distribution of that class.
    """
    P = _check_prob(probs, "probs", axis=1)
    if P.ndim != 2 or P.shape[0] == 0:
        raise ValueError(f"probs must be 2-D [N, c*n_sub] with N >= 1, got shape {P.shape}")
    N, K = P.shape
    per_example = float((-_xlog2x(P).sum(axis=1)).mean())
    util = float(-_xlog2x(P.mean(axis=0)).sum())
    hist = np.bincount(P.argmax(axis=1), minlength=K) / N
    out = {
        "per_example_bits": per_example,
        "utilisation_bits": util,
        "argmax_utilisation_bits": float(-_xlog2x(hist).sum()),
    }
    if (class_labels is None) != (n_sub is None):
        raise ValueError("give both class_labels and n_sub, or neither")
    if class_labels is not None:
        s = _check_count(n_sub, "n_sub")
        if K % s:
            raise ValueError(f"probs width {K} is not a multiple of n_sub={s}")
        c = K // s
        y = _int_1d(class_labels, "class_labels")
        if y.shape[0] != N:
            raise ValueError(f"length mismatch: probs has {N} rows, class_labels has {y.shape[0]}")
        _check_range(y, c, "class_labels")
        own = P.reshape(N, c, s)[np.arange(N), y]  # [N, s]
        mass = own.sum(axis=1, keepdims=True)
        q = np.divide(own, mass, out=np.full_like(own, 1.0 / s), where=mass > 0)
        out["within_class_per_example_bits"] = float((-_xlog2x(q).sum(axis=1)).mean())
        onehot = np.eye(c)[y]  # [N, c]
        counts = onehot.sum(axis=0)
        present = counts > 0
        qbar = (onehot.T @ q)[present] / counts[present, None]
        out["within_class_utilisation_bits"] = float((-_xlog2x(qbar).sum(axis=1)).mean())
    return out


def effective_label_bits(P, q: int = 5):
    """Capacity of the q-ary symmetric channel (subclass paper §4.1):

        C(P) = log2 q + P log2 P + (1 − P) log2((1 − P) / (q − 1))

    bits per example when a fraction P of the q-ary labels is correct and
    errors are spread evenly over the q − 1 others (0 log 0 = 0).
    C(1) = log2 q, C(1/q) = 0.  ``P`` scalar or array in [0, 1]; q >= 2.
    """
    q = _check_count(q, "q", minimum=2)
    a = to_numpy(P, "P").astype(np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        raise ValueError(f"P must be in [0, 1], got {P!r}")
    wrong = 1.0 - a
    term_w = np.zeros_like(wrong)
    m = wrong > 0
    term_w[m] = wrong[m] * np.log2(wrong[m] / (q - 1))
    c = math.log2(q) + _xlog2x(a) + term_w
    return float(c) if np.ndim(c) == 0 else c


# --------------------------------------------------------------------------
# diffusion index (Chandrasegaran et al. 2022)
# --------------------------------------------------------------------------
def class_centroids(features, labels, n_classes: int) -> np.ndarray:
    """Mean feature vector of each class: [n_classes, d] float64.

    ``features``: [N, d]; ``labels``: [N] ints in [0, n_classes).  Every class
    must have at least one example.
    """
    n_classes = _check_count(n_classes, "n_classes")
    X = to_numpy(features, "features").astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"features must be 2-D [N, d], got shape {X.shape}")
    y = _int_1d(labels, "labels")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"length mismatch: features has {X.shape[0]} rows, labels has {y.shape[0]}")
    _check_range(y, n_classes, "labels")
    counts = np.bincount(y, minlength=n_classes)
    if np.any(counts == 0):
        raise ValueError(f"classes without examples: {np.flatnonzero(counts == 0).tolist()}")
    sums = np.zeros((n_classes, X.shape[1]))
    np.add.at(sums, y, X)
    return sums / counts[:, None]


def _pairwise(C: np.ndarray) -> np.ndarray:
    diff = C[:, None, :] - C[None, :, :]
    return np.sqrt((diff * diff).sum(-1))


def similar_dissimilar_sets(
    teacher_centroids,
    n_similar: int | None = None,
    n_dissimilar: int | None = None,
    frac_similar: float = 0.01,
    frac_dissimilar: float = 0.9,
):
    """Semantically similar / dissimilar classes from centroid distances
    (Chandrasegaran et al. 2022, Appendix G.2 "Method 2").

    For each target class α, rank the other C − 1 classes by the Euclidean
    distance between their centroid and α's centroid (in the teacher's
    penultimate space).  S_α = the ``n_similar`` closest, D_α = the
    ``n_dissimilar`` farthest.  Defaults follow the paper: closest 1% and
    farthest 90% of the other classes (10 and 900 of 999 on ImageNet), i.e.
    ``ceil(0.01·(C−1))`` and ``ceil(0.9·(C−1))``, at least 1 each and clipped
    so that S_α and D_α do not overlap (for C = 10: 1 similar, 8 dissimilar).

    Returns ``(similar, dissimilar)``: two lists of length C of int64 arrays
    (ordered nearest first / farthest first).  Needs C >= 3.
    """
    Cn = to_numpy(teacher_centroids, "teacher_centroids").astype(np.float64)
    if Cn.ndim != 2 or not np.all(np.isfinite(Cn)):
        raise ValueError(f"teacher_centroids must be a finite 2-D [C, d] array, got shape {Cn.shape}")
    C = Cn.shape[0]
    if C < 3:
        raise ValueError(f"need at least 3 classes to form disjoint similar/dissimilar sets, got {C}")
    others = C - 1
    for name, frac in (("frac_similar", frac_similar), ("frac_dissimilar", frac_dissimilar)):
        if not (0 < float(frac) <= 1):
            raise ValueError(f"{name} must be in (0, 1], got {frac}")
    ns = max(1, math.ceil(frac_similar * others)) if n_similar is None else _check_count(n_similar, "n_similar")
    if n_dissimilar is None:
        nd = min(max(1, math.ceil(frac_dissimilar * others)), others - ns)
    else:
        nd = _check_count(n_dissimilar, "n_dissimilar")
    if ns + nd > others or nd < 1:
        raise ValueError(f"n_similar + n_dissimilar must be <= C - 1 = {others} (disjoint sets), got {ns} + {nd}")
    dist = _pairwise(Cn)
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :others]  # nearest first, self excluded
    similar = [order[a, :ns].astype(np.int64) for a in range(C)]
    dissimilar = [order[a, others - nd:][::-1].astype(np.int64) for a in range(C)]
    return similar, dissimilar


SetSpec = Union[Mapping[int, Sequence[int]], Sequence[Sequence[int]]]


def _as_set_dict(spec, C: int, name: str) -> dict:
    if isinstance(spec, Mapping):
        items = spec.items()
    else:
        items = enumerate(spec)
    out = {}
    for a, members in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or not (0 <= a < C):
            raise ValueError(f"{name}: target class {a!r} out of range [0, {C - 1}]")
        m = np.asarray(members)
        if m.ndim != 1 or m.size == 0 or not np.issubdtype(m.dtype, np.integer):
            raise ValueError(f"{name}[{a}] must be a non-empty 1-D list of class ids")
        if m.min() < 0 or m.max() >= C:
            raise ValueError(f"{name}[{a}] has class ids out of range [0, {C - 1}]")
        if np.any(m == a):
            raise ValueError(f"{name}[{a}] contains the target class itself")
        if np.unique(m).size != m.size:
            raise ValueError(f"{name}[{a}] contains duplicates")
        out[int(a)] = m.astype(np.int64)
    return out


def diffusion_index(
    centroids_T1,
    centroids_T,
    targets_similar: SetSpec,
    targets_dissimilar: SetSpec,
    percent: bool = True,
) -> dict:
    r"""Diffusion index η of Chandrasegaran et al. (2022), "Revisiting Label
    Smoothing and Knowledge Distillation Compatibility: What was Missing?", §4.

    Inputs: class centroids of the *student's* penultimate representations
    after distillation at T = 1 (``centroids_T1``) and at the higher
    temperature T (``centroids_T``), both [C, d]; and, for each target class α,
    its semantically similar set S_α and dissimilar set D_α (given as a dict
    ``{α: ids}`` or a length-C list indexed by α; see
    :func:`similar_dissimilar_sets`).  Only the targets that appear in both
    specs are evaluated.

    Relative distance (normalised by the distances from α to all the classes
    under consideration, here S_α ∪ D_α):

    .. math::
        d^{T}_{\alpha,\beta} = \frac{\lVert c^T_\alpha - c^T_\beta\rVert_2}{Z^T_\alpha},\qquad
        Z^T_\alpha = \sum_{\gamma\in S_\alpha\cup D_\alpha}\lVert c^T_\alpha - c^T_\gamma\rVert_2

    Diffusion index (average percentage change of the relative distance from
    T = 1 to T, paper Eq. 1), for B ∈ {S, D}:

    .. math::
        \eta_{\alpha,B} = \frac{100}{|B_\alpha|}\sum_{\beta\in B_\alpha}
            \frac{d^{T}_{\alpha,\beta} - d^{1}_{\alpha,\beta}}{d^{1}_{\alpha,\beta}}

    Interpretation: η_S < 0 means the target class moved (relatively) closer
    to its semantically similar classes as T increased — *systematic
    diffusion*; η_D > 0 means it moved relatively away from dissimilar
    classes.  The paper reports η_S < 0 and η_D > 0 for all 10 ImageNet
    targets with an LS-trained teacher.  η is invariant to a global rescaling
    of either set of centroids.

    Reading chosen where the source text is ambiguous: the normalisation
    constant sums over S_α ∪ D_α (summing over B alone would make η_S ≡ 0 for
    a single similar class, contradicting the paper's 3-class example);
    results are in percent (``percent=False`` gives fractions).

    Returns ``{"similar": mean_α η_{α,S}, "dissimilar": mean_α η_{α,D},
    "per_class": {"targets": int array, "similar": array, "dissimilar": array}}``.
    """
    A = to_numpy(centroids_T1, "centroids_T1").astype(np.float64)
    Bc = to_numpy(centroids_T, "centroids_T").astype(np.float64)
    if A.ndim != 2 or Bc.ndim != 2:
        raise ValueError(f"centroids must be 2-D [C, d], got shapes {A.shape} and {Bc.shape}")
    if A.shape[0] != Bc.shape[0]:
        raise ValueError(f"class-count mismatch: {A.shape[0]} centroids at T=1, {Bc.shape[0]} at T")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(Bc))):
        raise ValueError("centroids must be finite")
    C = A.shape[0]
    S = _as_set_dict(targets_similar, C, "targets_similar")
    D = _as_set_dict(targets_dissimilar, C, "targets_dissimilar")
    targets = sorted(set(S) & set(D))
    if not targets:
        raise ValueError("no target class has both a similar and a dissimilar set")
    dA, dB = _pairwise(A), _pairwise(Bc)
    scale = 100.0 if percent else 1.0
    eta_s, eta_d = [], []
    for a in targets:  # loop over target classes only; distances are vectorised
        s, d = S[a], D[a]
        if np.intersect1d(s, d).size:
            raise ValueError(f"similar and dissimilar sets of class {a} overlap")
        u = np.concatenate([s, d])
        if np.any(dA[a, u] <= 0) or np.any(dB[a, u] <= 0):
            raise ValueError(f"centroid of class {a} coincides with a compared class centroid")
        r1 = dA[a, u] / dA[a, u].sum()
        rT = dB[a, u] / dB[a, u].sum()
        change = (rT - r1) / r1
        eta_s.append(scale * change[: s.size].mean())
        eta_d.append(scale * change[s.size:].mean())
    eta_s, eta_d = np.asarray(eta_s), np.asarray(eta_d)
    return {
        "similar": float(eta_s.mean()),
        "dissimilar": float(eta_d.mean()),
        "per_class": {"targets": np.asarray(targets, dtype=np.int64), "similar": eta_s, "dissimilar": eta_d},
    }


def mean_std(values, ddof: int) -> tuple[float, float]:
    """Mean and standard deviation of ``values`` with ``ddof`` delta degrees of freedom
    (0: population std; 1: sample std, 0.0 for a single value)."""
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=ddof)) if ddof == 0 or len(a) > ddof else 0.0
