"""The training loop, the model cache and the models: behaviour on small real and synthetic data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from subclass_lib import losses
from subclass_lib.data import load_mnist
from subclass_lib.models import MLP, ConvTeacher, build_model, predict
from subclass_lib import runner
from subclass_lib.runner import Trained, cache_key, clear_memory_cache
from subclass_lib.train import FitConfig, History, fit, seed_everything


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture(scope="module")
def small_mnist():
    tr, te = load_mnist("train"), load_mnist("test")
    return tr.images[:3000], tr.labels[:3000], te.images[:1000], te.labels[:1000]


def ce_loss(model, batch):
    return losses.cross_entropy(model(batch["x"]), batch["y"])


def _accuracy(model, x, y):
    return (predict(model, x).argmax(1) == y).float().mean().item()


def _train_small(data, seed=0, epochs=2, **cfg):
    x, y, xt, yt = data
    seed_everything(seed)
    model = MLP((64,), 10)
    hist = fit(model, ce_loss, {"x": x, "y": y}, FitConfig(epochs=epochs, seed=seed, **cfg),
               val_fn=lambda m: _accuracy(m, xt, yt), verbose=False)
    return model, hist


def test_tiny_training_run_learns_well_above_chance(small_mnist):
    model, hist = _train_small(small_mnist, epochs=3)
    assert hist.val_accuracy[-1] > 0.8  # chance is 0.1
    assert hist.loss[0] > hist.loss[-1]
    assert len(hist.loss) == len(hist.val_accuracy) == len(hist.epoch_time_s) == 3


def test_same_seed_same_numbers_other_seed_other_numbers(small_mnist):
    _, h1 = _train_small(small_mnist, seed=3)
    _, h2 = _train_small(small_mnist, seed=3)
    _, h3 = _train_small(small_mnist, seed=4)
    assert h1.loss == h2.loss and h1.val_accuracy == h2.val_accuracy
    assert h1.loss != h3.loss


def test_jitter_and_dropout_runs_are_deterministic_too(small_mnist):
    x, y, xt, yt = small_mnist
    runs = []
    for _ in range(2):
        seed_everything(1)
        model = MLP((32,), 10, dropout=0.3, max_norm=2.0)
        h = fit(model, ce_loss, {"x": x, "y": y}, FitConfig(epochs=1, seed=1, jitter=2), verbose=False)
        runs.append((h.loss, [p.clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_max_norm_constraint_holds_after_training(small_mnist):
    x, y, _, _ = small_mnist
    seed_everything(0)
    model = MLP((64, 64), 10, max_norm=0.5)
    fit(model, ce_loss, {"x": x, "y": y}, FitConfig(epochs=1, lr=1e-2), verbose=False)
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            assert m.weight.norm(dim=1).max().item() <= 0.5 + 1e-5


def test_non_finite_loss_stops_with_epoch_and_step():
    x = torch.rand(64, 784)
    y = torch.randint(0, 10, (64,))
    calls = {"n": 0}

    def bad_loss(model, batch):
        calls["n"] += 1
        out = losses.cross_entropy(model(batch["x"]), batch["y"])
        return out * float("nan") if calls["n"] == 3 else out

    with pytest.raises(FloatingPointError, match=r"epoch 2, step 1 of 2"):
        fit(MLP((8,), 10), bad_loss, {"x": x, "y": y}, FitConfig(epochs=3, batch_size=32), verbose=False)


def test_early_stopping_restores_best_weights():
    torch.manual_seed(0)
    x, y = torch.rand(256, 784), torch.randint(0, 10, (256,))
    scores = iter([0.5, 0.9, 0.4, 0.3, 0.2, 0.1])
    snapshots = []

    def val_fn(model):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(scores)

    model = MLP((8,), 10)
    hist = fit(model, ce_loss, {"x": x, "y": y}, FitConfig(epochs=6, patience=2), val_fn=val_fn, verbose=False)
    assert hist.stopped_early and hist.best_epoch == 2 and len(hist.loss) == 4
    best = snapshots[1]
    assert all(torch.equal(v, best[k]) for k, v in model.state_dict().items())


def test_callback_and_step_evaluation():
    x, y = torch.rand(100, 784), torch.randint(0, 10, (100,))
    seen = []
    hist = fit(MLP((8,), 10), ce_loss, {"x": x, "y": y}, FitConfig(epochs=2, batch_size=25, eval_every=2),
               val_fn=lambda m: 0.5, callback=lambda m, e, n, h: seen.append((e, n)), verbose=False)
    assert seen == [(1, 2), (2, 2)]
    assert [s for s, _ in hist.step_eval] == [2, 4, 6, 8]


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(batch_size=-1), dict(lr=0.0), dict(lr=float("nan")),
                                 dict(weight_decay=-1.0), dict(jitter=-1), dict(patience=0)])
def test_fit_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        FitConfig(**bad)


def test_fit_rejects_misaligned_or_missing_fields():
    with pytest.raises(ValueError, match="'y' has 3 rows"):
        fit(MLP((4,), 10), ce_loss, {"x": torch.rand(4, 784), "y": torch.zeros(3, dtype=torch.long)})
    with pytest.raises(ValueError, match="key 'x'"):
        fit(MLP((4,), 10), ce_loss, {"y": torch.zeros(3, dtype=torch.long)})
    with pytest.raises(ValueError, match="patience"):
        fit(MLP((4,), 10), ce_loss, {"x": torch.rand(4, 784), "y": torch.zeros(4, dtype=torch.long)},
            FitConfig(patience=2))


def test_models_validate_and_expose_features():
    m = MLP((16, 12), 7, dropout=0.1)
    x = torch.rand(5, 784)
    assert m(x).shape == (5, 7) and m.features(x).shape == (5, 12)
    c = ConvTeacher(out_dim=10)
    assert c(x).shape == (5, 10) and c.features(x).shape == (5, 128)
    assert isinstance(build_model("conv", out_dim=4), ConvTeacher)
    for bad in [dict(hidden=()), dict(hidden=(0,)), dict(dropout=1.0), dict(max_norm=0.0), dict(out_dim=0)]:
        with pytest.raises(ValueError):
            MLP(**bad)
    with pytest.raises(ValueError, match="784"):
        m(torch.rand(5, 100))
    with pytest.raises(ValueError):
        build_model("transformer")


@dataclass(frozen=True)
class Unit(runner.Spec):
    """A one-layer MLP on seeded random data; ``calls`` (a list kept outside the spec) counts trainings."""

    name: ClassVar[str] = "unit"
    seed: int = 0
    hidden: int = 8
    fail: bool = False

    def build(self):
        seed_everything(self.seed)
        return MLP((self.hidden,), 10)

    def fit(self, model, needs, device, callback):
        CALLS.append(1)
        if self.fail:
            raise KeyboardInterrupt
        return fit(model, ce_loss, {"x": torch.rand(64, 784), "y": torch.randint(0, 10, (64,))},
                   FitConfig(epochs=1, seed=self.seed), verbose=False)


CALLS: list = []


def _cached_run(calls, seed=0):
    CALLS.clear()
    out = runner.train(Unit(seed=seed))[:2]
    calls.extend(CALLS)
    return out


def test_cache_returns_the_same_model_without_retraining(tmp_path):
    calls = []
    m1, h1 = _cached_run(calls)
    clear_memory_cache()  # force the disk path
    m2, h2 = _cached_run(calls)
    assert len(calls) == 1
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    assert h1.loss == h2.loss
    files = list((tmp_path / "models").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temporary files left behind


def test_corrupt_cache_file_is_ignored_and_rewritten(tmp_path):
    calls = []
    _cached_run(calls)
    (path,) = list((tmp_path / "models").iterdir())
    path.write_bytes(b"not a torch file")
    clear_memory_cache()
    with pytest.warns(UserWarning, match="unreadable cached model"):
        _cached_run(calls)
    assert len(calls) == 2
    clear_memory_cache()
    _cached_run(calls)  # the rewritten file is good again
    assert len(calls) == 2


def test_interrupted_training_leaves_no_cache_entry(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        runner.train(Unit(fail=True))
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())
    calls = []
    _cached_run(calls)  # the next run works
    assert calls == [1]


def test_cache_key_depends_on_the_spec_its_class_and_version(monkeypatch):
    assert cache_key(Unit(seed=1)) == cache_key(Unit(seed=1))
    assert cache_key(Unit(seed=1)) != cache_key(Unit(seed=2))

    @dataclass(frozen=True)
    class Other(Unit):
        name: ClassVar[str] = "other"

    assert cache_key(Other(seed=1)) != cache_key(Unit(seed=1))
    before = cache_key(Unit(seed=1))
    monkeypatch.setattr(Unit, "version", 2)
    assert cache_key(Unit(seed=1)) != before


def test_history_round_trip():
    h = History(loss=[1.0, 0.5], val_accuracy=[0.1, 0.2], epoch_time_s=[1, 1], step_eval=[(2, 0.3)], steps=4)
    assert History.from_dict(h.to_dict()) == h
    assert math.isclose(h.train_time_s, 2.0)


def test_seed_everything_validates():
    with pytest.raises(ValueError):
        seed_everything(-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_adam_takes_torchs_adam_steps_bit_for_bit(dtype, weight_decay):
    """fit's Adam (torch's functional Adam, fused for float32) = torch.optim.Adam(fused=True), with the
    learning rate changed between steps; float64 takes the unfused path, = torch.optim.Adam()."""
    import torch.nn as nn

    from subclass_lib.train import Adam

    def run(ours: bool):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3)).to(dtype)
        x, y = torch.randn(64, 20, dtype=dtype), torch.randint(0, 3, (64,))
        if ours:
            opt = Adam(model.parameters(), lr=1e-2, weight_decay=weight_decay)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=weight_decay,
                                   fused=dtype == torch.float32)
        for i in range(40):
            lr = 1e-2 * (1 - i / 40)
            if ours:
                opt.lr = lr
            else:
                opt.param_groups[0]["lr"] = lr
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(True), run(False))


def test_cosine_schedule_decays_to_zero_and_constant_keeps_the_rate():
    import torch.nn as nn

    from subclass_lib.train import Adam, FitConfig, fit

    seen = {}
    for schedule in ("constant", "cosine"):
        torch.manual_seed(0)
        model = nn.Linear(4, 2)
        data = {"x": torch.randn(64, 4), "y": torch.randint(0, 2, (64,))}
        lrs = []

        def loss_fn(m, b):
            return nn.functional.cross_entropy(m(b["x"]), b["y"])

        orig_step = Adam.step

        def spy(self, *a, **k):
            lrs.append(self.lr)
            return orig_step(self, *a, **k)

        Adam.step = spy
        try:
            fit(model, loss_fn, data, FitConfig(epochs=4, batch_size=16, lr=0.01, lr_schedule=schedule), verbose=False)
        finally:
            Adam.step = orig_step
        seen[schedule] = lrs
    assert seen["constant"] == [0.01] * 16
    cos = seen["cosine"]
    assert len(cos) == 16 and cos[0] == 0.01 and all(a > b for a, b in zip(cos, cos[1:])) and cos[-1] < 0.001
    with pytest.raises(ValueError, match="lr_schedule"):
        FitConfig(lr_schedule="step")


def test_train_says_whether_the_model_came_from_the_cache(tmp_path):
    CALLS.clear()
    m1, h1, cached1 = runner.train(Unit())
    m2, h2, cached2 = runner.train(Unit())  # from memory
    clear_memory_cache()
    m3, h3, cached3 = runner.train(Unit())  # from disk
    _, _, cached4 = runner.train(Unit(), use_cache=False)  # retrained
    assert (cached1, cached2, cached3, cached4) == (False, True, True, False)
    assert len(CALLS) == 2
    assert h1.loss == h2.loss == h3.loss
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m3.state_dict().values()))
    r5 = runner.train(Unit())
    assert isinstance(r5, Trained) and r5.from_cache and isinstance(r5.model, MLP)
    assert len(CALLS) == 2 and r5.history.loss == h1.loss


def test_a_docstring_edit_keeps_every_trained_model():
    """The cache key is the spec (its fields, class name and version) and the training code's
    version: no source file is hashed, so editing a help text or a recipe's prose keeps the models."""
    from subclass_lib import cache

    key = cache_key(Unit(seed=3))
    text = Path(cache.__file__).read_text()
    assert "read_bytes" not in text and "__file__" not in text
    assert cache_key(Unit(seed=3)) == key


