"""Chapter 4 recipes: the subclass teacher, the label-free student and the `subclass` CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from subclass_lib import losses as L
from subclass_lib import runner as R
from subclass_lib.__main__ import main
from subclass_lib.experiments import subclass as S
from subclass_lib.experiments.subclass_seeds import align_logits, recovery_over_seeds, teacher_ensemble, train_many
from subclass_lib.models import MLP
from subclass_lib.runner import clear_memory_cache

TINY = dict(teacher_epochs=2, student_epochs=1, teacher_fraction=0.05, batch_size=128)


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))


# ----------------------------------------------------------------------------- config

@pytest.mark.parametrize("kw, msg", [
    (dict(n_sub=0), "n_sub"),
    (dict(aux_weight=-1.0), "aux_weight"),
    (dict(split="0123456789"), "partition"),
    (dict(split="001234"), "partition"),
    (dict(split="01a"), "partition"),
    (dict(temperature=0.0), "temperature"),
    (dict(aux_temperature=-2.0), "aux_temperature"),
    (dict(aux="entropy"), "aux"),
    (dict(teacher="resnet"), "teacher"),
    (dict(sharpen=-0.1), "sharpen"),
    (dict(teacher_fraction=1.5), "teacher_fraction"),
    (dict(jitter=9), "jitter"),
    (dict(conv_dropout=1.0), "conv_dropout"),
    (dict(consistency=-0.5), "consistency"),
    (dict(view_shift=-1), "view_shift"),
    (dict(view_noise=float("nan")), "view_noise"),
])
def test_config_rejects_bad_values(kw, msg):
    with pytest.raises(ValueError, match=msg):
        S.SubclassConfig(**kw)


def test_config_split_orders_contingency_columns():
    cfg = S.SubclassConfig(split="01389")
    assert cfg.groups == ((0, 1, 3, 8, 9), (2, 4, 5, 6, 7))
    assert cfg.digit_order == [0, 1, 3, 8, 9, 2, 4, 5, 6, 7]
    assert S.SubclassConfig.for_scale("full").teacher == "conv"
    assert S.SubclassConfig.demo().aux == "diversity"
    assert S.SubclassConfig.demo().consistency == 0.0 and S.SubclassConfig().consistency > 0
    assert S.SubclassConfig.demo().sharpen == 0.5  # the demo's own value; the default is retuned


def test_teacher_spec_ignores_student_fields():
    spec = S.teacher_spec
    a = S.SubclassConfig()
    assert spec(a) == spec(replace(a, temperature=8.0, student_epochs=3))
    assert spec(a) != spec(replace(a, seed=1))
    assert spec(a).conv_dropout is None  # MLP teachers do not depend on it
    assert spec(replace(a, teacher="conv")) != spec(replace(a, teacher="conv", conv_dropout=0.0))
    # the view's settings matter only when the consistency loss is on
    off = replace(a, consistency=0.0)
    assert spec(off) == spec(replace(off, view_noise=0.1, view_shift=3))
    assert spec(a) != spec(replace(a, view_noise=0.1))
    # beta = 0 trains the same teacher whatever the auxiliary loss is
    zero = replace(a, aux_weight=0.0)
    assert spec(zero) == spec(replace(a, aux="contrastive", aux_weight=0.0, aux_temperature=0.3))
    assert spec(zero) == spec(replace(a, aux="none"))
    assert spec(a) != spec(replace(a, aux="contrastive"))
    assert S.label_free_spec(a).needs() == (spec(a),) and S.label_free_spec(a) != S.label_free_spec(replace(a, temperature=8.0))
    with pytest.raises(ValueError, match="SubclassConfig"):
        spec({"seed": 0})


def test_consistency_loss_is_in_the_teacher_loss():
    import torch
    cfg = S.SubclassConfig(**TINY)
    x = torch.rand(32, 784)
    y = torch.randint(0, 2, (32,))
    torch.manual_seed(0)
    model = MLP(hidden=cfg.hidden, out_dim=10)
    with_c = S.teacher_loss_fn(cfg)(model, {"x": x, "y": y})
    without = S.teacher_loss_fn(replace(cfg, consistency=0.0))(model, {"x": x, "y": y})
    z = model(x)
    assert without.item() == pytest.approx((L.grouped_cross_entropy(z, y, 5)
                                            + L.diversity_sharpness_aux_loss(z, y, 5, cfg.sharpen)).item(), rel=1e-5)
    assert with_c.item() > without.item()  # the consistency term is a cross-entropy, > 0
    # the views are drawn from a generator seeded by cfg.seed: a fresh loss function repeats them
    again = S.teacher_loss_fn(cfg)(model, {"x": x, "y": y})
    assert again.item() == with_c.item()


# ----------------------------------------------------------------------------- training

def test_tiny_teacher_beats_chance_and_is_deterministic():
    cfg = S.SubclassConfig(**TINY)
    t1 = S.train_teacher(cfg, verbose=False, use_cache=False)
    t2 = S.train_teacher(cfg, verbose=False, use_cache=False)
    assert torch.equal(t1.test_logits, t2.test_logits)
    assert t1.recovery == t2.recovery
    assert t1.super_accuracy > 0.8  # chance: 0.5
    assert t1.recovery_any > 0.3  # chance: 0.1; the super-class alone gives ~0.2
    assert t1.contingency.shape == (10, 10) and t1.contingency.sum() == 10000
    assert len(t1.snapshots) == cfg.teacher_epochs
    assert 0 <= t1.entropies["per_example_bits"] <= np.log2(10) + 1e-9
    # the cache returns the same model
    t3 = S.train_teacher(cfg, verbose=False)
    t4 = S.train_teacher(cfg, verbose=False)
    assert t4.from_cache and torch.equal(t3.test_logits, t4.test_logits)
    assert t4.snapshots == t3.snapshots == t1.snapshots
    # the tables are stored with the model on disk (its history's records), not beside it
    clear_memory_cache()  # t3 came from the in-memory copy of t1's run: train once more, onto the disk
    assert not S.train_teacher(cfg, verbose=False).from_cache
    clear_memory_cache()
    t5 = S.train_teacher(cfg, verbose=False)
    assert t5.from_cache and t5.snapshots == t3.snapshots and t5.history.records == t3.snapshots
    # the loss terms on the validation images, one dict an epoch, kept with the model too
    assert len(t5.history.terms) == cfg.teacher_epochs and t5.history.terms == t1.history.terms
    assert all(0 <= t["sharpness"] <= t["diversity"] + 1e-6 <= np.log(cfg.n_sub) + 1e-5 for t in t1.history.terms)
    assert not list((R.cache_dir()).glob("*.json"))


def test_loss_terms_bounds_and_the_aux_loss():
    # each image one-hot on a sub-logit of its class, the sub-logits of a class used evenly:
    # diversity log s, sharpness 0, so the auxiliary loss sits at its floor -log s
    s, y = 5, torch.tensor([0] * 5 + [1] * 5)
    z = torch.full((10, 2 * s), -30.0)
    for i in range(10):
        z[i, int(y[i]) * s + i % s] = 30.0
    t = S.loss_terms(z, y, s)
    assert t["diversity"] == pytest.approx(np.log(s), abs=1e-5) and t["sharpness"] == pytest.approx(0, abs=1e-5)
    assert t["grouped_ce"] == pytest.approx(0, abs=1e-5)
    # on any logits the two parts give the library's auxiliary loss over the same images
    z = torch.randn(64, 2 * s, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 2, (64,), generator=torch.Generator().manual_seed(1))
    t = S.loss_terms(z, y, s)
    aux = L.diversity_sharpness_aux_loss(z, y, s, 0.4)
    assert -t["diversity"] + 0.4 * t["sharpness"] == pytest.approx(float(aux), abs=1e-5)
    assert float(L.grouped_cross_entropy(z, y, s)) == pytest.approx(t["grouped_ce"])


def test_halfway_checkpoint_is_exactly_the_shorter_run():
    # a 4-epoch run also caches its state after 2 epochs under the 2-epoch configuration;
    # that must be the very model a 2-epoch run trains (view consistency on: its own RNG too)
    cfg = S.SubclassConfig(**{**TINY, "teacher_epochs": 4})
    short = replace(cfg, teacher_epochs=2)
    direct = S.train_teacher(short, verbose=False, use_cache=False)
    S.train_teacher(cfg, verbose=False)
    clear_memory_cache()
    half = S.train_teacher(short, verbose=False)
    assert half.from_cache
    assert torch.equal(half.test_logits, direct.test_logits)
    assert half.recovery == direct.recovery and half.snapshots == direct.snapshots
    assert len(half.history.loss) == 2 and half.history.loss == direct.history.loss
    # odd epoch counts have no halfway point; without the cache nothing is stored
    S.train_teacher(replace(cfg, teacher_epochs=3, seed=1), verbose=False)
    assert not R.is_cached(S.teacher_spec(replace(cfg, teacher_epochs=1, seed=1)))


def test_label_free_student_and_n_sub_3():
    cfg = S.SubclassConfig(n_sub=3, split="01389", aux="contrastive", **TINY)
    t = S.train_teacher(cfg, verbose=False)
    assert t.contingency.shape == (6, 10)
    s = S.train_label_free_student(cfg, t, verbose=False)
    assert s.contingency.shape == (6, 10)
    assert 0.0 <= s.recovery_one_to_one <= s.recovery_any <= 1.0
    with pytest.raises(ValueError, match="different teacher"):
        S.train_label_free_student(replace(cfg, seed=3), t, verbose=False)


def test_alignment_recovers_a_permuted_copy():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(500, 10, generator=g) * 3
    perm = torch.randperm(10, generator=g)
    shuffled = ref[:, perm]  # column b of `shuffled` is column perm[b] of `ref`
    aligned, found = align_logits(ref, shuffled)
    assert torch.equal(aligned, ref)
    assert found.tolist() == perm.tolist()


def test_seed_sweep_and_ensemble_shapes():
    cfg = S.SubclassConfig(**TINY)
    sweep = recovery_over_seeds(cfg, [0, 1])
    assert sweep["seeds"] == [0, 1] and len(sweep["teacher"]["recovery_any"]) == 2
    assert sweep["mean"] == pytest.approx(np.mean(sweep["teacher"]["recovery_any"]))
    assert sweep["std"] >= 0
    ens = teacher_ensemble(cfg, [0, 1])
    assert ens["members"] == sweep["teacher"]["recovery_any"]
    assert 0.1 <= ens["recovery_one_to_one"] <= ens["recovery_any"] <= 1.0
    assert ens["contingency"].sum() == 10000


def test_train_many_in_processes_equals_sequential(tmp_path, monkeypatch):
    cfgs = [S.SubclassConfig(seed=s, **TINY) for s in (0, 1)]
    monkeypatch.setenv(R.WORKERS_ENV, "2")
    parallel = train_many(cfgs, student=True)
    assert all(t.from_cache for t, _ in parallel)  # trained in the workers, loaded here
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "sequential"))
    monkeypatch.setenv(R.WORKERS_ENV, "1")
    clear_memory_cache()
    sequential = train_many(cfgs, student=True)
    assert len(list((tmp_path / "sequential").glob("subclass-teacher-*.pt"))) == 4  # trained again, here (+ halfway)
    for (tp, sp), (ts, ss) in zip(parallel, sequential):
        assert np.array_equal(tp.contingency, ts.contingency) and tp.snapshots == ts.snapshots
        assert tp.recovery_any == ts.recovery_any and sp.recovery_any == ss.recovery_any
    with pytest.raises(ValueError, match="SubclassConfig"):
        train_many([dict(seed=0)])
    # teachers that are one model are trained once
    b = replace(cfgs[0], aux_weight=0.0, seed=3)
    assert S.teacher_spec(b) == S.teacher_spec(replace(b, aux="contrastive"))


def test_default_workers_reads_the_environment(monkeypatch):
    monkeypatch.setenv(R.WORKERS_ENV, "3")
    assert R.default_workers() == 3
    monkeypatch.setenv(R.WORKERS_ENV, "zero")
    with pytest.raises(ValueError, match=R.WORKERS_ENV):
        R.default_workers()
    monkeypatch.delenv(R.WORKERS_ENV)
    assert R.default_workers() >= 1


# ----------------------------------------------------------------------------- CLI

def test_cli_tiny_run_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(["subclass", "--n-epochs-teacher", "1", "--n-epochs-student", "1", "--train-fraction", "0.03",
               "--aux", "contrastive", "--aux-temperature", "0.5", "--split", "01389", "--json", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "recovery" in printed and "teacher" in printed
    res = json.loads(out.read_text())
    for who in ("teacher", "student"):
        r = res[who]
        assert set(r) >= {"super_accuracy", "recovery_any", "recovery_one_to_one", "contingency"}
        for k in ("super_accuracy", "recovery_any", "recovery_one_to_one"):
            assert 0.0 <= r[k] <= 1.0
        assert np.asarray(r["contingency"]).shape == (10, 10)
    assert set(res["timing_s"]) >= {"teacher", "student", "total"}
    assert res["config"]["split"] == "01389" and res["config"]["aux"] == "contrastive"
    # the demo's flag names stay the JSON keys (the library says teacher_epochs, teacher_fraction, a hidden tuple)
    c = res["config"]
    assert (c["n_epochs_teacher"], c["n_epochs_student"], c["train_fraction"], c["hidden"]) == (1, 1, 0.03, 256)
    assert not {"teacher_epochs", "student_epochs", "teacher_fraction"} & set(c)
    assert res["digit_order"] == [0, 1, 3, 8, 9, 2, 4, 5, 6, 7]
    assert res["threads"] == R.available_cpus()  # a command-line run uses the whole machine


def test_cpu_threads_nests_and_restores(monkeypatch):
    from subclass_lib.cli import cli_threads

    monkeypatch.delenv(R.THREADS_ENV, raising=False)
    before = torch.get_num_threads()
    with R.cpu_threads(2):
        assert torch.get_num_threads() == 2
        with R.cpu_threads():  # what train_teacher does inside: keeps the outer count
            assert torch.get_num_threads() == 2
        with R.cpu_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with R.cpu_threads():
        assert torch.get_num_threads() == 1
    monkeypatch.setenv(R.THREADS_ENV, "3")
    assert cli_threads(None) == 3 and cli_threads(2) == 2
    monkeypatch.delenv(R.THREADS_ENV)
    assert cli_threads(None) == R.available_cpus()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            with R.cpu_threads(bad):
                pass


@pytest.mark.parametrize("flags, msg", [
    (["--n-sub", "0"], "n_sub"),
    (["--aux-weight", "-1"], "aux_weight"),
    (["--split", "0123456789"], "partition"),
    (["--split", "01x"], "partition"),
    (["--aux", "entropy"], "invalid choice"),
    (["--temperature", "0"], "temperature"),
    (["--consistency", "-1"], "consistency"),
    (["--view-noise", "-0.5"], "view_noise"),
    (["--threads", "0"], "threads"),
])
def test_cli_bad_flags_exit_2(flags, msg, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["subclass", "--n-epochs-teacher", "1", "--train-fraction", "0.01", *flags])
    assert exc.value.code == 2
    assert msg in capsys.readouterr().err


