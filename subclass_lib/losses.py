"""Loss functions for (subclass) knowledge distillation.

Every function here is a pure function of its tensor arguments: no module
state, no parameters of its own.  Each validates its inputs cheaply and raises
``ValueError`` with a message saying what was expected.

Notation (Mueller, Kornblith & Hinton 2020, "Subclass Distillation"):

* ``B`` (or ``n``): batch size; ``c``: number of classes; ``s = n_sub``:
  subclasses per class; logits of a subclass model have width ``c * s``.
* Layout is **class-major**: class ``j`` owns the columns
  ``j*s, j*s + 1, ..., j*s + s - 1``, so ``logits.view(B, c, s)[i, j, k]`` is
  the logit ``Z_{i,j,k}`` of subclass ``k`` of class ``j``.
* ``T``: temperature (> 0).  ``alpha``: task balance in ``[0, 1]``.

All reductions are means over the batch.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from .checks import _is_real_scalar, check_temperature

__all__ = [
    "cross_entropy",
    "soft_cross_entropy",
    "distillation_loss",
    "subclass_distillation_loss",
    "label_smoothing_cross_entropy",
    "grouped_logits",
    "grouped_cross_entropy",
    "contrastive_aux_loss",
    "diversity_sharpness_aux_loss",
    "grouped_cross_entropy_with_diversity",
    "view_consistency_loss",
    "intra_class_distillation_loss",
    "penultimate_distillation_loss",
    "soft_targets",
]

# Epsilon added to the variance before the square root in the contrastive loss.
_STD_EPS = 1e-8


# --------------------------------------------------------------------------
# validation helpers (cheap: shape/dtype checks are free; range checks do one
# reduction and one host sync)
# --------------------------------------------------------------------------
def _check_alpha(alpha) -> float:
    if not _is_real_scalar(alpha):
        raise ValueError(f"alpha must be a real number in [0, 1], got {alpha!r}")
    a = float(alpha)
    if not (0.0 <= a <= 1.0):  # also rejects NaN
        raise ValueError(f"alpha must be in [0, 1], got {a}")
    return a


def _check_nonnegative(x, name: str) -> float:
    if not _is_real_scalar(x):
        raise ValueError(f"{name} must be a real number >= 0, got {x!r}")
    v = float(x)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v}")
    return v


def _check_n_sub(n_sub) -> int:
    if isinstance(n_sub, bool) or not isinstance(n_sub, numbers.Integral):
        raise ValueError(f"n_sub must be an integer >= 1, got {n_sub!r}")
    if n_sub < 1:
        raise ValueError(f"n_sub must be an integer >= 1, got {n_sub}")
    return int(n_sub)


def _check_logits(x, name: str = "logits") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D [batch, width], got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(x.shape)}")
    return x


def _check_same_shape(a: torch.Tensor, b: torch.Tensor, na: str, nb: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"batch-size mismatch: {na} has {a.shape[0]} rows, {nb} has {b.shape[0]}"
        )
    if a.shape != b.shape:
        raise ValueError(
            f"{na} and {nb} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def _check_pair(student_logits, teacher_logits) -> None:
    """A student's and a teacher's logits: two non-empty 2-D float tensors of one shape."""
    _check_logits(student_logits, "student_logits")
    _check_logits(teacher_logits, "teacher_logits")
    _check_same_shape(student_logits, teacher_logits, "student_logits", "teacher_logits")


def _check_groups(logits: torch.Tensor, n_sub: int, name: str = "logits") -> int:
    width = logits.shape[1]
    if width % n_sub != 0:
        raise ValueError(
            f"{name} width {width} is not a multiple of n_sub={n_sub} "
            f"(expected c * n_sub columns, class-major)"
        )
    return width // n_sub


def _check_labels(labels, batch: int, n_classes: int, name: str = "labels") -> torch.Tensor:
    if not isinstance(labels, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of integer class ids, got {type(labels).__name__}")
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"{name} must have an integer dtype (e.g. torch.long), got {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D [batch], got shape {tuple(labels.shape)}")
    if labels.shape[0] != batch:
        raise ValueError(f"batch-size mismatch: {name} has {labels.shape[0]} entries, logits have {batch} rows")
    # one fused reduction, one host sync
    if bool(((labels < 0) | (labels >= n_classes)).any()):
        raise ValueError(
            f"{name} out of range: expected values in [0, {n_classes - 1}], "
            f"got min {int(labels.min())}, max {int(labels.max())}"
        )
    return labels


# --------------------------------------------------------------------------
# standard losses
# --------------------------------------------------------------------------
def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""Hard-label cross-entropy, mean over the batch.

    .. math:: L = -\frac{1}{B}\sum_i \log \mathrm{softmax}(z_i)_{y_i}

    Thin validated wrapper of :func:`torch.nn.functional.cross_entropy`.
    ``logits``: [B, K] float; ``labels``: [B] integer in ``[0, K)``.
    """
    _check_logits(logits)
    _check_labels(labels, logits.shape[0], logits.shape[1])
    return F.cross_entropy(logits, labels)


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T) -> torch.Tensor:
    r"""Temperature-softened cross-entropy with the T² scaling (Hinton et al. 2015;
    subclass paper Eq. 3 when the logits are the c·s subclass logits).

    .. math::
        L = T^2 \cdot \frac{1}{B}\sum_i \Big(-\sum_k p_{ik}\,\log \tilde p_{ik}\Big),\quad
        p_i = \mathrm{softmax}(t_i/T),\ \tilde p_i = \mathrm{softmax}(z_i/T)

    The T² factor keeps the gradient magnitude w.r.t. the student logits roughly
    independent of T (the raw gradient is (p̃ − p)/T, which itself shrinks
    like 1/T² for large T).  Teacher logits are detached (constants).
    Note ``L = T² · (KL(p || p̃) + H(p))``: it differs from the KL version
    by the teacher entropy, a constant for the student.
    """
    t = check_temperature(T)
    _check_pair(student_logits, teacher_logits)
    p = F.softmax(teacher_logits.detach() / t, dim=1)
    log_q = F.log_softmax(student_logits / t, dim=1)
    return (t * t) * -(p * log_q).sum(dim=1).mean()


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: Optional[torch.Tensor],
    T,
    alpha,
) -> torch.Tensor:
    r"""Classic distillation objective (Hinton et al. 2015; subclass paper Eq. 4 form).

    .. math:: L = \alpha\,\mathrm{soft\_cross\_entropy}(z, t, T) + (1-\alpha)\,\mathrm{CE}(z, y)

    The hard term is at T = 1.  ``labels`` may be ``None`` only when
    ``alpha == 1`` (pure soft distillation).  Terms whose weight is exactly 0
    are skipped (after validation), so ``alpha=0`` returns exactly the CE and
    ``alpha=1`` exactly the soft CE.
    """
    t = check_temperature(T)
    a = _check_alpha(alpha)
    _check_pair(student_logits, teacher_logits)
    if labels is None:
        if a != 1.0:
            raise ValueError(f"labels=None is only allowed when alpha == 1 (pure soft loss), got alpha={a}")
    else:
        _check_labels(labels, student_logits.shape[0], student_logits.shape[1])
    if a == 1.0:
        return soft_cross_entropy(student_logits, teacher_logits, t)
    hard = F.cross_entropy(student_logits, labels)
    if a == 0.0:
        return hard
    return a * soft_cross_entropy(student_logits, teacher_logits, t) + (1.0 - a) * hard


