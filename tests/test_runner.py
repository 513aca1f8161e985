"""runner.Job and runner.run_all: what is trained, in which order, and where."""

from __future__ import annotations

import pytest
import torch

from subclass_lib import runner as R
from subclass_lib.train import History

TRAINED: list[str] = []


def _tiny(name: str, size: int) -> None:
    """A module-level job function: 'train' a linear layer into the cache."""
    def train_fn(model):
        TRAINED.append(f"{name}/{size}")
        with torch.no_grad():
            model.weight.fill_(size)
        return History(loss=[0.0])
    R.load_or_train(name, {"size": size}, lambda: torch.nn.Linear(size, 1), train_fn)


def job(name: str, size: int, needs=()) -> R.Job:
    return R.Job(_tiny, (name, size), entries=((name, {"size": size}),), cost=size, needs=tuple(needs))


def fake_workers(handed: list):
    """Stands for runner.run_in_workers: records what it was handed, and after which jobs (it takes
    two jobs or more)."""
    def run(fn, jobs, n, after=None, **kw):
        if len(jobs) < 2:
            return False
        handed.extend((j[1], sorted(jobs[k][1] for k in (after[i] if after else ()))) for i, j in enumerate(jobs))
        return True
    return run


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path))
    R.clear_memory_cache()
    TRAINED.clear()
    yield
    R.clear_memory_cache()


def test_missing_jobs_go_to_the_workers_once_each_longest_first(monkeypatch):
    handed = []
    monkeypatch.setattr(R, "run_in_workers", fake_workers(handed))
    _tiny("a", 5)  # already in the cache
    jobs = [job("a", 2), job("a", 5), job("a", 9), job("a", 2)]
    assert R.run_all(jobs, workers=2, device="cpu") == 2
    assert handed == [(("a", 9), []), (("a", 2), [])]


def test_prerequisites_first_and_not_twice(monkeypatch):
    handed = []
    monkeypatch.setattr(R, "run_in_workers", fake_workers(handed))
    teacher = job("teacher", 3)
    students = [job("student", s, needs=[teacher]) for s in (1, 2)]
    other = job("other", 7)
    assert R.run_all([*students, other, teacher], workers=2, device="cpu") == 4
    # the teacher once, first; the students after it; the job that needs nothing alongside
    assert handed == [(("teacher", 3), []), (("other", 7), []), (("student", 2), [("teacher", 3)]),
                      (("student", 1), [("teacher", 3)])]


def test_here_trains_in_this_process_and_the_jobs_are_then_cached():
    jobs = [job("s", 1, needs=[job("t", 4)]), job("s", 2, needs=[job("t", 4)])]
    assert R.run_all(jobs, workers=1, here=True) == 0
    assert TRAINED == ["t/4", "s/2", "s/1"]
    assert all(j.done() for j in jobs)
    assert R.run_all(jobs, workers=1, here=True) == 0 and len(TRAINED) == 3  # nothing left to do


def test_the_pool_starts_a_job_after_the_jobs_it_needs(monkeypatch):
    """run_in_workers itself (real worker processes): the students start after their teacher."""
    jobs = [job("t", 3), job("s", 1, needs=[job("t", 3)]), job("s", 2, needs=[job("t", 3)]), job("o", 5)]
    assert R.run_all(jobs, workers=2, device="cpu") == 4
    assert all(j.done() for j in jobs)
    with pytest.raises(ValueError, match="cycle"):
        R.run_in_workers(_tiny, [("c", 1), ("c", 2)], 2, after=[{1}, {0}])
    with pytest.raises(ValueError, match="indices"):
        R.run_in_workers(_tiny, [("c", 1)], 2, after=[{0}])


def test_without_here_one_worker_runs_nothing():
    assert R.run_all([job("s", 1), job("s", 2)], workers=1) == 0
    assert TRAINED == []


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="workers"):
        R.run_all([job("s", 1)], workers=0)
    with pytest.raises(ValueError, match="runner.Job"):
        R.run_all([("s", 1)], workers=2)
