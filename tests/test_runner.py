"""runner.Spec and runner.train_many: what is trained, in which order, where, and with which numbers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import joblib
import pytest
import torch

from subclass_lib import cache
from subclass_lib import runner as R
from subclass_lib.models import MLP
from subclass_lib.train import FitConfig, fit, seed_everything


@dataclass(frozen=True)
class Tiny(R.Spec):
    """A model of ``size`` hidden units trained on seeded random data; each training appends its
    label to the file ``log`` (from whichever process trains it)."""

    name: ClassVar[str] = "tiny"
    size: int
    log: str
    seed: int = 0
    teacher: "Tiny | None" = None

    def needs(self):
        return (self.teacher,) if self.teacher is not None else ()

    def cost(self) -> float:
        return float(self.size)

    def build(self):
        seed_everything(self.seed)
        return MLP((self.size,), 10)

    def fit(self, model, needs, device, callback):
        with open(self.log, "a") as f:
            f.write(f"{self.size}:{os.getpid()}\n")
        if self.teacher is not None:  # its teacher is trained and handed over
            assert len(needs) == 1 and isinstance(needs[0], MLP)
        g = torch.Generator().manual_seed(self.seed)
        data = {"x": torch.rand(256, 784, generator=g), "y": torch.randint(0, 10, (256,), generator=g)}
        return fit(model, lambda m, b: torch.nn.functional.cross_entropy(m(b["x"]), b["y"]), data,
                   FitConfig(epochs=2, batch_size=32, seed=self.seed, device=device), verbose=False, callback=callback)


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    R.clear_memory_cache()
    yield
    R.clear_memory_cache()


def trained(log: Path) -> list[int]:
    return [int(line.split(":")[0]) for line in log.read_text().split()] if log.exists() else []


def weights(t: R.Trained) -> list[torch.Tensor]:
    return list(t.model.state_dict().values())


def assert_same_as_here(trained: list, specs: list, tmp_path: Path) -> None:
    """``trained`` has the weights of the same specs trained again, one after another, in this process."""
    R.clear_memory_cache()
    for p in (tmp_path / "models").iterdir():
        p.unlink()
    for x, y in zip(trained, R.train_many(specs, workers=1)):
        assert all(torch.equal(u, v) for u, v in zip(weights(x), weights(y)))


def test_train_many_trains_what_is_missing_once_and_returns_every_model_in_order(tmp_path):
    log = tmp_path / "log"
    a, b = Tiny(8, str(log)), Tiny(16, str(log))
    out = R.train_many([a, b, a], workers=1)
    assert sorted(trained(log)) == [8, 16]  # the duplicate once
    assert [w.shape for w in weights(out[0])] == [w.shape for w in weights(out[2])]
    assert all(torch.equal(x, y) for x, y in zip(weights(out[0]), weights(out[2])))
    again = R.train_many([b, a], workers=1)
    assert sorted(trained(log)) == [8, 16] and all(t.from_cache for t in again)  # nothing left to do
    assert R.is_cached(a) and cache.cached_path(a).name.startswith("tiny-")


def test_needed_specs_train_first_and_the_others_beside_them(tmp_path):
    log = tmp_path / "log"
    teacher = Tiny(32, str(log))
    students = [Tiny(8, str(log), seed=s, teacher=teacher) for s in (1, 2)]
    other = Tiny(16, str(log))
    R.train_many([*students, other], workers=1)
    order = trained(log)
    assert order.index(32) < order.index(8) and sorted(order) == [8, 8, 16, 32]


def test_workers_give_the_numbers_of_a_run_in_this_process(tmp_path):
    """Real loky worker processes: the same weights as training one after another here."""
    log = tmp_path / "log"
    teacher = Tiny(32, str(log))
    specs = [teacher] + [Tiny(8, str(log), seed=s, teacher=teacher) for s in (1, 2, 3)]
    parallel = R.train_many(specs, workers=2, device="cpu")
    pids = {line.split(":")[1] for line in log.read_text().split() if line.startswith("8:")}
    assert len(pids) == 2 and str(os.getpid()) not in pids  # the students in two workers (the teacher alone: here)
    assert_same_as_here(parallel, specs, tmp_path)


@pytest.mark.parametrize("backend", ["sequential", "loky"])
def test_another_joblib_backend_gives_the_same_numbers(tmp_path, backend):
    """What a cluster backend (Dask, Ray) would do, on this machine: joblib's backend switch."""
    log = tmp_path / "log"
    specs = [Tiny(8, str(log), seed=s) for s in (1, 2, 3)]
    with joblib.parallel_config(backend=backend):
        switched = R.train_many(specs, workers=2, device="cpu")
    assert_same_as_here(switched, specs, tmp_path)


def test_on_epoch_follows_the_first_missing_spec_in_this_process(tmp_path):
    log = tmp_path / "log"
    first, second = Tiny(8, str(log), seed=1), Tiny(16, str(log), seed=2)
    seen = []
    R.train_many([first, second], workers=2, device="cpu",
                 on_epoch=lambda spec, model, epoch, epochs, hist: seen.append((spec, epoch, epochs, len(hist.loss))))
    assert seen == [(first, 1, 2, 1), (first, 2, 2, 2)]
    by_size = dict(line.split(":") for line in log.read_text().split())
    assert by_size["8"] == str(os.getpid()) != by_size["16"]  # the other trained beside it


def test_without_the_cache_every_spec_and_need_trains_once_here(tmp_path):
    log = tmp_path / "log"
    teacher = Tiny(32, str(log))
    out = R.train_many([Tiny(8, str(log), seed=s, teacher=teacher) for s in (1, 2)], use_cache=False)
    assert sorted(trained(log)) == [8, 8, 32] and not any(t.from_cache for t in out)
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


def test_the_threading_backend_is_refused(tmp_path):
    """Threads share torch's random generator (a model's initial weights, dropout): refused, clearly."""
    with joblib.parallel_config(backend="threading"), pytest.raises(ValueError, match="threading"):
        R.train_many([Tiny(8, str(tmp_path / "log"), seed=s) for s in (1, 2)], workers=2, device="cpu")


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="workers"):
        R.train_many([Tiny(8, str(tmp_path / "log"))], workers=0)
    with pytest.raises(ValueError, match="runner.Spec"):
        R.train_many([("s", 1)], workers=2)