def test_a_reader_seed_changes_every_seed_the_library_draws(monkeypatch):
    """$SUBCLASS_LIB_READER_SEED=N: seed s becomes s + 1000 N (tools/check_robustness.py --reader-seeds),
    models train from other weights, and the cache keeps them apart from the book's own."""
    import re
    from pathlib import Path

    from subclass_lib import runner
    from subclass_lib.train import READER_SEED_ENV, run_seed, seed_everything

    monkeypatch.delenv(READER_SEED_ENV, raising=False)
    assert run_seed(3) == 3
    seed_everything(0)
    w0 = torch.rand(3)
    key0 = runner.cache_key(Unit(seed=0))
    monkeypatch.setenv(READER_SEED_ENV, "2")
    assert run_seed(3) == 2003
    seed_everything(0)
    assert not torch.equal(torch.rand(3), w0)
    assert runner.cache_key(Unit(seed=0)) != key0
    monkeypatch.setenv(READER_SEED_ENV, "-1")
    with pytest.raises(ValueError, match="READER_SEED"):
        run_seed(0)
    # every generator the library seeds goes through run_seed (the train/validation split and the
    # fixed transfer subsets are data, seeded by data._sorted_perm's callers with fixed seeds)
    root = Path(__file__).resolve().parent.parent / "subclass_lib"
    for path in root.rglob("*.py"):
        for line in path.read_text().splitlines():
            if re.search(r"manual_seed\(|np\.random\.seed\(|random\.seed\(", line) and "run_seed(" not in line:
                assert path.name in ("train.py", "data.py"), (path, line)
