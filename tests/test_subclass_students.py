"""Chapter 5 recipes: students of a subclass teacher (tiny scale: seconds)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from subclass_lib import losses as L
from subclass_lib import runner
from subclass_lib.__main__ import main
from subclass_lib.experiments import subclass_students as S
from subclass_lib.experiments.subclass import SubclassConfig
from subclass_lib.train import FitConfig, fit

TINY_TEACHER = SubclassConfig(teacher_epochs=1, hidden=(16,), teacher_fraction=0.02)
TINY = S.StudentsConfig(teacher=TINY_TEACHER, student_hidden=(8, 8), student_epochs=1, eval_every=3)
TINY_FLAGS = ["--train-fraction", "0.02", "--n-epochs-teacher", "1", "--hidden", "16",
              "--n-epochs-student", "1", "--student-hidden", "8,8", "--eval-every", "3"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        d = tmp_path_factory.mktemp("model_cache")
        mp.setenv("SUBCLASS_LIB_CACHE", str(d))
        yield d


@pytest.fixture(scope="module")
def teacher(cache):
    return S.get_teacher(TINY, verbose=False)


# ----------------------------------------------------------------------------- config

@pytest.mark.parametrize("bad", [dict(temperature=0), dict(temperature=-1), dict(alpha=1.5), dict(alpha=-0.1),
                                 dict(transfer_fraction=0), dict(transfer_fraction=1.2),
                                 dict(student_hidden=()), dict(student_hidden=(0,)), dict(student_epochs=0),
                                 dict(penultimate_weight=-1), dict(eval_every=0), dict(seed=-1),
                                 dict(scale="huge"), dict(teacher="mlp")])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        S.StudentsConfig(**bad)


def test_config_parses_hidden_and_scales():
    assert S.StudentsConfig(student_hidden="64,32").student_hidden == (64, 32)
    full = S.StudentsConfig.for_scale("full")
    assert full.student_hidden == (784, 784) and full.teacher.teacher == "conv"
    small = S.StudentsConfig().interactive()
    full = S.StudentsConfig()
    assert small.transfer_fraction < 1  # fewer examples seen than in the chapter's runs:
    assert small.transfer_fraction * small.student_epochs < full.transfer_fraction * full.student_epochs


def test_a_students_spec_ignores_fields_its_method_does_not_use():
    a, b = S.StudentsConfig(), S.StudentsConfig(temperature=8.0, alpha=0.9)
    assert S.student_spec(a, "hard_labels") == S.student_spec(b, "hard_labels")
    assert S.student_spec(a, "subclass_distillation") != S.student_spec(b, "subclass_distillation")
    assert S.student_spec(a, "hard_labels") != S.student_spec(a, "distillation")
    assert S.student_spec(a, "hard_labels").needs() == (S.student_spec(a, "distillation").teacher,)


# ----------------------------------------------------------------------------- students

def test_students_start_from_identical_weights():
    init = S.initial_students(TINY)
    ref = init["hard_labels"].body.state_dict()
    for m, model in init.items():
        for k, v in model.body.state_dict().items():
            assert torch.equal(v, ref[k]), (m, k)
    for m in ("distillation", "penultimate"):  # the 2-logit students are identical in every weight
        for k, v in init[m].state_dict().items():
            assert torch.equal(v, init["hard_labels"].state_dict()[k]), (m, k)
    assert init["subclass_distillation"].head.out_features == 10
    assert init["hard_labels"].head.out_features == 2


def test_loss_wiring():
    torch.manual_seed(0)
    model = S.make_student(TINY, "subclass_distillation")
    x = torch.rand(6, 784)
    t = torch.randn(6, 10) * 3
    y = torch.tensor([0, 1, 0, 1, 1, 0])
    b = {"x": x, "y": y, "teacher_logits": t}
    cfg = replace(TINY, temperature=2.0, alpha=1.0)
    z = model(x)
    # subclass distillation at alpha = 1: soft cross-entropy over all 10 sub-logits (Eq. 3)
    assert torch.allclose(S.student_loss_fn("subclass_distillation", cfg)(model, b), L.soft_cross_entropy(z, t, 2.0))
    # conventional distillation: the teacher's class logits are the grouped sub-logits
    m2 = S.make_student(TINY, "distillation")
    want = L.soft_cross_entropy(m2(x), L.grouped_logits(t, 5), 2.0)
    assert torch.allclose(S.student_loss_fn("distillation", cfg)(m2, b), want)
    # the no-label student never uses y, and ignores per-group offsets of the teacher
    b2 = {"x": x, "y": 1 - y, "teacher_logits": t + torch.tensor([5.0] * 5 + [-3.0] * 5)}
    f = S.student_loss_fn("no_label", cfg)
    assert torch.allclose(f(model, b), f(model, b2), atol=1e-5)
    with pytest.raises(ValueError):
        S.student_loss_fn("penultimate", cfg)
    with pytest.raises(ValueError):
        S.student_loss_fn("bogus", cfg)


def test_penultimate_projection_trains():
    torch.manual_seed(0)
    n = 64
    data = {"x": torch.rand(n, 784), "y": torch.randint(0, 2, (n,)), "teacher_features": torch.rand(n, 12)}
    model = S.make_student(TINY, "penultimate")
    proj = S.make_projection(TINY, 12)
    before = proj.weight.detach().clone()
    loss_fn = S.student_loss_fn("penultimate", TINY, proj)
    with torch.no_grad():
        first = float(loss_fn(model, data))
    fit(model, loss_fn, data, FitConfig(epochs=5, batch_size=16, lr=1e-2), extra_modules=[proj], verbose=False)
    assert not torch.allclose(proj.weight, before)
    with torch.no_grad():
        assert float(loss_fn(model, data)) < first


def test_transfer_set_fraction_keeps_rows_aligned(teacher):
    full = S.transfer_set(TINY, teacher)
    part = S.transfer_set(replace(TINY, transfer_fraction=0.25), teacher)
    assert len(part["x"]) == round(0.25 * len(full["x"]))
    from subclass_lib.models import predict
    assert torch.allclose(part["teacher_logits"], predict(teacher.model, part["x"]), atol=1e-5)
    assert len(part["y"]) == len(part["teacher_features"]) == len(part["x"])


def test_oracle_learns_the_digits_in_the_sub_logits_order(teacher):
    spec_a = S.student_spec(S.StudentsConfig(), "oracle")
    spec_b = S.student_spec(S.StudentsConfig(temperature=8.0, alpha=0.9, penultimate_weight=1.0), "oracle")
    assert spec_a == spec_b and spec_a.temperature is None and spec_a.alpha is None  # no teacher settings
    assert "oracle" not in S.ALL_METHODS  # the chapter's students are unchanged
    data = S.transfer_set(TINY, teacher)
    lab = S.digit_labels(data["digit"], data["digit_order"])
    assert torch.equal(lab // TINY.teacher.n_sub, data["y"])  # its super-class is the binary label
    assert sorted(set(lab.tolist())) == list(range(10))
    assert torch.equal(S.digit_labels(torch.tensor([5, 0]), [5, 6, 7, 8, 9, 0, 1, 2, 3, 4]), torch.tensor([0, 5]))
    run = S.train_student(replace(TINY, student_hidden=(32,), student_epochs=10, batch_size=32), "oracle",
                          teacher, use_cache=False, verbose=False)
    assert run.n_outputs == 10 and run.test_error < 0.3  # binary error, from summed probabilities
    assert run.recovery_one_to_one > 0.3  # it was told the digits


def test_train_student_is_deterministic(teacher):
    runs = [S.train_student(TINY, "subclass_distillation", teacher, use_cache=False, verbose=False)
            for _ in range(2)]
    assert runs[0].test_error == runs[1].test_error
    assert runs[0].curve == runs[1].curve and len(runs[0].curve) >= 1
    for a, b in zip(runs[0].model.state_dict().values(), runs[1].model.state_dict().values()):
        assert torch.equal(a, b)
    assert 0 <= runs[0].recovery_one_to_one <= 1


def test_students_in_worker_processes_equal_sequential(teacher):
    jobs = [(replace(TINY, seed=s), m) for s in (0, 1) for m in ("hard_labels", "subclass_distillation")]
    specs = [S.student_spec(c, m) for c, m in jobs]
    assert not any(runner.is_cached(s) for s in specs)
    runner.train_many(specs, workers=2, device="cpu")  # trained in two processes, into the cache
    assert all(runner.is_cached(s) for s in specs)
    for c, m in jobs:
        cached = S.train_student(c, m, teacher, verbose=False)
        fresh = S.train_student(c, m, teacher, verbose=False, use_cache=False)
        assert cached.from_cache and not fresh.from_cache
        assert cached.test_error == fresh.test_error
        for a, b in zip(cached.model.state_dict().values(), fresh.model.state_dict().values()):
            assert torch.equal(a, b)
    with pytest.raises(ValueError, match="method"):
        S.student_spec(TINY, "magic")
    with pytest.raises(ValueError, match="StudentsConfig"):
        S.student_spec(TINY.teacher, "hard_labels")


def test_the_students_panel_previews_subclass_distillation_halfway(teacher):
    from subclass_lib.plots import students_figure
    from subclass_lib.widgets.subclass_students import retrain_students

    c = replace(TINY, seed=7, student_epochs=2)
    partials = []
    final = retrain_students(c, teacher, preview=partials.append)
    assert len(partials) == 1 and partials[0]["epochs_done"] == 1  # halfway through its 2 epochs
    assert [s["method"] for s in partials[0]["students"]] == ["subclass_distillation"]
    assert "still training" in students_figure(partials[0]).axes[0].get_title()
    assert [s["method"] for s in final["students"]] == list(S.METHODS)
    plain = S.run_students(c, S.METHODS, teacher, no_label=False, verbose=False)  # cached now: the same numbers
    assert [s["test_error"] for s in final["students"]] == [s["test_error"] for s in plain["students"]]
    again = []
    retrain_students(c, teacher, preview=again.append)
    assert again == []  # every student cached: the final result only


# ----------------------------------------------------------------------------- CLI

def test_cli_writes_the_table(cache, tmp_path, capsys):
    out = tmp_path / "students.json"
    assert main(["subclass-students", *TINY_FLAGS, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "subclass distillation" in printed and "paper error" in printed
    res = json.loads(out.read_text())
    assert {"teacher", "students", "no_label_student", "config", "timing_s"} <= set(res)
    assert [s["method"] for s in res["students"]] == list(S.METHODS)
    for s in res["students"] + [res["no_label_student"]]:
        assert 0 <= s["test_error"] <= 1 and 0 <= s["test_accuracy"] <= 1
        assert s["test_error"] == pytest.approx(1 - s["test_accuracy"])
    assert 0 <= res["teacher"]["test_accuracy"] <= 1
    assert res["config"]["student_hidden"] == [8, 8] and res["config"]["epochs"] == 1
    assert res["config"]["teacher"]["hidden"] == 16
    assert res["timing_s"]["total"] >= 0
    # same seed, same numbers (second run comes from the cache; a fresh one is tested above)
    out2 = tmp_path / "again.json"
    assert main(["subclass-students", *TINY_FLAGS, "--json", str(out2)]) == 0
    assert json.loads(out2.read_text())["students"][2]["test_error"] == res["students"][2]["test_error"]


@pytest.mark.parametrize("flags, message", [
    (["--alpha", "1.5"], "alpha"),
    (["--temperature", "0"], "T"),
    (["--transfer-fraction", "0"], "transfer_fraction"),
    (["--student-hidden", "a,b"], "student_hidden"),
    (["--methods", "hard_labels,bogus"], "bogus"),
    (["--n-sub", "0"], "n_sub"),
    (["--alpha", "high"], "alpha"),
])
def test_cli_bad_flags_exit_2(cache, flags, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["subclass-students", *TINY_FLAGS, *flags])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_chapter_teacher_is_chapter_4s_default():
    """Chapter 5 distils from chapter 4's default teacher (one cached model for both chapters)."""
    from subclass_lib.experiments.subclass import teacher_spec

    assert teacher_spec(S.chapter_teacher()) == teacher_spec(SubclassConfig())


