"""Behaviour tests for chapter 3 (label smoothing and temperature): recipes, CLI, plots, panel."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from subclass_lib import checks, losses, metrics, runner
from subclass_lib.__main__ import main
from subclass_lib.experiments import ls_kd as L
from subclass_lib.experiments import ls_kd_geometry as G

TINY = dict(teacher_hidden=(32,), teacher_epochs=1, teacher_fraction=0.02, student_hidden=(16,),
            student_epochs=1, transfer_fraction=0.02, feature_examples=1000, temperatures=(1, 4))
TINY_FLAGS = ["--teacher-epochs", "1", "--student-epochs", "1", "--teacher-fraction", "0.01",
              "--student-fraction", "0.01", "--feature-examples", "1000", "--temperatures", "1,4"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    runner.clear_memory_cache()
    yield
    runner.clear_memory_cache()


# ------------------------------------------------------------------ label smoothing loss
def test_label_smoothing_against_hand_values():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, -1.0]])
    y = torch.tensor([0, 2])
    eps = 0.3
    logp = F.log_softmax(logits, dim=1)
    # targets: (1 - eps) on the label + eps / K everywhere
    t = torch.full((2, 3), eps / 3)
    t[0, 0] += 1 - eps
    t[1, 2] += 1 - eps
    hand = -(t * logp).sum(1).mean()
    # and fully by hand for the first row: log-softmax of (2, 0, 0)
    z = math.log(math.exp(2) + 2)
    row0 = -((1 - eps + eps / 3) * (2 - z) + 2 * (eps / 3) * (0 - z))
    assert float(-(t[0] * logp[0]).sum()) == pytest.approx(row0, rel=1e-6)
    assert float(losses.label_smoothing_cross_entropy(logits, y, eps)) == pytest.approx(float(hand), rel=1e-6)


def test_label_smoothing_eps0_is_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 10, generator=g)
    y = torch.randint(0, 10, (7,), generator=g)
    assert float(losses.label_smoothing_cross_entropy(logits, y, 0.0)) == pytest.approx(
        float(F.cross_entropy(logits, y)), rel=1e-7)


def test_label_smoothing_minimum_is_at_the_smoothed_targets():
    # with eps > 0 the best logits have a finite gap: log((1 - eps + eps/K) / (eps/K))
    eps, K = 0.1, 10
    gap = math.log((1 - eps + eps / K) / (eps / K))
    best = torch.zeros(1, K)
    best[0, 3] = gap
    y = torch.tensor([3])
    base = float(losses.label_smoothing_cross_entropy(best, y, eps))
    for delta in (-0.5, 0.5):
        other = best.clone()
        other[0, 3] += delta
        assert float(losses.label_smoothing_cross_entropy(other, y, eps)) > base


@pytest.mark.parametrize("eps", [1.0, -0.1, 1.5, float("nan")])
def test_bad_eps(eps):
    with pytest.raises(ValueError):
        checks.check_eps(eps)
    with pytest.raises(ValueError):
        losses.label_smoothing_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), eps)


# ------------------------------------------------------------------ projection
def _random_head(K=10, d=6, seed=0):
    g = np.random.default_rng(seed)
    return g.normal(size=(K, d)), g.normal(size=K)


def test_projection_basis_is_orthonormal_and_templates_distinct():
    W, b = _random_head()
    Q, templates = G.projection_basis(W, b, (4, 9, 0))
    assert Q.shape == (7, 2) and templates.shape == (3, 7)
    np.testing.assert_allclose(Q.T @ Q, np.eye(2), atol=1e-12)
    # templates are weight rows with the bias appended
    np.testing.assert_allclose(templates[1], np.r_[W[9], b[9]])
    pts = templates @ Q
    dists = [np.linalg.norm(pts[i] - pts[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert min(dists) > 1e-6
    # the plane goes through the templates: pairwise distances are preserved exactly
    for (i, j), d in zip(((0, 1), (0, 2), (1, 2)), dists):
        assert d == pytest.approx(np.linalg.norm(templates[i] - templates[j]), rel=1e-10)


def test_project_features_appends_one():
    W, b = _random_head()
    Q, templates = G.projection_basis(W, b, (1, 2, 3))
    # a feature vector h with [h, 1] equal to a template projects to that template's point
    h = templates[0][:-1] / templates[0][-1]
    scale = templates[0][-1]
    np.testing.assert_allclose(G.project_features(h[None], Q)[0] * scale, templates[0] @ Q, atol=1e-10)
    with pytest.raises(ValueError):
        G.project_features(np.zeros((3, 5)), Q)  # d + 1 != 7


def test_projection_bad_classes():
    W, b = _random_head()
    for bad in [(1, 2), (1, 1, 2), (1, 2, 10), (0, 1, 2, 3), "ab"]:
        with pytest.raises(ValueError):
            G.projection_basis(W, b, bad)
    W2 = W.copy()
    W2[2] = 2 * W2[1] - W2[0]  # collinear templates (bias too)
    b2 = b.copy()
    b2[2] = 2 * b2[1] - b2[0]
    with pytest.raises(ValueError, match="collinear"):
        G.projection_basis(W2, b2, (0, 1, 2))


# ------------------------------------------------------------------ diffusion index, entropy
def test_diffusion_index_on_known_centroids():
    # 3 classes on a line: target 0, similar 1, dissimilar 2
    c1 = np.array([[0.0, 0.0], [1.0, 0.0], [4.0, 0.0]])
    cT = np.array([[0.0, 0.0], [0.5, 0.0], [4.0, 0.0]])  # class 1 diffused towards 0
    d = metrics.diffusion_index(c1, cT, {0: [1]}, {0: [2]})
    # relative distances: T=1: 1/5, 4/5; T: 0.5/4.5, 4/4.5
    eta_s = 100 * ((0.5 / 4.5) - 0.2) / 0.2
    eta_d = 100 * ((4 / 4.5) - 0.8) / 0.8
    assert d["similar"] == pytest.approx(eta_s)
    assert d["dissimilar"] == pytest.approx(eta_d)
    assert d["similar"] < 0 < d["dissimilar"]


def test_diffusion_rows_and_digit_sets():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(10, 5)) * 5
    y = np.repeat(np.arange(10), 20)
    f1 = centers[y] + rng.normal(size=(200, 5))
    f2 = f1 * 3.0  # a global rescaling: no relative change
    sim, dis = G.digit_sets(f1, y)
    assert all(len(s) == 1 and len(d) == 8 and a not in s + d for a, (s, d) in enumerate(zip(sim, dis)))
    rows = G.diffusion_rows(0.1, {1.0: f1, 4.0: f2}, y, sim, dis)
    assert len(rows) == 1 and rows[0]["T_to"] == 4.0 and rows[0]["T_from"] == 1.0
    assert rows[0]["similar"] == pytest.approx(0.0, abs=1e-9)
    assert rows[0]["dissimilar"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        G.diffusion_rows(0.1, {4.0: f2}, y, sim, dis)


def test_entropy_helpers():
    logits = torch.tensor([[5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert metrics.soft_target_entropy(logits[1:], 1.0) == pytest.approx(2.0)
    h = metrics.entropy_curve(logits[:1], [0.5, 1, 4, 64])
    assert all(a < b for a, b in zip(h, h[1:]))
    T = G.equal_entropy_temperature(logits[:1], 1.0)
    assert metrics.soft_target_entropy(logits[:1], T) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError):
        metrics.soft_target_entropy(logits, 0.0)
    with pytest.raises(ValueError):
        G.equal_entropy_temperature(logits[:1], 3.0)  # above log2(4)


def test_wrong_class_profile_by_hand():
    # three classes; class 0's examples put their second logit on class 2, class 1's on class 0,
    # class 2's on class 1 (runner-ups 2, 0, 1)
    z = torch.tensor([[4.0, 0.0, 2.0], [4.0, 0.0, 2.0],
                      [2.0, 4.0, 0.0],
                      [0.0, 2.0, 4.0], [0.0, 2.0, 4.0], [0.0, 2.0, 4.0]])
    y = torch.tensor([0, 0, 1, 2, 2, 2])
    prof = G.wrong_class_profile(z, y, [1.0, 2.0])
    assert prof["T"] == [1.0, 2.0]
    assert prof["wrong_classes"].tolist() == [[2, 1], [0, 2], [1, 0]]
    for t, T in enumerate((1.0, 2.0)):
        p = F.softmax(torch.tensor([4.0, 0.0, 2.0], dtype=torch.float64) / T, dim=0).numpy()
        # every example is the same rotation of one logit vector: own = p[0], runner-up p[2], floor p[1]
        assert np.allclose(prof["own"][t], p[0])
        assert np.allclose(prof["wrong"][t][:, 0], p[2]) and np.allclose(prof["wrong"][t][:, 1], p[1])
    rows = G.wrong_class_summary(prof)
    p1 = F.softmax(torch.tensor([4.0, 0.0, 2.0], dtype=torch.float64), dim=0).numpy()
    p2 = F.softmax(torch.tensor([2.0, 0.0, 1.0], dtype=torch.float64), dim=0).numpy()
    assert rows[0]["runner_up_over_floor"] == pytest.approx(math.exp(2.0))
    assert rows[1]["runner_up_over_own"] == pytest.approx(math.exp(-1.0))
    assert rows[0]["gain_ratio"] is None
    assert rows[1]["gain_ratio"] == pytest.approx((p2[2] - p1[2]) / (p2[1] - p1[1]))
    with pytest.raises(ValueError):
        G.wrong_class_profile(z, y[:-1], [1.0])
    with pytest.raises(ValueError):
        G.wrong_class_profile(z, torch.tensor([0, 0, 0, 2, 2, 2]), [1.0])  # class 1 has no examples
    with pytest.raises(ValueError):
        G.wrong_class_profile(z, y, [0.0])


def test_cluster_geometry_tightness():
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(10, 4)) * 10
    y = np.repeat(np.arange(10), 30)
    noise = rng.normal(size=(300, 4))
    loose = G.cluster_geometry(centers[y] + 2 * noise, y)
    tight = G.cluster_geometry(centers[y] + 0.5 * noise, y)
    assert tight["tightness"] < loose["tightness"]


# ------------------------------------------------------------------ config validation
@pytest.mark.parametrize("kw", [dict(eps=1.0), dict(eps=0.0), dict(temperatures=(0, 1)), dict(temperatures=(2, 4)),
                                dict(classes=(1, 2)), dict(classes=(3, 3, 4)), dict(transfer_fraction=0.0),
                                dict(teacher_epochs=0), dict(alpha=1.5), dict(seed=-1)])
def test_config_validation(kw):
    with pytest.raises(ValueError):
        L.LSKDConfig(**kw)


def test_parse_temperatures():
    assert checks.parse_temperatures("4, 1,64") == (1.0, 4.0, 64.0)
    for bad in ["", "1,x", "1,1", "0,1", "2,4", "1,-3"]:
        with pytest.raises(ValueError):
            checks.parse_temperatures(bad)


def test_for_scale():
    assert L.LSKDConfig.for_scale("default") == L.LSKDConfig()
    full = L.LSKDConfig.for_scale("full")
    assert full.teacher_hidden == (1200, 1200) and full.transfer_fraction == 1.0
    assert full.interactive() == full
    with pytest.raises(ValueError):
        L.LSKDConfig.for_scale("ci")


# ------------------------------------------------------------------ tiny end-to-end runs
def test_run_tiny_is_deterministic_and_in_range():
    cfg = L.LSKDConfig(**TINY)
    r1 = L.run_ls_kd(cfg, verbose=False).to_json()
    runner.clear_memory_cache()
    r2 = L.run_ls_kd(cfg, use_cache=False, verbose=False).to_json()
    assert r1 == r2
    assert set(r1) == {"teachers", "students", "diffusion_index", "config"}
    assert [t["eps"] for t in r1["teachers"]] == [0.0, 0.1]
    assert len(r1["students"]) == 4
    for row in r1["teachers"] + r1["students"]:
        assert 0.0 <= row["test_accuracy"] <= 1.0
    # beats chance even at this tiny scale
    assert min(t["test_accuracy"] for t in r1["teachers"]) > 0.3
    assert [(d["eps"], d["T_from"], d["T_to"]) for d in r1["diffusion_index"]] == [(0.0, 1.0, 4.0), (0.1, 1.0, 4.0)]
    for d in r1["diffusion_index"]:
        assert set(d) == {"eps", "T_from", "T_to", "similar", "dissimilar"}
        assert math.isfinite(d["similar"]) and math.isfinite(d["dissimilar"])


def test_specs_describe_the_cached_models_and_train_them():
    cfg = L.LSKDConfig(**TINY)
    spec = L.student_spec(cfg, 0.1, 4)
    assert (spec.T, spec.student_seed, spec.seed, spec.fraction) == (4.0, 1, 0, cfg.transfer_fraction)
    assert spec.needs() == (L.teacher_spec(cfg, 0.1),) and spec.teacher.eps == 0.1
    assert L.student_spec(cfg, 0.1, 4, student_seed=2) != spec
    assert not runner.is_cached(spec) and not runner.is_cached(spec.teacher)
    runner.train_many([spec, L.student_spec(cfg, 0.1, 4.0)], workers=1)  # one spec: trained here, teacher first
    assert runner.is_cached(spec) and runner.is_cached(spec.teacher)
    runner.clear_memory_cache()
    trained = L.train_student(cfg, 0.1, 4.0, verbose=False).model  # loads the spec's model
    fresh = L.train_student(cfg, 0.1, 4.0, verbose=False, use_cache=False).model
    assert all(torch.equal(p, q) for p, q in zip(trained.parameters(), fresh.parameters()))
    for bad in (dict(eps=1.0, T=4), dict(eps=0.1, T=0), dict(eps=0.1, T=4, student_seed=-1)):
        with pytest.raises(ValueError):
            L.student_spec(cfg, **bad)


def test_students_start_from_identical_weights():
    cfg = L.LSKDConfig(**TINY)
    a, b = L.make_student(cfg), L.make_student(cfg)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_penultimate_projection_of_a_model():
    cfg = L.LSKDConfig(**TINY)
    teacher = L.train_teacher(cfg, 0.1, verbose=False).model
    from subclass_lib.data import load_mnist
    test = load_mnist("test")
    p = G.penultimate_projection(teacher, test.images[:500], test.labels[:500], (4, 9, 0), max_per_class=20)
    assert p["points"].shape == (60, 2) and set(p["labels"].tolist()) == {0, 4, 9}
    assert p["templates"].shape == (3, 2)


def test_cli_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["ls-kd", "--eps", "0.2", *TINY_FLAGS, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Diffusion index" in text and "Students" in text
    data = json.loads(out.read_text())
    assert set(data) == {"teachers", "students", "diffusion_index", "config"}
    assert {t["eps"] for t in data["teachers"]} == {0.0, 0.2}
    assert {(s["eps"], s["T"]) for s in data["students"]} == {(0.0, 1.0), (0.0, 4.0), (0.2, 1.0), (0.2, 4.0)}
    assert all(0 <= s["test_accuracy"] <= 1 for s in data["students"])
    assert data["config"]["eps"] == 0.2 and data["config"]["temperatures"] == [1.0, 4.0]
    assert data["config"]["student_fraction"] == 0.01 and "transfer_fraction" not in data["config"]  # documented key


@pytest.mark.parametrize("flags,msg", [(["--eps", "1"], "eps"), (["--temperatures", "0,1"], "T"),
                                       (["--temperatures", "2,4"], "T = 1"), (["--eps", "0"], "eps"),
                                       (["--student-fraction", "0"], "transfer_fraction"),
                                       (["--scale", "huge"], "scale")])
def test_cli_bad_flags(flags, msg, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ls-kd", *flags])
    assert exc.value.code == 2
    assert msg in capsys.readouterr().err


# ------------------------------------------------------------------ plots and panel
def test_plots_return_figures():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from subclass_lib import plots
    W, b = _random_head(d=4)
    Q, _ = G.projection_basis(W, b, (4, 9, 0))
    proj = {"points": np.random.default_rng(0).normal(size=(6, 2)), "labels": np.array([4, 4, 9, 9, 0, 0]),
            "templates": np.zeros((3, 2)), "classes": (4, 9, 0)}
    figs = [plots.projection_scatter(proj),
            plots.projection_grid([[proj, None], [proj, proj]], [["a", ""], ["b", "c"]], row_labels=["r1", "r2"]),
            plots.entropy_vs_temperature([{"eps": 0.0, "T": [1, 2], "bits": [0.1, 0.5]},
                                          {"eps": 0.1, "T": [1, 2], "bits": [0.7, 1.5]}]),
            plots.accuracy_vs_temperature([{"eps": 0.0, "T": 1.0, "test_accuracy": 0.9},
                                           {"eps": 0.0, "T": 4.0, "test_accuracy": 0.91}],
                                          reference={"R": {"T": [1, 2], "eps=0": [0.7, 0.71], "eps=0.1": [0.72, 0.69]}}),
            plots.diffusion_bars([{"eps": 0.1, "T_to": 4.0, "similar": -1.0, "dissimilar": 0.5}]),
            plots.wrong_class_profiles({eps: G.wrong_class_profile(torch.randn(40, 10), torch.arange(40) % 10,
                                                                   [1.0, 64.0]) for eps in (0.0, 0.1)})]
    # a row of six projections wraps onto two lines of three, each line with the row's label
    from subclass_lib.plots.common import COLUMN_INCHES
    wide = plots.projection_grid([[proj] * 6, [proj] * 5], [list("abcdef"), list("ghijk")], row_labels=["r1", "r2"])
    shown = [ax for ax in wide.axes if ax.axison]
    assert len(wide.axes) == 12 and len(shown) == 11 and wide.get_size_inches()[0] <= COLUMN_INCHES + 1e-9
    assert [ax.get_title() for ax in shown] == list("abcdefghijk")
    assert [ax.get_ylabel() for ax in shown if ax.get_ylabel()] == ["r1", "r1", "r2", "r2"]
    figs.append(wide)
    legend = [t.get_text() for t in figs[-2].legends[0].get_texts()]
    assert legend[-2:] == ["median", "uniform: 1/10"] and len(legend) == 12  # ten digits, median, uniform
    for f in figs:
        assert isinstance(f, plt.Figure)
        plt.close(f)


def test_panel_builds_and_rejects_bad_values():
    from subclass_lib.widgets import ls_kd_panel
    cfg = L.LSKDConfig(**TINY)
    panel = ls_kd_panel(cfg, run_now=False)
    assert panel.children
    with pytest.raises(ValueError):
        ls_kd_panel(cfg, T=5.0, run_now=False)
    with pytest.raises(ValueError):
        L.run_interactive(eps=0.1, T=4.0, classes=(1, 1, 2), cfg=cfg)


def test_student_seeds_give_a_mean_and_a_spread():
    cfg = L.LSKDConfig(**{**TINY, "temperatures": (1,)}, student_seeds=2)
    assert cfg.student_seed_list() == [1, 2] and cfg.interactive().student_seeds == 1
    res = L.run_ls_kd(cfg, verbose=False)
    for row in res.students:
        accs = row["seed_test_accuracy"]
        assert len(accs) == 2 and row["test_accuracy"] == accs[0]
        assert row["mean_test_accuracy"] == pytest.approx(np.mean(accs))
        assert row["std_test_accuracy"] == pytest.approx(np.std(accs, ddof=1))
        assert res.student_mean(row["eps"], row["T"]) == row["mean_test_accuracy"]
        assert res.student_std(row["eps"], row["T"]) == row["std_test_accuracy"]
    a = L.train_student(cfg, 0.0, 1.0, verbose=False).model
    b = L.train_student(cfg, 0.0, 1.0, student_seed=1, verbose=False).model
    c = L.train_student(cfg, 0.0, 1.0, student_seed=2, verbose=False).model
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))  # seed + 1 is the default
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    with pytest.raises(ValueError, match="student_seeds"):
        L.LSKDConfig(student_seeds=0)
    with pytest.raises(ValueError, match="student_seed"):
        L.train_student(cfg, 0.0, 1.0, student_seed=-3, verbose=False)


def test_a_new_setting_previews_its_teacher_while_the_student_trains(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from subclass_lib import runner
    from subclass_lib.plots import ls_kd_figure

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path))
    runner.clear_memory_cache()
    cfg = L.LSKDConfig(**TINY)
    seen = []
    final = L.run_interactive(eps=0.1, T=4.0, classes=(1, 2, 3), cfg=cfg, preview=seen.append)
    assert len(seen) == 1 and seen[0]["student_projection"] is None and seen[0]["student_accuracy"] is None
    assert seen[0]["teacher_accuracy"] == final["teacher_accuracy"] and final["student_projection"] is not None
    fig = ls_kd_figure(seen[0])
    assert "still training" in fig.axes[1].texts[0].get_text()
    plt.close(fig)
    again = []  # cached now: no preview, the same result
    assert L.run_interactive(eps=0.1, T=4.0, classes=(1, 2, 3), cfg=cfg, preview=again.append)[
        "student_accuracy"] == final["student_accuracy"] and again == []
