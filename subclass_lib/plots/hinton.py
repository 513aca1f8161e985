"""Figures of chapters 1-2: soft targets, T^2, temperature sweeps, the mythical 3 and bias shifts.

Every function takes plain numbers (what the recipes in :mod:`subclass_lib.experiments.hinton`,
:mod:`~subclass_lib.experiments.hinton_sweeps` and :mod:`~subclass_lib.experiments.mythical3`
return) and returns a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..models import hidden_label
from .common import figure_and_axes, finish

__all__ = [
    "distillation_figure", "mythical3_figure",
    "soft_target_bars", "soft_target_entropy", "gradient_scaling", "temperature_sweep_plot", "alpha_sweep_plot",
    "accuracy_bars", "per_class_bars", "bias_sweep_plot", "mythical3_sweep_plot", "mythical3_alpha_and_digits",
]


def _np(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def soft_target_bars(images, labels, probs_by_T: Mapping[float, object], title: str | None = None):
    """For each example (row): its image, then the teacher's probabilities at each T (bars)."""
    images, labels = _np(images), _np(labels)
    temps = list(probs_by_T)
    n = len(labels)
    fig, axes = plt.subplots(n, 1 + len(temps), figsize=(2.0 + 2.4 * len(temps), 2.1 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [0.8] + [1.0] * len(temps)})
    for i in range(n):
        ax = axes[i, 0]
        ax.imshow(images[i].reshape(28, 28), cmap="gray_r")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_ylabel(f"a {int(labels[i])}", rotation=0, labelpad=16, fontsize=10)
        for j, T in enumerate(temps):
            p = _np(probs_by_T[T])[i]
            ax = axes[i, j + 1]
            colors = ["C0" if d == int(labels[i]) else "C1" for d in range(10)]
            ax.bar(range(10), p, color=colors)
            ax.set_ylim(0, 1.0 if T == min(temps) else max(0.05, float(p.max()) * 1.15))
            ax.set_xticks(range(10))
            ax.tick_params(labelsize=9)
            # the two largest wrong classes, the "dark knowledge", above the panel (never over a bar)
            wrong = sorted((d for d in range(10) if d != int(labels[i])), key=lambda d: -p[d])[:2]
            ax.set_title("  ".join(f"{d}: {p[d]:.2g}" for d in wrong), fontsize=9, color="C1", pad=3)
            if i == 0:
                ax.annotate(f"T = {T:g}", (0.5, 1.0), xycoords="axes fraction", xytext=(0, 16),
                            textcoords="offset points", ha="center", va="bottom", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def soft_target_entropy(temperatures: Sequence[float], entropies: Sequence[float],
                           marks: Sequence[float] = (1, 4, 20)):
    """Mean entropy (bits) of the soft targets over the test set as T grows."""
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    ax.plot(temperatures, entropies, marker="o", ms=3)
    ax.axhline(np.log2(10), color="gray", ls="--", lw=1, label="uniform over 10 digits (3.32 bits)")
    low = 0.1 * np.log2(10)  # a mark this close to the x axis is labelled above its point
    for T in marks:
        h = float(np.interp(T, temperatures, entropies))
        ax.annotate(f"T={T:g}: {h:.2f}", (T, h), textcoords="offset points", xytext=(4, 6 if h < low else -12),
                    fontsize=9)
    ax.set_xscale("log")
    ax.set(xlabel="temperature T", ylabel="mean entropy of soft targets (bits)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def gradient_scaling(norms: Mapping[str, Sequence[float]]):
    """Gradient norm w.r.t. the student logits vs T: raw (shrinks like 1/T^2) and times T^2."""
    T = np.asarray(norms["T"], dtype=float)
    raw, scaled = np.asarray(norms["raw"]), np.asarray(norms["scaled"])
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    ax.plot(T, raw, marker="o", ms=3, label="plain soft cross-entropy")
    ax.plot(T, scaled, marker="s", ms=3, label="times $T^2$ (soft_cross_entropy)")
    ref = raw[-1] * (T[-1] / T) ** 2
    ax.plot(T, ref, ls=":", color="gray", label="$\\propto 1/T^2$")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set(xlabel="temperature T", ylabel="gradient norm w.r.t. student logits")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def _student_lines(ax, xs, sweep: Mapping, distilled_label, hard_label) -> int:
    """One line of distilled students over ``xs`` and one dashed hard-label baseline per student
    size of a sweep; with several seeds, means with error bars of one std and a +- one std band
    around the baseline. Returns the number of seeds."""
    n = len(sweep.get("seeds", [0]))
    for i, h in enumerate(sweep["distilled"]):
        c = f"C{i}"
        if n > 1:
            ax.errorbar(xs, sweep["distilled"][h], yerr=sweep["distilled_std"][h], marker="o", ms=4, color=c,
                        capsize=3, label=distilled_label(h))
            m, sd = sweep["hard"][h], sweep["hard_std"][h]
            ax.axhspan(m - sd, m + sd, color=c, alpha=0.12, lw=0)
        else:
            ax.plot(xs, sweep["distilled"][h], marker="o", ms=4, color=c, label=distilled_label(h))
        ax.axhline(sweep["hard"][h], color=c, ls="--", lw=1, label=hard_label(h))
    return n


def temperature_sweep_plot(sweep: Mapping, point: Mapping | None = None, title: str | None = None, ax=None):
    """Distilled-student test accuracy vs T, one line per student size, hard-label baselines dashed.

    ``sweep`` is what :func:`subclass_lib.experiments.hinton_sweeps.temperature_sweep` returns;
    ``point`` (``{"T", "hidden", "accuracy"}``, ``hidden`` a label such as ``"2x800"``) marks one setting, e.g. a slider's. With more
    than one seed the points are means with error bars of one standard deviation, and the band
    around each dashed line is the hard-label student's mean +- one standard deviation.
    """
    T = sweep["T"]
    fig, ax, own = figure_and_axes(ax, (5.6, 3.6))
    n = _student_lines(ax, T, sweep, lambda h: f"distilled, {h}", lambda h: f"hard labels, {h}")
    if point is not None:
        ax.plot([point["T"]], [point["accuracy"]], marker="*", ms=14, color="k", ls="none",
                label=f"this setting ({point['hidden']})")
    ax.set_xscale("log")
    ax.set_xticks(T, [f"{t:g}" for t in T])
    ax.set(xlabel="temperature T", ylabel="test accuracy")
    seeds = f" (mean ± std of {n} seeds)" if n > 1 else ""
    ax.set_title(title or f"students distilled at alpha = {sweep.get('alpha', 0.5):g}{seeds}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, ncol=2)
    if own:
        fig.tight_layout()
    return fig


def alpha_sweep_plot(sweep: Mapping, title: str | None = None, ax=None, point: Mapping | None = None):
    """Distilled-student test accuracy vs the task balance alpha (what
    :func:`subclass_lib.experiments.hinton_sweeps.alpha_sweep` returns), one line per student size,
    with the hard-label baselines dashed; means +- one std when there are several seeds. ``point``
    (``{"alpha", "hidden", "accuracy"}``) marks one setting, as in :func:`temperature_sweep_plot`."""
    alphas = sweep["alpha"]
    fig, ax, own = figure_and_axes(ax, (5.6, 3.6))
    n = _student_lines(ax, alphas, sweep, lambda h: f"{h} distilled, T = {sweep['T']:g}",
                       lambda h: f"{h} hard labels")
    if point is not None:
        ax.plot([point["alpha"]], [point["accuracy"]], marker="*", ms=14, color="k", ls="none",
                label=f"this setting ({point['hidden']})")
    seeds = f" (mean ± std of {n} seeds)" if n > 1 else ""
    ax.set(xlabel="alpha (weight of the soft targets)", ylabel="test accuracy")
    ax.set_title(title or f"students over alpha{seeds}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    if own:
        fig.tight_layout()
    return fig


def accuracy_bars(result: Mapping, names: Sequence[str] = ("teacher", "small", "distilled"),
                  reference: Mapping[str, float] | None = None, ax=None, title: str | None = None):
    """Test accuracy of each model in ``result`` (a recipe's dict), beside ``reference``."""
    fig, ax, own = figure_and_axes(ax, (4.6, 3.2))
    x = np.arange(len(names))
    w = 0.38 if reference else 0.6
    vals = [result[n]["test_accuracy"] for n in names]
    bars = ax.bar(x - (w / 2 if reference else 0), vals, w, label="this book")
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.4f}", ha="center", va="bottom", fontsize=9)
    if reference:
        ax.bar(x + w / 2, [reference.get(n, np.nan) for n in names], w, color="lightgray",
               edgecolor="gray", label="write-up")
        ax.legend(fontsize=9, loc="lower right")
    lo = min(vals + [v for v in (reference or {}).values() if v == v])
    ax.set_ylim(max(0.0, lo - 0.03), 1.0)
    ax.set_xticks(x, names)
    ax.set_ylabel("test accuracy")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if own:
        fig.tight_layout()
    return fig


def per_class_bars(per_class: Mapping[str, Sequence[float]], omit: Sequence[int] = (), title: str | None = None):
    """Test accuracy on each digit, one bar group per digit; omitted digits shaded."""
    names = list(per_class)
    fig, ax = plt.subplots(figsize=(7.2, 3.3))
    w = 0.8 / len(names)
    for i, n in enumerate(names):
        ax.bar(np.arange(10) + (i - (len(names) - 1) / 2) * w, per_class[n], w, label=n)
    for d in omit:
        ax.axvspan(d - 0.45, d + 0.45, color="gold", alpha=0.25, lw=0)
    ax.set_xticks(range(10))
    ax.set(xlabel="digit" + (" (shaded: not in the transfer set)" if omit else ""), ylabel="test accuracy",
           ylim=(0, 1.22))
    ax.set_yticks(np.linspace(0, 1, 6))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=9, ncol=len(names), loc="upper center")
    fig.tight_layout()
    return fig


def bias_sweep_plot(sweep: Mapping, chosen: float | None = None, reference: float | None = 3.5,
                    omit_label: str = "3", title: str | None = None):
    """Accuracy overall and on the omitted digit(s) vs the bias shift; the automatic and the
    source's shift marked."""
    fig, ax = plt.subplots(figsize=(5.6, 3.5))
    ax.plot(sweep["shift"], sweep["test_accuracy"], marker="o", ms=3, label="all test digits")
    ax.plot(sweep["shift"], sweep["accuracy_on_omitted"], marker="s", ms=3, label=f"test {omit_label}s")
    if chosen is not None:
        ax.axvline(chosen, color="k", ls="--", lw=1, label=f"automatic shift {chosen:.2f}")
    if reference is not None:
        ax.axvline(reference, color="gray", ls=":", lw=1.5, label=f"Hinton et al.: {reference:g}")
    ax.set(xlabel=f"bias shift of {omit_label}", ylabel="test accuracy", ylim=(0, 1.02))
    return finish(fig, ax, title)


def mythical3_sweep_plot(sweep: Mapping, omit_label: str = "3", title: str | None = None):
    """Distilled student without the omitted digit(s), vs T: accuracy on them and overall,
    before and after the automatic bias shift."""
    T = sweep["T"]
    fig, ax = plt.subplots(figsize=(5.6, 3.5))
    ax.plot(T, sweep["accuracy_on_omitted"], marker="s", ms=4, color="C1", label=f"on {omit_label}s")
    ax.plot(T, sweep["adjusted_accuracy_on_omitted"], marker="s", ms=4, color="C1", ls="--",
            label=f"on {omit_label}s, bias shifted")
    ax.plot(T, sweep["test_accuracy"], marker="o", ms=4, color="C0", label="all digits")
    ax.plot(T, sweep["adjusted_test_accuracy"], marker="o", ms=4, color="C0", ls="--",
            label="all digits, bias shifted")
    ax.set_xscale("log")
    ax.set_xticks(T, [f"{t:g}" for t in T])
    ax.set(xlabel="temperature T", ylabel="test accuracy", ylim=(0, 1.02))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def mythical3_alpha_and_digits(alphas: Sequence[float], by_alpha: Sequence[Mapping], digits: Sequence[int],
                               by_digit: Sequence[Mapping]):
    """Chapter 2's two sweeps side by side (:func:`~subclass_lib.experiments.mythical3.run_mythical3`
    results): left, the distilled student's accuracy on the omitted 3s over alpha, before and after
    the bias shift; right, for each omitted digit, the three students' accuracy on it."""
    fig, axes = plt.subplots(2, 1, figsize=(6.8, 7.0))  # stacked: each panel across the column
    kinds = (("hard_labels", "hard labels", "C0"), ("distilled", "distilled", "C1"),
             ("distilled_bias_adjusted", "distilled, shifted", "C2"))  # one colour per student in both panels
    for key, label, color in kinds[1:]:
        axes[0].plot(alphas, [r[key]["accuracy_on_omitted"] for r in by_alpha], marker="o", label=label, color=color)
    axes[0].set(xlabel="alpha", ylabel="accuracy on the omitted 3s", title="3s left out: the alpha slider")
    xs = np.arange(len(digits))
    for k, (key, label, color) in enumerate(kinds):
        bars = axes[1].bar(xs + (k - 1) * 0.27, [r[key]["accuracy_on_omitted"] for r in by_digit], width=0.27,
                           label=label, color=color)
        if key == "hard_labels":  # bars of height 0 would not show: print their values
            axes[1].bar_label(bars, fmt="%.2f", fontsize=8, color=color, padding=2)
    axes[1].set(xticks=xs, xticklabels=[str(d) for d in digits], xlabel="omitted digit",
                ylabel="accuracy on the omitted digit", title="one digit left out", ylim=(0, 1.0))
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=9, loc="lower right")
    # the bars reach 1: the legend goes under the axes, not over them
    axes[1].legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def distillation_figure(result: Mapping, sweep: Mapping | None = None):
    """The figure of :func:`distillation_panel` for one setting (a :func:`~subclass_lib.experiments.hinton.run_hinton`
    result): the three accuracies as bars, titled with the setting, and, with ``sweep``, the
    distilled student as a star on the precomputed sweep: a temperature sweep, or an alpha sweep
    (:func:`~subclass_lib.experiments.hinton_sweeps.alpha_sweep`, whose ``"T"`` is one number)."""
    c = result["config"]
    d = result["distilled"]
    fig, axes = plt.subplots(1, 2 if sweep else 1, figsize=(8.4 if sweep else 5, 3.6), squeeze=False)
    title = f"students {hidden_label(c['student_hidden'])}, T={c['temperature']:g}, alpha={c['alpha']:g}"
    if "epochs_done" in d:  # a preview: the distilled student part way through its training
        title += f"\ndistilled after {d['epochs_done']} of {d['epochs']} epochs (still training)"
    accuracy_bars(result, names=[n for n in ("teacher", "small", "distilled") if result.get(n) is not None],
                  reference=None, ax=axes[0, 0], title=title)
    if sweep:
        point = {"hidden": hidden_label(c["student_hidden"]), "accuracy": result["distilled"]["test_accuracy"]}
        if isinstance(sweep["T"], (list, tuple)):
            temperature_sweep_plot(sweep, ax=axes[0, 1], title="this setting on the precomputed sweep",
                                   point={**point, "T": c["temperature"]})
        else:  # an alpha sweep
            alpha_sweep_plot(sweep, ax=axes[0, 1], title="this setting on the precomputed sweep",
                             point={**point, "alpha": c["alpha"]})
    fig.tight_layout()
    return fig


def mythical3_figure(r: Mapping):
    """The figure of :func:`mythical3_panel` for one setting (a :func:`~subclass_lib.experiments.mythical3.run_mythical3`
    result, possibly still without its hard-label student): per-digit test accuracy of the
    three students, titled with the setting and the accuracies on the omitted digits and on all."""
    c = r["config"]
    omit = c["omit"]
    h, a = r["hard_labels"], r["distilled_bias_adjusted"]
    per = {k: r["per_class"][k] for k in ("hard_labels", "distilled", "distilled_bias_adjusted")
           if r["per_class"][k] is not None}
    title = (f"omitted {', '.join(map(str, omit))}, T={c['temperature']:g}, alpha={c['alpha']:g}: on them hard "
             + (f"{h['accuracy_on_omitted']:.3f}" if h else "(training...)")
             + f", distilled {r['distilled']['accuracy_on_omitted']:.3f}, "
             f"bias +{a['bias_shift']:.2f}: {a['accuracy_on_omitted']:.3f}\nall digits: hard "
             + (f"{h['test_accuracy']:.3f}" if h else "-")
             + f", distilled {r['distilled']['test_accuracy']:.3f}, shifted {a['test_accuracy']:.3f}")
    if "epochs_done" in r["distilled"]:  # a preview: the distilled student part way through its training
        title += f"\n(distilled after {r['distilled']['epochs_done']} of {r['distilled']['epochs']} epochs; still training)"
    fig = per_class_bars(per, omit=omit, title=title)
    fig.axes[0].title.set_fontsize(9)
    return fig
