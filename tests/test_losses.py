"""Behaviour tests for subclass_lib.losses (hand-computed values, gradcheck,
T^2 scaling, invariances, validation)."""

import math

import pytest
import torch
import torch.nn.functional as F

from subclass_lib import losses as L

D64 = torch.float64


def t64(x):
    return torch.tensor(x, dtype=D64)


def lab(x):
    return torch.tensor(x, dtype=torch.long)


def _lse(xs):
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def _ce_hand(z, y):
    return -(z[y] - _lse(z))


# ---------------------------------------------------------------- hand values
def test_cross_entropy_hand():
    z = [1.0, 2.0, 0.0]
    expected = -(2.0 - math.log(math.e + math.e**2 + 1.0))
    assert L.cross_entropy(t64([z]), lab([1])).item() == pytest.approx(expected, abs=1e-12)


def test_soft_cross_entropy_hand():
    # teacher [1, 0], student [0, 1], T = 2
    T = 2.0
    e = math.exp(0.5)
    p = [e / (e + 1), 1 / (e + 1)]
    logq = [0.0 - math.log(1 + e), 0.5 - math.log(1 + e)]
    expected = T * T * -(p[0] * logq[0] + p[1] * logq[1])
    got = L.soft_cross_entropy(t64([[0.0, 1.0]]), t64([[1.0, 0.0]]), T)
    assert got.item() == pytest.approx(expected, abs=1e-12)


def test_soft_cross_entropy_equals_T2_kl_plus_teacher_entropy():
    torch.manual_seed(0)
    s, t = torch.randn(6, 5, dtype=D64), torch.randn(6, 5, dtype=D64) * 3
    for T in (1.0, 3.0, 7.5):
        p = F.softmax(t / T, 1)
        logp = F.log_softmax(t / T, 1)
        logq = F.log_softmax(s / T, 1)
        kl = (p * (logp - logq)).sum(1).mean()
        h = -(p * logp).sum(1).mean()
        assert L.soft_cross_entropy(s, t, T).item() == pytest.approx((T * T * (kl + h)).item(), rel=1e-10)


def test_soft_cross_entropy_detaches_teacher():
    s = torch.randn(3, 4, dtype=D64, requires_grad=True)
    t = torch.randn(3, 4, dtype=D64, requires_grad=True)
    L.soft_cross_entropy(s, t, 2.0).backward()
    assert s.grad is not None and t.grad is None


def test_T_squared_scaling_of_gradients():
    torch.manual_seed(1)
    s0, t = torch.randn(16, 10, dtype=D64), torch.randn(16, 10, dtype=D64)

    def grad_norm(T, scaled):
        s = s0.clone().requires_grad_(True)
        if scaled:
            loss = L.soft_cross_entropy(s, t, T)
        else:  # unscaled soft CE, written out independently
            loss = -(F.softmax(t / T, 1) * F.log_softmax(s / T, 1)).sum(1).mean()
        (g,) = torch.autograd.grad(loss, s)
        return g.norm().item()

    Ts = (5.0, 10.0, 20.0)
    raw = [grad_norm(T, False) for T in Ts]
    scl = [grad_norm(T, True) for T in Ts]
    for (T1, r1, s1), (T2, r2, s2) in zip(zip(Ts, raw, scl), zip(Ts[1:], raw[1:], scl[1:])):
        assert r2 / r1 == pytest.approx((T1 / T2) ** 2, rel=0.05)  # unscaled shrinks ~ 1/T^2
        assert s2 / s1 == pytest.approx(1.0, rel=0.05)  # scaled stays ~ constant
    assert raw[-1] / raw[0] < 0.1 and 0.9 < scl[-1] / scl[0] < 1.1


def test_distillation_loss_alpha_extremes_and_mix():
    torch.manual_seed(2)
    s, t = torch.randn(5, 4, dtype=D64), torch.randn(5, 4, dtype=D64)
    y = lab([0, 1, 2, 3, 0])
    ce = L.cross_entropy(s, y)
    sce = L.soft_cross_entropy(s, t, 4.0)
    assert L.distillation_loss(s, t, y, 4.0, 0.0).item() == pytest.approx(ce.item(), abs=1e-12)
    assert L.distillation_loss(s, t, y, 4.0, 1.0).item() == pytest.approx(sce.item(), abs=1e-12)
    assert L.distillation_loss(s, t, None, 4.0, 1.0).item() == pytest.approx(sce.item(), abs=1e-12)
    mix = L.distillation_loss(s, t, y, 4.0, 0.25).item()
    assert mix == pytest.approx(0.25 * sce.item() + 0.75 * ce.item(), abs=1e-12)
    with pytest.raises(ValueError, match="labels=None"):
        L.distillation_loss(s, t, None, 4.0, 0.5)