def subclass_distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    class_labels: Optional[torch.Tensor],
    T,
    alpha,
    n_sub,
) -> torch.Tensor:
    r"""Subclass distillation student loss (paper Eq. 3 + Eq. 4).

    .. math::
        L = \alpha\,\underbrace{T^2 \tfrac{1}{n}\sum_i\sum_{j,k} -P_{ijk}\log\tilde P_{ijk}}_{\text{Eq. 3, all } c\cdot s \text{ logits}}
          + (1-\alpha)\,\underbrace{\mathrm{grouped\_cross\_entropy}(z, y, s)}_{\text{Eq. 1 at } T=1}

    ``student_logits`` and ``teacher_logits``: [B, c·n_sub] (class-major);
    ``class_labels``: [B] in ``[0, c)``; may be ``None`` only when ``alpha == 1``.
    """
    t = check_temperature(T)
    a = _check_alpha(alpha)
    s = _check_n_sub(n_sub)
    _check_pair(student_logits, teacher_logits)
    c = _check_groups(student_logits, s, "student_logits")
    if class_labels is None:
        if a != 1.0:
            raise ValueError(f"class_labels=None is only allowed when alpha == 1, got alpha={a}")
    else:
        _check_labels(class_labels, student_logits.shape[0], c, "class_labels")
    if a == 1.0:
        return soft_cross_entropy(student_logits, teacher_logits, t)
    B = student_logits.shape[0]
    hard = F.cross_entropy(student_logits.view(B, c, s).logsumexp(dim=2), class_labels)
    if a == 0.0:
        return hard
    return a * soft_cross_entropy(student_logits, teacher_logits, t) + (1.0 - a) * hard