class _Listed(Exception):
    """Raised by a stand-in for ``runner.train_many`` once it has the specs it was given."""


def _specs_trained(monkeypatch, module, call) -> list[str]:
    """The cache keys of the specs ``call()`` hands to ``module.runner.train_many`` first."""
    from subclass_lib.cache import cache_key

    def listed(specs, **_):
        raise _Listed([cache_key(s) for s in specs])

    monkeypatch.setattr(module.runner, "train_many", listed)
    with pytest.raises(_Listed) as got:
        call()
    return got.value.args[0]


def test_spec_lists_name_the_students_the_sweeps_train(monkeypatch):
    """A chapter trains all its students at once from these lists; each must list exactly what its
    function trains, or the chapter would train the rest one sweep at a time."""
    from subclass_lib.cache import cache_key
    from subclass_lib.experiments import subclass_students_sweeps as SW
    from subclass_lib.widgets import subclass_students as WS

    cfg = S.StudentsConfig()
    monkeypatch.setattr(SW.cache, "is_cached", lambda spec: True)  # the teacher "is cached"
    keys = lambda specs: [cache_key(s) for s in specs]  # noqa: E731
    seeds, methods = (3, 5), ("distillation", S.ORACLE)
    assert _specs_trained(monkeypatch, SW, lambda: SW.students_over_seeds(cfg, seeds, methods)) == keys(
        SW.over_seeds_specs(cfg, seeds, methods))
    assert _specs_trained(monkeypatch, SW, lambda: SW.sweep(cfg, "alpha", [0.2, 0.9], teacher=object())) == keys(
        SW.sweep_specs(cfg, "alpha", [0.2, 0.9]))
    assert _specs_trained(monkeypatch, WS, lambda: WS.students_static_panels(cfg, teacher=object())) == keys(
        WS.students_static_specs(cfg))