def test_subclass_distillation_loss_combines_eq3_and_grouped_ce():
    torch.manual_seed(3)
    s, t = torch.randn(6, 10, dtype=D64), torch.randn(6, 10, dtype=D64)
    y = lab([0, 1, 1, 0, 1, 0])
    soft = L.soft_cross_entropy(s, t, 3.0).item()
    hard = L.grouped_cross_entropy(s, y, 5).item()
    got = L.subclass_distillation_loss(s, t, y, 3.0, 0.5, 5).item()
    assert got == pytest.approx(0.5 * soft + 0.5 * hard, abs=1e-12)
    assert L.subclass_distillation_loss(s, t, y, 3.0, 0.0, 5).item() == pytest.approx(hard, abs=1e-12)
    assert L.subclass_distillation_loss(s, t, None, 3.0, 1.0, 5).item() == pytest.approx(soft, abs=1e-12)


def test_label_smoothing_hand_and_eps0():
    z, y, eps = [1.0, 2.0, 0.0], 0, 0.1
    K = 3
    lse = math.log(math.e + math.e**2 + 1.0)
    logp = [zk - lse for zk in z]
    targets = [(1 - eps) * (k == y) + eps / K for k in range(K)]
    expected = -sum(tk * lk for tk, lk in zip(targets, logp))
    assert L.label_smoothing_cross_entropy(t64([z]), lab([y]), eps).item() == pytest.approx(expected, abs=1e-12)
    torch.manual_seed(4)
    zz, yy = torch.randn(7, 5, dtype=D64), lab([0, 1, 2, 3, 4, 0, 1])
    assert L.label_smoothing_cross_entropy(zz, yy, 0.0).item() == pytest.approx(
        L.cross_entropy(zz, yy).item(), abs=1e-12
    )


def test_grouped_logits_and_cross_entropy_hand():
    z = [1.0, 2.0, 0.0, 3.0]  # class 0: (1, 2), class 1: (0, 3)
    g = L.grouped_logits(t64([z]), 2)
    assert g[0, 0].item() == pytest.approx(math.log(math.e + math.e**2), abs=1e-12)
    assert g[0, 1].item() == pytest.approx(math.log(1 + math.e**3), abs=1e-12)
    expected = -math.log((math.e + math.e**2) / (math.e + math.e**2 + 1 + math.e**3))
    assert L.grouped_cross_entropy(t64([z]), lab([0]), 2).item() == pytest.approx(expected, abs=1e-12)


def test_grouped_ce_invariant_to_redistribution_within_group():
    # class 0 sub-logits (1, 2) -> (a, b) with the same logsumexp
    a = 0.3
    b = math.log(math.e + math.e**2 - math.exp(a))
    y = lab([0, 1])
    before = L.grouped_cross_entropy(t64([[1.0, 2.0, 0.0, 3.0], [1.0, 2.0, 0.0, 3.0]]), y, 2)
    after = L.grouped_cross_entropy(t64([[a, b, 0.0, 3.0], [a, b, 0.0, 3.0]]), y, 2)
    assert after.item() == pytest.approx(before.item(), abs=1e-12)


def test_grouped_ce_nsub1_is_ce():
    torch.manual_seed(5)
    z, y = torch.randn(8, 4, dtype=D64), lab([0, 1, 2, 3, 3, 2, 1, 0])
    assert L.grouped_cross_entropy(z, y, 1).item() == pytest.approx(L.cross_entropy(z, y).item(), abs=1e-12)


# ---------------------------------------------------------------- contrastive
def _contrastive_loop(rows, T, eps=1e-8):
    n, D = len(rows), len(rows[0])
    vh = []
    for v in rows:
        mu = sum(v) / D
        var = sum((x - mu) ** 2 for x in v) / D
        den = math.sqrt((var + eps) * D)
        vh.append([(x - mu) / den for x in v])
    tot = 0.0
    for i in range(n):
        dots = [sum(a * b for a, b in zip(vh[i], vh[j])) / T for j in range(n)]
        tot += _lse(dots)
    return tot / n - 1.0 / T - math.log(n)


