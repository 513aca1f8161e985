"""Behaviour tests for chapters 1-2 (subclass_lib.experiments.hinton, hinton_sweeps, mythical3): bias adjustment,
soft-target helpers, configs and the `hinton` / `mythical3` command line at a tiny size."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from subclass_lib.__main__ import main
from subclass_lib.experiments import hinton as H
from subclass_lib.experiments import hinton_sweeps as S
from subclass_lib.experiments import mythical3 as M
from subclass_lib.models import predict
from subclass_lib.metrics import entropy_curve
from subclass_lib.models import MLP, predict

# A tiny run: small nets, one teacher epoch without jitter, 600 transfer images.
TINY = ["--teacher-hidden", "16", "--student-hidden", "12", "--epochs-teacher", "1",
        "--epochs-student", "3", "--train-subset", "600", "--jitter", "0", "--device", "cpu"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # one cache folder for the whole module (the tiny teacher is trained once), never the user's
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path_factory.getbasetemp() / "hinton-cache"))


def tiny_cfg(cls=H.HintonConfig, **kw):
    base = dict(teacher_hidden=(16, 16), student_hidden=(12, 12), teacher_epochs=1, student_epochs=3,
                transfer_size=600, jitter=0, device="cpu")
    base.update(kw)
    return cls(**base)


# ----------------------------------------------------------------------------- bias helpers

def random_logits(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 10, generator=g, dtype=torch.float64) * 3


def test_adjust_bias_on_logits_shifts_only_those_columns():
    z = random_logits()
    out = M.adjust_bias(z, 3, 2.5)
    assert torch.equal(out[:, 3], z[:, 3] + 2.5)
    others = [d for d in range(10) if d != 3]
    assert torch.equal(out[:, others], z[:, others])
    assert not torch.equal(out, z)  # a new tensor; the input is untouched
    both = M.adjust_bias(z, "78", -1.0)
    assert torch.equal(both[:, [7, 8]], z[:, [7, 8]] - 1.0)


def test_adjust_bias_on_model_is_a_copy_and_matches_logits():
    torch.manual_seed(0)
    model = MLP((8,))
    x = torch.rand(50, 784)
    before = predict(model, x)
    adjusted = M.adjust_bias(model, (3,), 3.5)
    assert torch.allclose(predict(adjusted, x), M.adjust_bias(before, 3, 3.5), atol=1e-6)
    assert torch.equal(predict(model, x), before)  # the original model is unchanged


def test_raising_omitted_equals_lowering_the_rest():
    z = random_logits()
    keep = (7, 8)
    rest = tuple(d for d in range(10) if d not in keep)
    p1 = torch.softmax(M.adjust_bias(z, rest, 7.6), dim=1)
    p2 = torch.softmax(M.adjust_bias(z, keep, -7.6), dim=1)
    assert torch.allclose(p1, p2, atol=1e-12)


@pytest.mark.parametrize("target", [0.02, 0.1022, 0.5, 0.9])
def test_auto_bias_shift_matches_the_target_frequency(target):
    z = random_logits()
    z[:, 3] -= 6.0  # a student that almost never says 3
    s = M.auto_bias_shift(z, 3, target)
    p = torch.softmax(M.adjust_bias(z, 3, s), dim=1)[:, 3].mean().item()
    assert p == pytest.approx(target, abs=1e-5)


def test_auto_bias_shift_is_monotone_and_zero_at_the_current_mean():
    z = random_logits()
    z[:, 3] -= 6.0
    shifts = [M.auto_bias_shift(z, 3, t) for t in (0.05, 0.1, 0.2, 0.4)]
    assert all(a < b for a, b in zip(shifts, shifts[1:]))
    current = torch.softmax(z, dim=1)[:, 3].mean().item()
    assert M.auto_bias_shift(z, 3, current) == pytest.approx(0.0, abs=1e-4)
    assert shifts[1] > 3  # raising a suppressed digit needs a large positive shift


def test_auto_bias_shift_several_digits_uses_their_total_probability():
    z = random_logits()
    digits = (0, 1, 2, 3, 4, 5, 6, 9)
    s = M.auto_bias_shift(z, digits, 0.8)
    p = torch.softmax(M.adjust_bias(z, digits, s), dim=1)[:, list(digits)].sum(1).mean().item()
    assert p == pytest.approx(0.8, abs=1e-5)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_auto_bias_shift_rejects_impossible_targets(target):
    with pytest.raises(ValueError, match="target_frequency"):
        M.auto_bias_shift(random_logits(), 3, target)


def test_auto_bias_shift_validation():
    z = random_logits()
    with pytest.raises(ValueError, match="all ten"):
        M.auto_bias_shift(z, range(10), 0.5)
    with pytest.raises(ValueError, match="at least one digit"):
        M.auto_bias_shift(z, (), 0.5)
    with pytest.raises(ValueError, match="shape"):
        M.auto_bias_shift(z[:, :5], 3, 0.5)
    z[:, 3] -= 100.0
    with pytest.raises(ValueError, match="not reached"):
        M.auto_bias_shift(z, 3, 0.5, bracket=(-1.0, 1.0))
    with pytest.raises(ValueError, match="finite"):
        M.adjust_bias(z, 3, float("inf"))


def test_bias_sweep_raises_accuracy_on_the_shifted_digit():
    z = random_logits(1000)
    labels = z.argmax(1)
    z[:, 3] -= 8.0  # now 3s are missed
    r = M.bias_sweep(z, labels, 3, [0.0, 4.0, 8.0])
    assert r["accuracy_on_omitted"][0] < 0.2 < r["accuracy_on_omitted"][2]
    assert r["accuracy_on_omitted"][2] == pytest.approx(1.0)
    assert r["test_accuracy"][2] == pytest.approx(1.0)
    assert len(r["shift"]) == len(r["test_accuracy"]) == 3


def test_parse_digits():
    assert H.parse_digits("3") == (3,)
    assert H.parse_digits("0,1, 2") == (0, 1, 2)
    assert H.parse_digits((8, 7, 7)) == (7, 8)
    assert H.parse_digits(5) == (5,)
    for bad in ("a", "12x", (10,), (-1,), (True,)):
        with pytest.raises(ValueError, match="digits"):
            H.parse_digits(bad)


# ----------------------------------------------------------------------------- chapter 1 helpers

def test_soft_gradient_shrinks_as_one_over_T_squared_and_T2_restores_it():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(64, 10, generator=g), torch.randn(64, 10, generator=g) * 4
    r = H.soft_gradient_norms(s, t, [5.0, 10.0, 20.0, 40.0])
    raw, scaled = r["raw"], r["scaled"]
    for a, b in zip(raw, raw[1:]):  # doubling T divides the raw gradient by about 4
        assert a / b == pytest.approx(4.0, rel=0.1)
    assert max(scaled) / min(scaled) < 1.2


def test_mean_entropy_rises_with_temperature():
    z = random_logits()
    h = entropy_curve(z, [0.5, 1, 4, 20, 1000])
    assert all(a < b for a, b in zip(h, h[1:]))
    assert h[-1] == pytest.approx(math.log2(10), abs=1e-3)
    assert torch.allclose(H.soft_targets(z, 2.0).sum(1), torch.ones(len(z), dtype=z.dtype))


def test_evaluate_and_per_class():
    labels = torch.arange(10).repeat(5)
    logits = torch.nn.functional.one_hot(labels, 10).float()
    logits[labels == 3] = torch.nn.functional.one_hot(torch.tensor(5), 10).float()
    r = H.evaluate(logits, labels, omit=3)
    assert r["test_errors"] == 5 and r["accuracy_on_omitted"] == 0.0 and r["errors_on_omitted"] == 5
    pc = H.per_class_accuracy(logits, labels)
    assert pc[3] == 0.0 and pc[5] == 1.0 and len(pc) == 10


# ----------------------------------------------------------------------------- configs

def test_configs_validate_at_the_edge():
    for kw, msg in [(dict(temperature=-1.0), "temperature"), (dict(temperature=0.0), "temperature"),
                    (dict(alpha=2.0), "alpha"), (dict(alpha=-0.1), "alpha"), (dict(transfer_size=0), "transfer_size"),
                    (dict(student_epochs=0), "student_epochs"), (dict(scale="huge"), "scale"),
                    (dict(seed=-1), "seed"), (dict(teacher_dropout=1.0), "teacher_dropout")]:
        with pytest.raises(ValueError, match=msg):
            H.HintonConfig(**kw)
    with pytest.raises(ValueError, match="all ten"):
        M.Mythical3Config(omit=tuple(range(10)))
    with pytest.raises(ValueError, match="at least one"):
        M.Mythical3Config(omit=())
    assert M.Mythical3Config(omit="78").omit == (7, 8)


def test_scales_and_the_shared_teacher():
    d, f = H.HintonConfig.for_scale("default"), H.HintonConfig.for_scale("full")
    assert d == H.HintonConfig()
    assert (f.teacher_hidden, f.student_hidden, f.transfer_size) == ((1200, 1200), (800, 800), None)
    # hidden sizes are tuples of layer sizes; a bare width (once "2 x width" here) is refused, not reread
    with pytest.raises(ValueError, match=r"tuple of layer sizes such as \(800, 800\)"):
        H.HintonConfig(student_hidden=800)
    assert f.teacher_epochs > d.teacher_epochs
    assert H.HintonConfig.for_scale("default", temperature=8.0).temperature == 8.0
    # chapter 2 reuses chapter 1's teacher: same teacher settings, whatever T, alpha or omit
    m = M.Mythical3Config(omit=(7,), temperature=20.0, alpha=0.9)
    assert H.teacher_spec(m) == H.teacher_spec(H.HintonConfig())


def test_transfer_set_omits_digits_and_is_seeded():
    cfg = tiny_cfg()
    x, y = H.transfer_set(cfg, omit=(3,))
    assert 3 not in set(y.tolist()) and len(y) < 600 and x.shape[1] == 784
    x2, y2 = H.transfer_set(cfg, omit=(3,))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    _, y78 = H.transfer_set(cfg, omit=(0, 1, 2, 3, 4, 5, 6, 9))
    assert set(y78.tolist()) == {7, 8}
    assert 0.10 < M.training_frequency(3) < 0.11


def test_students_start_from_identical_weights():
    a, b = H.make_student((12, 12), seed=5), H.make_student((12, 12), seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_specs_describe_the_cached_students():
    cfg = tiny_cfg()
    hard, dist = H.student_spec(cfg, "hard"), H.student_spec(cfg, "distilled", T=8)
    assert hard.cost() == 24 and hard.needs() == () and dist.needs() == (H.teacher_spec(cfg),)
    assert hard == H.student_spec(replace(cfg, temperature=8.0), "hard")  # T does not change it
    assert dist == H.student_spec(replace(cfg, temperature=8.0), "distilled") != hard
    assert (hard.T, hard.alpha, hard.teacher) == (None, None, None)
    assert H.student_spec(cfg, "hard", hidden=(30, 30)).cost() == 60
    m = tiny_cfg(M.Mythical3Config, omit=(3,))
    assert M.mythical3_specs(m) == [H.student_spec(m, k, omit=(3,)) for k in ("distilled", "hard")]
    with pytest.raises(ValueError, match="kind"):
        H.student_spec(cfg, "soft")
    with pytest.raises(ValueError, match="T must be"):
        H.student_spec(cfg, "distilled", T=0)


# ----------------------------------------------------------------------------- recipes and CLI

def test_same_seed_same_numbers():
    cfg = tiny_cfg()
    teacher = H.train_teacher(cfg, verbose=False).model  # the tiny teacher, shared with the CLI tests
    for kind in ("hard", "distilled"):
        a = H.train_student(cfg, teacher, kind, use_cache=False, verbose=False).model
        b = H.train_student(cfg, teacher, kind, use_cache=False, verbose=False).model
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    r1, r2 = H.run_hinton(cfg, verbose=False), H.run_hinton(cfg, verbose=False)
    for k in ("teacher", "small", "distilled"):
        assert r1[k]["test_accuracy"] == r2[k]["test_accuracy"]
    # a different seed gives a different student
    c = H.train_student(tiny_cfg(seed=1), teacher, "hard", use_cache=False, verbose=False).model
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_hinton_cli_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "h.json"
    assert main(["hinton", *TINY, "--temperature", "3", "--alpha", "0.7", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert {"teacher", "small", "distilled", "config", "timing_s"} <= set(r)
    for k in ("teacher", "small", "distilled"):
        assert 0.0 <= r[k]["test_accuracy"] <= 1.0
    assert r["teacher"]["test_accuracy"] > 0.5  # even the tiny teacher beats chance by far
    assert r["config"]["temperature"] == 3.0 and r["config"]["alpha"] == 0.7
    # the documented JSON keys, whatever the library's field names (train_subset is transfer_size)
    assert r["config"]["train_subset"] == 600 and r["config"]["scale"] == "default"
    assert r["config"]["epochs_teacher"] == 1 and r["config"]["epochs_student"] == 3 and "teacher_epochs" not in r["config"]
    assert "distilled" in capsys.readouterr().out


def test_mythical3_cli_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["mythical3", *TINY, "--omit", "3", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    for k in ("hard_labels", "distilled"):
        assert {"test_accuracy", "accuracy_on_omitted"} <= set(r[k])
    adj = r["distilled_bias_adjusted"]
    assert {"test_accuracy", "accuracy_on_omitted", "bias_shift"} <= set(adj)
    assert math.isfinite(adj["bias_shift"]) and adj["bias_shift_choice"] == "auto"
    for k in ("hard_labels", "distilled", "distilled_bias_adjusted"):
        assert 0.0 <= r[k]["test_accuracy"] <= 1.0 and 0.0 <= r[k]["accuracy_on_omitted"] <= 1.0
    assert r["hard_labels"]["accuracy_on_omitted"] == 0.0  # never saw a 3 with a label
    assert r["config"]["omit"] == [3]
    assert "bias shift" in capsys.readouterr().out
    # a given shift is used as is
    out2 = tmp_path / "m2.json"
    assert main(["mythical3", *TINY, "--omit", "3", "--bias-shift", "3.5", "--json", str(out2)]) == 0
    assert json.loads(out2.read_text())["distilled_bias_adjusted"]["bias_shift"] == 3.5
    # chapter 2's students take as many steps as chapter 1's: more epochs without the 3s, unless told not to
    assert r["config"]["match_steps"] is True
    runs = {}
    for flags in ([], ["--no-match-steps", "--teacher-lr-schedule", "constant"]):
        out3 = tmp_path / "m3.json"
        assert main(["mythical3", *TINY, "--omit", "0,1,2,3,4,5,6,9", *flags, "--json", str(out3)]) == 0
        runs[bool(flags)] = json.loads(out3.read_text())
    assert runs[False]["student_epochs"] >= 4 * runs[False]["config"]["epochs_student"]  # only 7s and 8s
    assert runs[True]["config"]["match_steps"] is False and runs[True]["student_epochs"] == 3
    assert runs[True]["config"]["teacher_lr_schedule"] == "constant"


def test_chapter2_students_take_as_many_steps_and_the_teacher_has_its_own_schedule():
    m = tiny_cfg(M.Mythical3Config, omit=(3,), student_epochs=10)
    n_all, n_kept = len(H.transfer_set(m)[1]), len(H.transfer_set(m, (3,))[1])
    assert H.student_epochs(m, (3,)) == round(10 * n_all / n_kept) == 11
    assert H.student_epochs(m) == 10 and H.student_epochs(replace(m, match_steps=False), (3,)) == 10
    assert H.student_epochs(m, (0, 1, 2, 3, 4, 5, 6, 9)) >= 40  # a fifth of the images, about five times the epochs
    # the epochs are part of the student's cache key
    assert H.student_spec(m, "hard", omit=(3,)) != H.student_spec(replace(m, match_steps=False), "hard", omit=(3,))
    # the teacher's schedule is its own: the students' schedule does not change the teacher
    c = tiny_cfg()
    assert (c.teacher_schedule, c.lr_schedule) == ("cosine", "constant")
    assert H.teacher_spec(c) == H.teacher_spec(replace(c, lr_schedule="cosine"))
    assert H.teacher_spec(replace(c, teacher_lr_schedule=None)).lr_schedule == "constant"
    with pytest.raises(ValueError, match="match_steps"):
        H.HintonConfig(match_steps=1)
    with pytest.raises(ValueError, match="schedule"):
        H.HintonConfig(teacher_lr_schedule="step")
    # chapter 2's setting at each scale: its own T and alpha by default, the recorded run's at full scale
    d, f = M.Mythical3Config.for_scale("default"), M.Mythical3Config.for_scale("full")
    assert (d.temperature, d.alpha, d.match_steps, d.teacher_schedule) == (20.0, 0.9, True, "cosine")
    assert (f.temperature, f.alpha, f.match_steps, f.teacher_schedule) == (4.0, 0.5, False, "cosine")
    assert H.teacher_spec(d) == H.teacher_spec(H.HintonConfig())  # chapter 1's teacher


def test_the_mythical3_panel_previews_the_distilled_student_and_agrees_with_the_final_result(tmp_path, monkeypatch):
    from subclass_lib import runner
    from subclass_lib.widgets.hinton import preview_epoch, retrain_mythical3

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path))  # nothing cached: both students train
    runner.clear_memory_cache()
    cfg = tiny_cfg(M.Mythical3Config, omit=(3,))
    partials = []
    final = retrain_mythical3(cfg, preview=partials.append)
    assert len(partials) == 1  # after a third of the distilled student's epochs
    half = partials[0]
    assert half["hard_labels"] is None and half["per_class"]["hard_labels"] is None
    assert half["distilled"]["epochs_done"] == preview_epoch(final["student_epochs"])
    assert final["hard_labels"]["accuracy_on_omitted"] == 0.0 and len(final["per_class"]["hard_labels"]) == 10
    assert final == M.run_mythical3(cfg, verbose=False) | {"timing_s": final["timing_s"]}


def test_a_cached_models_logits_are_computed_once_per_process(monkeypatch):
    cfg = tiny_cfg()
    teacher = H.train_teacher(cfg, verbose=False).model
    calls = []
    real = H.predict
    monkeypatch.setattr(H, "predict", lambda m, x, **kw: calls.append(len(x)) or real(m, x, **kw))
    first = H.test_logits(H.teacher_spec(cfg), teacher)
    assert H.test_logits(H.teacher_spec(cfg), teacher) is first
    assert calls in ([], [10000])  # computed at most once (maybe earlier in this process)
    assert torch.equal(first, real(teacher, H.load_splits()[2][0]))


def test_the_distillation_panel_previews_early_and_the_preview_changes_nothing(tmp_path, monkeypatch):
    from subclass_lib import runner
    from subclass_lib.widgets.hinton import preview_epoch, retrain_distillation

    assert [preview_epoch(e) for e in (1, 2, 3, 4, 10, 30)] == [1, 1, 1, 1, 3, 10]

    runner.clear_memory_cache()
    cfg = tiny_cfg(student_epochs=6, temperature=3.0)
    partials = []
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "a"))
    final = retrain_distillation(cfg, preview=partials.append)
    assert len(partials) == 1 and partials[0]["distilled"]["epochs_done"] == 2
    assert partials[0]["distilled"]["epochs"] == 6 and "epochs_done" not in final["distilled"]
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "b"))
    runner.clear_memory_cache()
    plain = H.run_hinton(cfg, verbose=False)
    for k in ("teacher", "small", "distilled"):
        assert final[k]["test_accuracy"] == plain[k]["test_accuracy"]
    # cached now: no preview, the final result only
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "a"))
    again = []
    runner.clear_memory_cache()
    again_final = retrain_distillation(cfg, preview=again.append)
    assert again_final["distilled"]["test_accuracy"] == final["distilled"]["test_accuracy"] and again == []


@pytest.mark.parametrize("argv, message", [
    (["hinton", "--temperature", "-1"], "temperature must be"),
    (["hinton", "--alpha", "2"], "alpha must be in"),
    (["hinton", "--train-subset", "0"], "transfer_size must be"),
    (["mythical3", "--omit", "0123456789"], "all ten digits"),
    (["mythical3", "--omit", "3x"], "digits must be"),
    (["mythical3", "--temperature", "0"], "temperature must be"),
    (["hinton", "--scale", "huge"], "invalid choice"),
])
def test_bad_flags_exit_2_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_sweeps_over_student_seeds_keep_one_teacher():
    cfg = tiny_cfg()
    sweep = S.temperature_sweep(cfg, temperatures=(1, 4), hiddens=((12, 12),), seeds=(0, 1), verbose=False)
    assert sweep["seeds"] == [0, 1] and sweep["T"] == [1.0, 4.0]
    runs = sweep["distilled_runs"]["2x12"]
    assert len(runs) == 2 and all(len(r) == 2 for r in runs)
    for i in range(2):
        col = [r[i] for r in runs]
        assert sweep["distilled"]["2x12"][i] == pytest.approx(np.mean(col))
        assert sweep["distilled_std"]["2x12"][i] == pytest.approx(np.std(col, ddof=1))
    assert sweep["hard"]["2x12"] == pytest.approx(np.mean(sweep["hard_runs"]["2x12"]))
    # seed 0 alone is the single-seed sweep; another student seed is another student, same teacher
    one = S.temperature_sweep(cfg, temperatures=(1, 4), hiddens=((12, 12),), verbose=False)
    assert one["distilled_runs"]["2x12"][0] == runs[0] and one["distilled_std"]["2x12"] == [0.0, 0.0]
    teacher = H.train_teacher(cfg, verbose=False).model
    a = H.train_student(cfg, teacher, "hard", seed=0, verbose=False).model
    b = H.train_student(cfg, teacher, "hard", seed=1, verbose=False).model
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    alpha = S.alpha_sweep(cfg, alphas=(0.0, 1.0), hiddens=((12, 12),), seeds=(0, 1), verbose=False)
    assert alpha["alpha"] == [0.0, 1.0] and alpha["T"] == cfg.temperature
    assert len(alpha["distilled_runs"]["2x12"]) == 2 and alpha["hard_runs"] == sweep["hard_runs"]
    with pytest.raises(ValueError, match="distinct"):
        S.temperature_sweep(cfg, temperatures=(1,), hiddens=((12, 12),), seeds=(0, 0), verbose=False)
    with pytest.raises(ValueError, match="seed"):
        H.train_student(cfg, teacher, "hard", seed=-1, verbose=False)
    with pytest.raises(ValueError, match="alpha"):
        S.alpha_sweep(cfg, alphas=(1.5,), hiddens=((12, 12),), verbose=False)