def label_smoothing_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, eps) -> torch.Tensor:
    r"""Cross-entropy against label-smoothed targets (Szegedy et al. 2016).

    .. math::
        y^{LS}_{ik} = (1-\epsilon)\,[k = y_i] + \epsilon/K, \qquad
        L = -\frac{1}{B}\sum_i\sum_k y^{LS}_{ik}\log\mathrm{softmax}(z_i)_k

    ``eps`` in ``[0, 1)``; ``eps = 0`` is plain cross-entropy.
    """
    if not _is_real_scalar(eps):
        raise ValueError(f"eps must be a real number in [0, 1), got {eps!r}")
    e = float(eps)
    if not (0.0 <= e < 1.0):
        raise ValueError(f"eps must be in [0, 1), got {e}")
    _check_logits(logits)
    _check_labels(labels, logits.shape[0], logits.shape[1])
    # PyTorch's label_smoothing uses exactly (1 - eps) * onehot + eps / K.
    return F.cross_entropy(logits, labels, label_smoothing=e)


# --------------------------------------------------------------------------
# subclass (grouped) losses
# --------------------------------------------------------------------------
def grouped_logits(logits: torch.Tensor, n_sub) -> torch.Tensor:
    r"""Class log-scores from subclass logits: [B, c·s] → [B, c].

    .. math:: g_{ij} = \log\sum_{k=1}^{s} e^{Z_{ijk}}

    (class-major layout: class j owns columns j·s … j·s+s−1).  Since
    softmax(g)_j = Σ_k P_{ijk}, the grouped scores give the class probabilities
    of paper Eq. 1–2 (at T = 1) via an ordinary softmax.
    """
    s = _check_n_sub(n_sub)
    _check_logits(logits)
    c = _check_groups(logits, s)
    return logits.reshape(logits.shape[0], c, s).logsumexp(dim=2)


def grouped_cross_entropy(logits: torch.Tensor, class_labels: torch.Tensor, n_sub) -> torch.Tensor:
    r"""Class-level cross-entropy of a subclass model (paper Eq. 1–2, T = 1).

    .. math:: L = -\frac{1}{n}\sum_i \log\sum_{k=1}^{s} P_{i,y_i,k},
              \qquad P_{i,j,k} = \frac{e^{Z_{ijk}}}{\sum_{l,m} e^{Z_{ilm}}}

    computed stably as ``cross_entropy(grouped_logits(logits, n_sub), class_labels)``.
    With ``n_sub = 1`` it is the ordinary cross-entropy.
    """
    g = grouped_logits(logits, n_sub)
    _check_labels(class_labels, g.shape[0], g.shape[1], "class_labels")
    return F.cross_entropy(g, class_labels)


