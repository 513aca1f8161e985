"""Training steps of every chapter against this machine's matrix-multiply rate (one thread).

    python benchmarks/bench_steps.py                  # this machine's own kernels
    ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \\
        python benchmarks/bench_steps.py              # as on a processor without AVX-512

The chapters train every model on one CPU thread (two models at a time on a 2-core machine), so
one thread is what is measured here. For each chapter's training step (the model, batch size and
loss that the chapter's recipe uses, through ``subclass_lib.train.fit``'s own inner loop: the
loss, ``zero_grad``, ``backward``, the step of its Adam) it prints milliseconds per step, the
matrix-multiply work of the step (forward and backward of every linear layer: 6 x batch x
weights), the rate that gives in GFLOP/s, and that rate as a fraction of this machine's measured
float32 matrix-multiply rate (a 1024 x 1024 product on one thread). A fraction near 1 means the
step is as fast as the processor's matrix kernels allow and only less work makes it faster; a low
fraction points at overhead around the products (small layers, the loss, data augmentation).

A second table asks whether both cores of a 2-core machine could speed up one model, for the steps
whose loss is a mean over examples (the students of chapters 1, 3 and 5; chapter 4's teacher loss is
not: its diversity term is a function of the whole batch, so halves would change the loss). It
times, per step: the whole batch on one thread (what the chapters do); the same batch on two MKL
threads; and the batch split into two fixed halves, each on one thread of its own (a thread pool of
two, torch's intra-op threads at one), their gradients summed in a fixed order, so the numbers are
the same whichever threads compute the halves. Rates are given as fractions of two cores'
matrix-multiply rate (twice the one-thread rate), and the split's gradients are checked to equal
the same halves computed one after the other.

Numbers to compare between machines and commits, printed beside the machine line; not a test.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import _machine  # benchmarks/_machine.py: the machine line every benchmark prints first
import torch

from subclass_lib import data as D
from subclass_lib import losses as L
from subclass_lib.experiments import subclass as S
from subclass_lib.experiments import subclass_students as SS
from subclass_lib.models import MLP
from subclass_lib.train import Adam


def _time(fn, reps: int, warmup: int = 10) -> float:
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def linear_flops(model: torch.nn.Module, rows: int) -> float:
    """Multiply-adds of forward and backward through every Linear layer, as FLOPs (6 x rows x weights)."""
    return float(sum(6 * rows * m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear)))


def step_runner(model, loss_fn, batch, extra=()):
    params = [p for m in (model, *extra) for p in m.parameters()]
    opt = Adam(params, lr=1e-3)  # fit's own optimizer
    constrain = getattr(model, "apply_constraints", None)

    def step():
        loss = loss_fn(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if constrain is not None:
            constrain()
    return step


def steps() -> list[tuple[str, torch.nn.Module, object, dict, int]]:
    """(name, model, loss, batch, rows through the network per step) of each chapter's step."""
    g = torch.Generator().manual_seed(0)

    def images(b):
        return torch.rand(b, 784, generator=g)

    out = []
    # chapter 1-2: the 2x1200 teacher (dropout, max-norm, 2-px jitter) and a 2x800 student distilled at T = 4
    teacher = MLP((1200, 1200), dropout=0.3, max_norm=3.5)
    tb = {"x": images(128), "y": torch.randint(0, 10, (128,), generator=g)}
    jit = torch.Generator().manual_seed(1)
    out.append(("ch1 teacher 784-1200-1200-10, batch 128, jitter 2 px", teacher,
                lambda m, b: L.cross_entropy(m(D.jitter(b["x"], 2, generator=jit)), b["y"]), tb, 128))
    student = MLP((800, 800))
    sb = {**tb, "t": torch.randn(128, 10, generator=g)}
    out.append(("ch1 student 784-800-800-10, batch 128, T = 4", student,
                lambda m, b: L.distillation_loss(m(b["x"]), b["t"], b["y"], 4.0, 0.5), sb, 128))
    # chapter 3: the 784-256-10 student on soft targets only
    out.append(("ch3 student 784-256-10, batch 128, T = 4", MLP((256,)),
                lambda m, b: L.distillation_loss(m(b["x"]), b["t"], b["y"], 4.0, 1.0), sb, 128))
    # chapter 4: the default teacher (diversity loss + view consistency: the batch and its views)
    cfg = S.SubclassConfig()
    sub = {"x": images(cfg.batch_size), "y": torch.randint(0, 2, (cfg.batch_size,), generator=g)}
    out.append(("ch4 teacher 784-256-10, batch 256, diversity + view consistency", MLP((256,), out_dim=10),
                S.teacher_loss_fn(cfg), sub, 2 * cfg.batch_size))
    demo = S.SubclassConfig.demo()
    dsub = {"x": images(demo.batch_size), "y": torch.randint(0, 2, (demo.batch_size,), generator=g)}
    out.append(("ch4 demo teacher 784-256-10, batch 128, diversity only", MLP((256,), out_dim=10),
                S.teacher_loss_fn(demo), dsub, demo.batch_size))
    # chapter 5: a 784-128-128 subclass-distillation student (the recipe's own loss)
    scfg = SS.StudentsConfig()
    st = {"x": images(scfg.batch_size), "y": torch.randint(0, 2, (scfg.batch_size,), generator=g),
          "teacher_logits": torch.randn(scfg.batch_size, 10, generator=g)}
    out.append((f"ch5 student 784-128-128-10, batch {scfg.batch_size}, subclass distillation",
                MLP(scfg.student_hidden, out_dim=10), SS.student_loss_fn("subclass_distillation", scfg), st,
                scfg.batch_size))
    return out