def test_contrastive_matches_loop():
    torch.manual_seed(6)
    z = torch.randn(5, 6, dtype=D64) * 2
    for T in (0.5, 1.0, 2.0):
        assert L.contrastive_aux_loss(z, T).item() == pytest.approx(_contrastive_loop(z.tolist(), T), abs=1e-10)


def test_contrastive_identical_vs_orthogonal():
    T = 2.0
    v = [0.5, -1.0, 2.0, 0.1]
    same = L.contrastive_aux_loss(t64([v, v, v]), T).item()
    assert same == pytest.approx(0.0, abs=1e-6)
    orth = t64([[1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])  # zero-mean, mutually orthogonal
    n = 3
    expected = math.log(math.exp(1 / T) + (n - 1)) - 1 / T - math.log(n)
    got = L.contrastive_aux_loss(orth, T).item()
    assert got == pytest.approx(expected, abs=1e-6)
    assert got < 0 < same + 1e-6 and got < same


def test_contrastive_needs_two_examples():
    with pytest.raises(ValueError, match="at least 2"):
        L.contrastive_aux_loss(torch.randn(1, 4), 1.0)


# ------------------------------------------------------- diversity/sharpness
def test_diversity_sharpness_hand():
    # class 0 (two examples): q1 = (1/2, 1/2), q2 = (3/4, 1/4); class 1 has one example -> ignored
    sh = 0.5
    z = t64([[0.0, 0.0, 5.0, -1.0], [math.log(3.0), 0.0, 1.0, 2.0], [0.0, 9.0, 0.0, 0.0]])
    y = lab([0, 0, 1])
    m = [5 / 8, 3 / 8]
    h_mean = -(m[0] * math.log(m[0]) + m[1] * math.log(m[1]))
    h1 = math.log(2.0)
    h2 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    expected = -h_mean + sh * (h1 + h2) / 2
    assert L.diversity_sharpness_aux_loss(z, y, 2, sh).item() == pytest.approx(expected, abs=1e-12)


def test_diversity_sharpness_bounds_random():
    torch.manual_seed(7)
    s = 5
    for trial in range(20):
        sh = [0.0, 0.5, 1.0, 2.0][trial % 4]
        z = torch.randn(32, 2 * s, dtype=D64) * (0.1 + trial)
        y = torch.randint(0, 2, (32,))
        v = L.diversity_sharpness_aux_loss(z, y, s, sh).item()
        assert -math.log(s) - 1e-9 <= v <= sh * math.log(s) + 1e-9


def test_diversity_sharpness_attains_lower_bound():
    s, c, reps = 5, 2, 3
    rows, labels = [], []
    for g in range(c):
        for r in range(reps):
            for k in range(s):  # each subclass used equally, each example committed
                row = [0.0] * (c * s)
                row[g * s + k] = 60.0
                rows.append(row)
                labels.append(g)
    v = L.diversity_sharpness_aux_loss(t64(rows), lab(labels), s, 0.5).item()
    assert v == pytest.approx(-math.log(s), abs=1e-6)


def test_diversity_sharpness_no_pairs_is_connected_zero():
    z = torch.randn(2, 4, dtype=D64, requires_grad=True)
    v = L.diversity_sharpness_aux_loss(z, lab([0, 1]), 2, 0.5)
    assert v.item() == 0.0 and v.grad_fn is not None
    v.backward()
    assert torch.all(z.grad == 0)


def test_diversity_sharpness_rejects_negative_sharpen():
    with pytest.raises(ValueError, match="sharpen"):
        L.diversity_sharpness_aux_loss(torch.randn(4, 4), lab([0, 0, 1, 1]), 2, -0.1)


@pytest.mark.parametrize("B,c,s,weight,sharpen", [(128, 2, 5, 1.0, 0.5), (7, 3, 4, 0.7, 0.0), (5, 2, 5, 1.0, 1.3),
                                                  (2, 2, 5, 1.0, 0.5), (1, 2, 5, 1.0, 0.5), (64, 2, 5, 0.0, 0.5)])
@pytest.mark.parametrize("scale", [1.0, 60.0])
def test_grouped_ce_with_diversity_is_the_sum_of_the_two_losses_with_its_gradient(B, c, s, weight, sharpen, scale):
    g = torch.Generator().manual_seed(B + c + s)
    z0 = scale * torch.randn(B, c * s, dtype=D64, generator=g)
    y = torch.randint(0, c, (B,), generator=g)
    z, zr = z0.clone().requires_grad_(), z0.clone().requires_grad_()
    ref = L.grouped_cross_entropy(zr, y, s) + weight * L.diversity_sharpness_aux_loss(zr, y, s, sharpen)
    ref.backward()
    out = L.grouped_cross_entropy_with_diversity(z, y, s, weight, sharpen)
    (2.0 * out).backward()  # the incoming gradient is applied
    assert out.item() == pytest.approx(ref.item(), abs=1e-12)
    assert torch.allclose(z.grad, 2.0 * zr.grad, atol=1e-14)


def test_grouped_ce_with_diversity_rejects_bad_arguments():
    z, y = torch.randn(4, 4), lab([0, 0, 1, 1])
    with pytest.raises(ValueError, match="sharpen"):
        L.grouped_cross_entropy_with_diversity(z, y, 2, 1.0, -0.1)
    with pytest.raises(ValueError, match="weight"):
        L.grouped_cross_entropy_with_diversity(z, y, 2, float("nan"), 0.5)
    with pytest.raises(ValueError, match="out of range"):
        L.grouped_cross_entropy_with_diversity(z, lab([0, 0, 1, 2]), 2, 1.0, 0.5)
    with pytest.raises(ValueError, match="multiple of n_sub"):
        L.grouped_cross_entropy_with_diversity(torch.randn(4, 5), y, 2, 1.0, 0.5)


# ------------------------------------------------------------- view consistency
def test_view_consistency_hand():
    # class 0: clean q = (3/4, 1/4), view q' = (1/2, 1/2); class 1: clean (1/2, 1/2), view (1/4, 3/4)
    clean = t64([[math.log(3.0), 0.0, 7.0, 1.0], [5.0, -2.0, 0.0, 0.0]])
    view = t64([[0.0, 0.0, -3.0, 4.0], [1.0, 1.0, 0.0, math.log(3.0)]])
    y = lab([0, 1])
    e0 = -(0.75 * math.log(0.5) + 0.25 * math.log(0.5))
    e1 = -(0.5 * math.log(0.25) + 0.5 * math.log(0.75))
    v = L.view_consistency_loss(clean, view, y, 2)
    assert v.item() == pytest.approx((e0 + e1) / 2, abs=1e-12)


def test_view_consistency_gradient_flows_through_the_view_only():
    torch.manual_seed(3)
    clean = torch.randn(6, 10, dtype=D64, requires_grad=True)
    view = torch.randn(6, 10, dtype=D64, requires_grad=True)
    y = torch.randint(0, 2, (6,))
    L.view_consistency_loss(clean, view, y, 5).backward()
    assert clean.grad is None or torch.all(clean.grad == 0)
    assert view.grad.abs().sum() > 0
    # the other class's block gets no gradient
    other = 1 - y
    blocks = view.grad.reshape(6, 2, 5)[torch.arange(6), other]
    assert torch.all(blocks == 0)


def test_view_consistency_minimum_is_the_clean_entropy():
    torch.manual_seed(4)
    z = torch.randn(8, 10, dtype=D64)
    y = torch.randint(0, 2, (8,))
    q = F.softmax(z.reshape(8, 2, 5)[torch.arange(8), y], dim=1)
    entropy = -(q * q.log()).sum(1).mean()
    assert L.view_consistency_loss(z, z, y, 5).item() == pytest.approx(entropy.item(), abs=1e-12)
    assert L.view_consistency_loss(z, z.flip(1), y, 5).item() > entropy.item()


def test_view_consistency_rejects_bad_shapes_and_labels():
    z = torch.randn(4, 10)
    with pytest.raises(ValueError, match="shape"):
        L.view_consistency_loss(z, torch.randn(4, 8), lab([0, 0, 1, 1]), 5)
    with pytest.raises(ValueError, match="out of range"):
        L.view_consistency_loss(z, z, lab([0, 0, 1, 2]), 5)
    with pytest.raises(ValueError, match="n_sub"):
        L.view_consistency_loss(z, z, lab([0, 0, 1, 1]), 3)


# ------------------------------------------------------------- intra-class
def test_intra_class_hand():
    # c = 2, s = 2, T = 1; teacher groups p = (1/4, 3/4), (1/2, 1/2); student q = (1/2, 1/2), (3/4, 1/4)
    teacher = t64([[0.0, math.log(3.0), 0.0, 0.0]])
    student = t64([[0.0, 0.0, math.log(3.0), 0.0]])
    expected = -(0.25 * math.log(0.5) + 0.75 * math.log(0.5)) - (0.5 * math.log(0.75) + 0.5 * math.log(0.25))
    assert L.intra_class_distillation_loss(student, teacher, 2, 1.0).item() == pytest.approx(expected, abs=1e-12)
    # T^2 scaling at T = 2 with logits doubled gives 4x the same value
    assert L.intra_class_distillation_loss(2 * student, 2 * teacher, 2, 2.0).item() == pytest.approx(
        4 * expected, abs=1e-12
    )


def test_intra_class_invariant_to_per_group_constant():
    torch.manual_seed(8)
    s, t = torch.randn(4, 6, dtype=D64), torch.randn(4, 6, dtype=D64)
    shift = torch.randn(4, 3, dtype=D64).repeat_interleave(2, dim=1) * 10  # per (example, group)
    base = L.intra_class_distillation_loss(s, t, 2, 3.0).item()
    assert L.intra_class_distillation_loss(s + shift, t, 2, 3.0).item() == pytest.approx(base, abs=1e-10)
    assert L.intra_class_distillation_loss(s, t - shift, 2, 3.0).item() == pytest.approx(base, abs=1e-10)


# ------------------------------------------------------------- penultimate
def test_penultimate_hand_and_linear():
    W = t64([[1.0, 1.0]])
    loss = L.penultimate_distillation_loss(t64([[1.0, 2.0], [0.0, 1.0]]), t64([[5.0], [1.0]]), lambda x: x @ W.T)
    assert loss.item() == pytest.approx((4.0 + 0.0) / 2, abs=1e-12)
    lin = torch.nn.Linear(3, 2)
    v = L.penultimate_distillation_loss(torch.randn(4, 3), torch.randn(4, 2), lin)
    v.backward()
    assert lin.weight.grad is not None
    with pytest.raises(ValueError, match="batch-size mismatch"):
        L.penultimate_distillation_loss(torch.randn(4, 3), torch.randn(5, 2), lin)
    with pytest.raises(ValueError, match="shape"):
        L.penultimate_distillation_loss(torch.randn(4, 3), torch.randn(4, 5), lin)


def test_soft_targets():
    p = L.soft_targets(t64([[0.0, math.log(3.0)]]), 1.0)
    assert p[0].tolist() == pytest.approx([0.25, 0.75], abs=1e-12)
    with pytest.raises(ValueError):
        L.soft_targets(t64([[0.0, 1.0]]), 0.0)


# ---------------------------------------------------------------- gradcheck
def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=D64, requires_grad=True)