def contrastive_aux_loss(logits: torch.Tensor, T) -> torch.Tensor:
    r"""The subclass paper's contrastive auxiliary loss (Eq. 6–7).

    Each example's full logit vector v_i (all c·s entries, width D) is
    standardised and scaled so that v̂_i·v̂_i = 1:

    .. math::
        \hat v_i = \frac{v_i - \mathrm{mean}(v_i)}{\sqrt{\mathrm{var}(v_i) + \varepsilon}\,\sqrt{D}}
        \quad(\text{population variance},\ \varepsilon = 10^{-8})

    .. math::
        L = \frac{1}{n}\sum_{i=1}^{n}\log\sum_{j=1}^{n} e^{\hat v_i\cdot\hat v_j/T}
            - \frac{1}{T} - \log n

    The −1/T − log n offsets make L = 0 when all vectors are identical (its
    maximum); it is minimised by mutually dissimilar vectors, e.g. for
    orthogonal v̂'s L = log(e^{1/T} + n − 1) − 1/T − log n < 0.
    Requires a batch of n ≥ 2.
    """
    t = check_temperature(T)
    _check_logits(logits)
    n, D = logits.shape
    if n < 2:
        raise ValueError(f"contrastive_aux_loss needs a batch of at least 2 examples, got {n}")
    mu = logits.mean(dim=1, keepdim=True)
    var = logits.var(dim=1, unbiased=False, keepdim=True)
    v = (logits - mu) / torch.sqrt((var + _STD_EPS) * D)
    sim = (v @ v.T) / t
    return sim.logsumexp(dim=1).mean() - 1.0 / t - math.log(n)


def diversity_sharpness_aux_loss(
    logits: torch.Tensor, class_labels: torch.Tensor, n_sub, sharpen
) -> torch.Tensor:
    r"""Bounded diversity-plus-sharpness auxiliary loss (the NumPy MNIST-2x5 demo).

    For each class g with at least two examples in the batch, let
    q_i = softmax(Z_{i,g,:}) over the n_sub logits of class g, for the
    examples i labelled g (natural logs):

    .. math::
        \mathrm{term}_g = -H\Big(\frac{1}{|I_g|}\sum_{i\in I_g} q_i\Big)
                          + \mathrm{sharpen}\cdot\frac{1}{|I_g|}\sum_{i\in I_g} H(q_i)

    and L = mean of term_g over those classes.  The first term rewards using
    all subclasses across the batch (diversity), the second rewards each
    example committing to one subclass (sharpness).  Bounds:
    L ∈ [−log s, sharpen·log s]; L = −log s exactly when, within each class,
    examples are one-hot and spread uniformly over the subclasses.
    If no class has ≥ 2 examples, returns a zero that is still connected to
    ``logits`` in the autograd graph.  ``sharpen`` ≥ 0.  Fully vectorised
    (one-hot masks and matmuls; no host sync).
    """
    s = _check_n_sub(n_sub)
    sh = _check_nonnegative(sharpen, "sharpen")
    _check_logits(logits)
    c = _check_groups(logits, s)
    B = logits.shape[0]
    _check_labels(class_labels, B, c, "class_labels")

    z = logits.reshape(B, c, s)[torch.arange(B, device=logits.device), class_labels]  # [B, s]
    log_q = F.log_softmax(z, dim=1)
    q = log_q.exp()
    h = -(q * log_q).sum(dim=1)  # [B] per-example entropy (finite even if q underflows)

    onehot = F.one_hot(class_labels, c).to(logits.dtype)  # [B, c]
    counts = onehot.sum(dim=0)  # [c]
    denom = counts.clamp_min(1.0)
    q_bar = (onehot.T @ q) / denom[:, None]  # [c, s]
    h_bar = (onehot.T @ h) / denom  # [c]
    tiny = torch.finfo(logits.dtype).tiny
    h_of_mean = -(q_bar * q_bar.clamp_min(tiny).log()).sum(dim=1)  # [c]
    term = -h_of_mean + sh * h_bar
    valid = (counts >= 2).to(logits.dtype)
    n_valid = valid.sum()
    # n_valid == 0 -> numerator is 0 and the result is 0 but stays in the graph.
    return (term * valid).sum() / n_valid.clamp_min(1.0) + logits.sum() * 0.0


