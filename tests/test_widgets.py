"""The shared slider panel: memo by values, clear messages for invalid settings, interrupt safety."""

from __future__ import annotations

import ipywidgets as W
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from subclass_lib.widgets.common import KERNEL_NOTE, retrain_panel  # noqa: E402


def _parts(box):
    button = next(c for hb in box.children if isinstance(hb, W.HBox) for c in hb.children if isinstance(c, W.Button))
    bar = next(c for hb in box.children if isinstance(hb, W.HBox) for c in hb.children
               if isinstance(c, W.FloatProgress))
    status = [c for c in box.children if isinstance(c, W.HTML)][-1]
    return button, bar, status


def test_panel_runs_memoises_and_reports_progress():
    calls = []

    def run(progress, T, alpha):
        calls.append((T, alpha))
        progress(0.5, "half way")
        return {"T": T, "alpha": alpha}

    shown = []
    t, a = W.FloatSlider(value=4.0, min=1, max=20), W.FloatSlider(value=0.5, min=0, max=1)
    box = retrain_panel({"T": t, "alpha": a}, run, lambda r: shown.append(r) or "shown")
    button, bar, status = _parts(box)
    assert calls == [(4.0, 0.5)] and bar.value == 1.0 and "done" in status.value
    t.value = 8.0
    button.click()
    t.value = 4.0
    button.click()  # seen before: no retrain
    assert calls == [(4.0, 0.5), (8.0, 0.5)]
    assert "cache" in status.value
    assert [r["T"] for r in shown] == [4.0, 8.0, 4.0]
    assert any(isinstance(c, W.HTML) and c.value == KERNEL_NOTE for c in box.children)


def test_invalid_setting_shows_a_message_not_a_traceback():
    def run(progress, T):
        if T <= 0:
            raise ValueError("T must be > 0")
        return T

    t = W.FloatSlider(value=0.0, min=-1, max=5)
    box = retrain_panel({"T": t}, run, lambda r: None)
    button, _, status = _parts(box)
    assert "Invalid setting" in status.value and "T must be &gt; 0" in status.value
    assert not button.disabled
    t.value = 2.0
    button.click()
    assert "done" in status.value


def test_interrupted_retrain_leaves_the_panel_usable():
    state = {"interrupt": True}

    def run(progress, n):
        if state["interrupt"]:
            raise KeyboardInterrupt
        return n

    n = W.IntSlider(value=1)
    box = retrain_panel({"n": n}, run, lambda r: plt.figure())
    button, _, status = _parts(box)
    assert "Interrupted" in status.value and not button.disabled
    state["interrupt"] = False
    button.click()  # the interrupted setting was not memoised: it runs now
    assert "done" in status.value


def test_panel_needs_controls():
    with pytest.raises(ValueError):
        retrain_panel({}, lambda progress: None, lambda r: None)


def test_preview_shows_a_partial_result_before_the_final_one():
    shown = []

    def run(progress, preview, T):
        preview({"T": T, "part": "first"})
        assert shown[-1]["part"] == "first"  # rendered before run returns
        return {"T": T, "part": "all"}

    t = W.FloatSlider(value=4.0, min=1, max=20)
    box = retrain_panel({"T": t}, run, lambda r: shown.append(r) or "shown")
    _, _, status = _parts(box)
    assert [r["part"] for r in shown] == ["first", "all"] and "done" in status.value


def test_distillation_static_panels_show_the_live_panels_figure_for_every_setting(tmp_path, monkeypatch):
    from subclass_lib import widgets
    from subclass_lib.experiments import hinton as H

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    cfg = H.HintonConfig(teacher_hidden=16, student_hidden=12, epochs_teacher=1, epochs_student=1,
                         train_subset=300, jitter=0, device="cpu")
    sweep = H.temperature_sweep(cfg, temperatures=(1, 4), hiddens=(12, 8), verbose=False)
    alpha = H.alpha_sweep(cfg, alphas=(0.0, 0.5), hiddens=(12, 8), verbose=False)
    box = widgets.distillation_static_panels(cfg, sweep, alpha)
    over_T, over_alpha = box.children
    assert [s.description for s in over_T.sliders] == ["student", "T"]
    assert [s.description for s in over_alpha.sliders] == ["student", "alpha"]
    assert set(over_T.settings) == {(h, T) for h in (12, 8) for T in (1.0, 4.0)}
    assert set(over_alpha.settings) == {(h, a) for h in (12, 8) for a in (0.0, 0.5)}
    # the default is the chapter's setting: its student size at cfg.temperature / cfg.alpha
    assert over_T.sliders[0].value == 12 and over_T.sliders[1].value == 4.0
    assert len({over_T.png[s] for s in over_T.settings}) == 4  # one distinct figure per setting