def split_step_runner(model, loss_fn, batch, pool: ThreadPoolExecutor | None):
    """One step with the batch split into two fixed halves; each half's gradient (its loss scaled by
    its share of the batch) computed by ``torch.autograd.grad`` on a thread of ``pool`` (None: one
    after the other here), summed half 0 + half 1. Returns (step, gradients of one step)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = Adam(params, lr=1e-3)
    n = len(batch["x"])
    halves = [{k: v[i * n // 2:(i + 1) * n // 2] for k, v in batch.items()} for i in (0, 1)]

    def grad(half):
        return torch.autograd.grad(loss_fn(model, half) * (len(half["x"]) / n), params)

    def grads():
        g0, g1 = pool.map(grad, halves) if pool is not None else map(grad, halves)
        return [a + b for a, b in zip(g0, g1)]

    def step():
        for p, g in zip(params, grads()):
            p.grad = g
        opt.step()
    return step, grads


def both_cores(reps: int, peak: float) -> None:
    """The second table: one model on both cores (see the module's docstring)."""
    two = 2 * peak
    print(f"\none model on both cores (rates as a fraction of two cores' matmul rate, {two:.0f} GFLOP/s)")
    print(f"{'training step':52s} {'1 thread':>9s} {'2 threads':>10s} {'halves':>8s} {'same':>5s}")
    pool = ThreadPoolExecutor(2)
    for name, model, loss_fn, batch, rows in steps():
        if "student" not in name:
            continue
        flops = linear_flops(model, rows)
        torch.manual_seed(0)
        one = _time(step_runner(model, loss_fn, batch), reps)
        torch.set_num_threads(2)
        mkl2 = _time(step_runner(model, loss_fn, batch), reps)
        torch.set_num_threads(1)
        step, grads = split_step_runner(model, loss_fn, batch, pool)
        halves = _time(step, reps)
        same = all(torch.equal(a, b) for a, b in
                   zip(grads(), split_step_runner(model, loss_fn, batch, None)[1]()))
        cells = [f"{1e3 * t:5.2f} ms {flops / t / 1e9 / two:4.0%}" for t in (one, mkl2, halves)]
        print(f"{name[:52]:52s} " + "  ".join(cells) + f"  {'yes' if same else 'NO'}", flush=True)
    pool.shutdown()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=200, help="steps timed per model")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(_machine.describe())
    print(_machine.reference_line(_machine.one_thread_gflops()), flush=True)
    peak = _machine.matmul_gflops(rounds=3)
    print(f"float32 matrix multiply, one thread: {peak:.1f} GFLOP/s\n")
    print(f"{'training step':64s} {'ms/step':>8s} {'GFLOP':>7s} {'GFLOP/s':>8s} {'of matmul':>9s}")
    for name, model, loss_fn, batch, rows in steps():
        torch.manual_seed(0)
        sec = _time(step_runner(model, loss_fn, batch), args.reps)
        flops = linear_flops(model, rows)
        rate = flops / sec / 1e9
        print(f"{name:64s} {1e3 * sec:8.2f} {flops / 1e9:7.3f} {rate:8.1f} {rate / peak:9.0%}", flush=True)
    both_cores(args.reps, peak)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