class _GroupedCEDiversity(torch.autograd.Function):
    """Forward and hand-derived backward of :func:`grouped_cross_entropy_with_diversity`."""

    @staticmethod
    def forward(ctx, logits, class_labels, n_sub, weight, sharpen):
        B, width = logits.shape
        c = width // n_sub
        rows = torch.arange(B, device=logits.device)
        z = logits.detach()
        log_p = F.log_softmax(z, dim=1)  # [B, c*s]: log P_ijk over all c*s logits
        log_q = F.log_softmax(z.view(B, c, n_sub)[rows, class_labels], dim=1)  # [B, s], labelled class
        q = log_q.exp()
        loss = -log_p.view(B, c, n_sub)[rows, class_labels].logsumexp(dim=1).mean()
        # d(grouped CE)/dZ_ijk = (P_ijk - [j = y_i] q_ik) / B
        grad = log_p.exp()
        grad.view(B, c, n_sub)[rows, class_labels] -= q
        grad /= B
        if weight > 0:
            h = -(q * log_q).sum(dim=1)  # [B] per-example entropy
            onehot = F.one_hot(class_labels, c).to(z.dtype)  # [B, c]
            counts = onehot.sum(dim=0)
            denom = counts.clamp_min(1.0)
            q_bar = (onehot.T @ q) / denom[:, None]  # [c, s]
            log_q_bar = q_bar.clamp_min(torch.finfo(z.dtype).tiny).log()
            valid = (counts >= 2).to(z.dtype)
            n_valid = valid.sum().clamp_min(1.0)
            term = (q_bar * log_q_bar).sum(dim=1) + sharpen * (onehot.T @ h) / denom
            loss = loss + weight * (term * valid).sum() / n_valid
            # example i of class g = y_i, weighted valid_g / (n_valid * n_g):
            #   d(-H(q_bar_g))/dz_i = q_i * (a - <q_i, a>), a = log q_bar_g + 1
            #   d(H(q_i))/dz_i = -q_i * (log q_i + h_i)
            a = (log_q_bar + 1.0)[class_labels]
            g_aux = q * (a - (q * a).sum(dim=1, keepdim=True)) - sharpen * q * (log_q + h[:, None])
            w = weight * (valid / (n_valid * denom))[class_labels]
            grad.view(B, c, n_sub)[rows, class_labels] += w[:, None] * g_aux
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad * grad_out, None, None, None, None


def grouped_cross_entropy_with_diversity(
    logits: torch.Tensor, class_labels: torch.Tensor, n_sub, weight, sharpen
) -> torch.Tensor:
    r"""``grouped_cross_entropy(logits, class_labels, n_sub)
    + weight * diversity_sharpness_aux_loss(logits, class_labels, n_sub, sharpen)`` in one pass.

    The same loss (tested, with its gradient), for the demo teacher's training step: its gradient is
    written out instead of recorded op by op, a third fewer small tensor operations, which is what
    a 784-256-10 MLP's step mostly waits on. ``weight`` >= 0. No second derivative.
    """
    s = _check_n_sub(n_sub)
    w, sh = _check_nonnegative(weight, "weight"), _check_nonnegative(sharpen, "sharpen")
    _check_logits(logits)
    c = _check_groups(logits, s)
    _check_labels(class_labels, logits.shape[0], c, "class_labels")
    return _GroupedCEDiversity.apply(logits, class_labels, s, w, sh)


def view_consistency_loss(
    logits: torch.Tensor, view_logits: torch.Tensor, class_labels: torch.Tensor, n_sub
) -> torch.Tensor:
    r"""Subclass consistency between an image and a perturbed view of it.

    Inside the labelled class g of example i, let q_i = softmax(Z_{i,g,:}) (the clean
    image, **detached**: it is the target) and q'_i = softmax(Z'_{i,g,:}) (the view):

    .. math:: L = \frac{1}{B}\sum_i -\sum_k q_{ik}\log q'_{ik}

    The gradient flows through the view only, so the clean image's subclass is the target
    the perturbed copy must hit: a small shift or pixel noise must not change the
    subclass. This is the consistency idea of semi-supervised and clustering methods
    (e.g. IIC, IMSAT), used here to steer the invented subclasses away from splits by
    stroke style or position, which a shifted or noisy copy does not keep, towards
    splits by shape. Its minimum, the mean entropy of q, is 0 for one-hot q.
    ``logits`` and ``view_logits``: [B, c * n_sub]; ``class_labels``: [B].
    """
    s = _check_n_sub(n_sub)
    _check_logits(logits)
    _check_logits(view_logits, "view_logits")
    _check_same_shape(logits, view_logits, "logits", "view_logits")
    c = _check_groups(logits, s)
    B = logits.shape[0]
    _check_labels(class_labels, B, c, "class_labels")
    rows = torch.arange(B, device=logits.device)
    q = F.softmax(logits.detach().reshape(B, c, s)[rows, class_labels], dim=1)
    log_q_view = F.log_softmax(view_logits.reshape(B, c, s)[rows, class_labels], dim=1)
    return -(q * log_q_view).sum(dim=1).mean()