GRADCHECK_CASES = {
    "cross_entropy": lambda: (lambda z: L.cross_entropy(z, lab([0, 2, 1])), (_rand(3, 3),)),
    "soft_cross_entropy": lambda: (lambda s: L.soft_cross_entropy(s, _rand(3, 4, seed=1).detach(), 2.5), (_rand(3, 4),)),
    "distillation_loss": lambda: (
        lambda s: L.distillation_loss(s, _rand(3, 4, seed=1).detach(), lab([0, 3, 1]), 2.0, 0.3),
        (_rand(3, 4),),
    ),
    "subclass_distillation_loss": lambda: (
        lambda s: L.subclass_distillation_loss(s, _rand(3, 6, seed=1).detach(), lab([0, 2, 1]), 2.0, 0.6, 2),
        (_rand(3, 6),),
    ),
    "label_smoothing": lambda: (lambda z: L.label_smoothing_cross_entropy(z, lab([0, 2, 1]), 0.1), (_rand(3, 3),)),
    "grouped_logits": lambda: (lambda z: L.grouped_logits(z, 3), (_rand(2, 6),)),
    "grouped_cross_entropy": lambda: (lambda z: L.grouped_cross_entropy(z, lab([0, 1]), 3), (_rand(2, 6),)),
    "contrastive": lambda: (lambda z: L.contrastive_aux_loss(z, 0.7), (_rand(4, 6),)),
    "diversity_sharpness": lambda: (
        lambda z: L.diversity_sharpness_aux_loss(z, lab([0, 0, 1, 1, 1, 2]), 3, 0.5),
        (_rand(6, 9),),
    ),
    "intra_class": lambda: (
        lambda s: L.intra_class_distillation_loss(s, _rand(3, 6, seed=1).detach(), 3, 1.5),
        (_rand(3, 6),),
    ),
    "penultimate": lambda: (
        lambda a, W: L.penultimate_distillation_loss(a, _rand(3, 2, seed=1).detach(), lambda x: x @ W.T),
        (_rand(3, 4), _rand(2, 4, seed=2)),
    ),
    "soft_targets": lambda: (lambda z: L.soft_targets(z, 2.0), (_rand(2, 3),)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK_CASES))