def test_hinton_sweep_spec_lists_name_the_students_the_sweeps_train(monkeypatch):
    from subclass_lib.cache import cache_key
    from subclass_lib.experiments import hinton as H
    from subclass_lib.experiments import hinton_sweeps as HS

    cfg = H.HintonConfig()
    monkeypatch.setattr(HS, "load_splits", lambda: (None, None, (None, None)))
    keys = lambda specs: [cache_key(s) for s in specs]  # noqa: E731
    assert _specs_trained(monkeypatch, HS, lambda: HS.temperature_sweep(cfg, (2, 8), seeds=(0, 4))) == keys(
        HS.temperature_sweep_specs(cfg, (2, 8), seeds=(0, 4)))
    assert _specs_trained(monkeypatch, HS, lambda: HS.alpha_sweep(cfg, seeds=(1,))) == keys(
        HS.alpha_sweep_specs(cfg, seeds=(1,)))


def test_chapter_2_and_3_spec_lists_name_the_models_their_functions_train(monkeypatch):
    from subclass_lib.cache import cache_key
    from subclass_lib.experiments import ls_kd as L
    from subclass_lib.experiments import mythical3 as M
    from subclass_lib.widgets import hinton as WH
    from subclass_lib.widgets import ls_kd as WL

    keys = lambda specs: [cache_key(s) for s in specs]  # noqa: E731
    cfg = M.Mythical3Config()
    assert _specs_trained(monkeypatch, WH, lambda: WH.mythical3_static_panels(cfg, (3, 5), (2.0,), (0.5,))) == keys(
        WH.mythical3_static_specs(cfg, (3, 5), (2.0,), (0.5,)))
    lcfg = L.LSKDConfig()
    assert _specs_trained(monkeypatch, WL, lambda: WL.ls_kd_static_panel(lcfg, (0.0, 0.2), (1.0, 8.0))) == keys(
        WL.ls_kd_static_specs(lcfg, (0.0, 0.2), (1.0, 8.0)))
    assert _specs_trained(monkeypatch, L, lambda: L.run_ls_kd(lcfg, verbose=False)) == keys(L.run_ls_kd_specs(lcfg))