def intra_class_distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, n_sub, T
) -> torch.Tensor:
    r"""Intra-class ("no binary label") subclass distillation (paper §4.4, MNIST).

    A separate softmax is applied inside each class group of n_sub logits, for
    teacher and student alike, which keeps the relative subclass probabilities
    within a class and erases the relative class probabilities:

    .. math::
        p_{igk} = \mathrm{softmax}_k(t_{ig\cdot}/T),\quad
        \tilde p_{igk} = \mathrm{softmax}_k(z_{ig\cdot}/T),\qquad
        L = T^2\,\frac{1}{B}\sum_i \sum_{g=1}^{c}\Big(-\sum_{k=1}^{s} p_{igk}\log\tilde p_{igk}\Big)

    i.e. one cross-entropy over s subclasses per class, **summed** over the c
    groups (the paper trains "with two cross-entropy losses over 5 subclasses,
    one per class"), then averaged over the batch.  The student never sees the
    class label.  Invariant to adding any per-(example, group) constant to
    either set of logits.  Teacher logits are detached.
    """
    t = check_temperature(T)
    s = _check_n_sub(n_sub)
    _check_pair(student_logits, teacher_logits)
    c = _check_groups(student_logits, s, "student_logits")
    B = student_logits.shape[0]
    p = F.softmax(teacher_logits.detach().reshape(B, c, s) / t, dim=2)
    log_q = F.log_softmax(student_logits.reshape(B, c, s) / t, dim=2)
    return (t * t) * -(p * log_q).sum(dim=(1, 2)).mean()


def penultimate_distillation_loss(
    student_features: torch.Tensor,
    teacher_features: torch.Tensor,
    projection: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    r"""Penultimate-layer distillation (paper Eq. 5).

    .. math:: L = \frac{1}{n}\sum_i \lVert a_i - W\tilde a_i\rVert^2

    ``student_features`` ã: [B, d_s]; ``teacher_features`` a: [B, d_t]
    (detached); ``projection``: an ``nn.Linear(d_s, d_t)`` or any callable
    mapping [B, d_s] → [B, d_t] (W, learned during distillation).
    Squared Euclidean norm summed over features, mean over the batch.
    """
    _check_logits(student_features, "student_features")
    _check_logits(teacher_features, "teacher_features")
    if student_features.shape[0] != teacher_features.shape[0]:
        raise ValueError(
            f"batch-size mismatch: student_features has {student_features.shape[0]} rows, "
            f"teacher_features has {teacher_features.shape[0]}"
        )
    if not callable(projection):
        raise ValueError("projection must be an nn.Module or callable mapping student dim -> teacher dim")
    proj = projection(student_features)
    if not isinstance(proj, torch.Tensor) or proj.shape != teacher_features.shape:
        got = tuple(proj.shape) if isinstance(proj, torch.Tensor) else type(proj).__name__
        raise ValueError(
            f"projection(student_features) must have the teacher_features shape "
            f"{tuple(teacher_features.shape)}, got {got}"
        )
    return (teacher_features.detach() - proj).pow(2).sum(dim=1).mean()


def soft_targets(teacher_logits: torch.Tensor, T) -> torch.Tensor:
    r"""Softened teacher distribution ``softmax(teacher_logits / T)`` along dim 1.

    ``teacher_logits``: [B, K].  Useful for plots and entropy measurements.
    """
    t = check_temperature(T)
    _check_logits(teacher_logits, "teacher_logits")
    return F.softmax(teacher_logits / t, dim=1)