def test_gradcheck(name):
    fn, inputs = GRADCHECK_CASES[name]()
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


# ----------------------------------------------------------- large logits
def test_no_nan_for_large_logits():
    big = torch.zeros(4, 6)
    big[:, 0] = 1e4
    big[1, 3] = -1e4
    big[2, 5] = 1e4
    big.requires_grad_(True)
    y = lab([0, 1, 2, 0])
    yc = lab([0, 1, 2, 0])  # c = 3 classes of n_sub = 2
    t = -big.detach()
    outs = [
        L.cross_entropy(big, y),
        L.soft_cross_entropy(big, t, 2.0),
        L.distillation_loss(big, t, y, 4.0, 0.5),
        L.subclass_distillation_loss(big, t, yc, 4.0, 0.5, 2),
        L.label_smoothing_cross_entropy(big, y, 0.1),
        L.grouped_cross_entropy(big, yc, 2),
        L.contrastive_aux_loss(big, 1.0),
        L.diversity_sharpness_aux_loss(big, lab([0, 0, 1, 1]), 3, 0.5),
        L.intra_class_distillation_loss(big, t, 2, 2.0),
    ]
    for o in outs:
        assert torch.isfinite(o)
        (g,) = torch.autograd.grad(o, big)
        assert torch.all(torch.isfinite(g))


# ----------------------------------------------------------------- validation
Z = torch.randn(4, 6)
Y = lab([0, 1, 2, 0])
BAD_INPUTS = [
    ("T=0", lambda: L.soft_cross_entropy(Z, Z, 0)),
    ("T=-1", lambda: L.soft_cross_entropy(Z, Z, -1.0)),
    ("T=nan", lambda: L.distillation_loss(Z, Z, Y, float("nan"), 0.5)),
    ("T=inf", lambda: L.contrastive_aux_loss(Z, float("inf"))),
    ("T=0 intra", lambda: L.intra_class_distillation_loss(Z, Z, 2, 0.0)),
    ("alpha=2", lambda: L.distillation_loss(Z, Z, Y, 2.0, 2.0)),
    ("alpha=-0.1", lambda: L.subclass_distillation_loss(Z, Z, lab([0, 1, 2, 0]), 2.0, -0.1, 2)),
    ("eps=1", lambda: L.label_smoothing_cross_entropy(Z, Y, 1.0)),
    ("eps<0", lambda: L.label_smoothing_cross_entropy(Z, Y, -0.1)),
    ("n_sub=0", lambda: L.grouped_logits(Z, 0)),
    ("n_sub float", lambda: L.grouped_logits(Z, 2.0)),
    ("width not multiple", lambda: L.grouped_cross_entropy(Z, lab([0, 1, 0, 1]), 4)),
    ("width not multiple (div)", lambda: L.diversity_sharpness_aux_loss(Z, lab([0, 0, 1, 1]), 4, 0.5)),
    ("labels out of range", lambda: L.cross_entropy(Z, lab([0, 1, 6, 0]))),
    ("labels negative", lambda: L.cross_entropy(Z, lab([0, -1, 2, 0]))),
    ("class labels out of range", lambda: L.grouped_cross_entropy(Z, lab([0, 1, 3, 0]), 2)),
    ("labels float", lambda: L.cross_entropy(Z, torch.tensor([0.0, 1.0, 2.0, 0.0]))),
    ("labels 2-D", lambda: L.cross_entropy(Z, Y[:, None])),
    ("labels list", lambda: L.cross_entropy(Z, [0, 1, 2, 0])),
    ("batch mismatch labels", lambda: L.cross_entropy(Z, lab([0, 1, 2]))),
    ("batch mismatch teacher", lambda: L.soft_cross_entropy(Z, torch.randn(5, 6), 2.0)),
    ("width mismatch teacher", lambda: L.distillation_loss(Z, torch.randn(4, 5), Y, 2.0, 0.5)),
    ("logits 1-D", lambda: L.cross_entropy(torch.randn(6), lab([0]))),
    ("logits 3-D", lambda: L.soft_targets(torch.randn(2, 3, 4), 1.0)),
    ("logits int", lambda: L.contrastive_aux_loss(torch.ones(3, 4, dtype=torch.long), 1.0)),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_raise(case):
    with pytest.raises(ValueError):
        case[1]()
