"""The shared slider panel: memo by values, clear messages for invalid settings, interrupt safety."""

from __future__ import annotations

from dataclasses import replace

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
    from subclass_lib.experiments import hinton_sweeps

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    cfg = H.HintonConfig(teacher_hidden=(16, 16), student_hidden=(12, 12), teacher_epochs=1, student_epochs=1,
                         transfer_size=300, jitter=0, device="cpu")
    sweep = hinton_sweeps.temperature_sweep(cfg, temperatures=(1, 4), hiddens=((12, 12), (8, 8)), verbose=False)
    alpha = hinton_sweeps.alpha_sweep(cfg, alphas=(0.0, 0.5), hiddens=((12, 12), (8, 8)), verbose=False)
    box = widgets.distillation_static_panels(cfg, sweep, alpha)
    over_T, over_alpha = box.children
    assert [s.description for s in over_T.sliders] == ["student", "T"]
    assert [s.description for s in over_alpha.sliders] == ["student", "alpha"]
    assert set(over_T.settings) == {(h, T) for h in ("2x12", "2x8") for T in (1.0, 4.0)}
    assert set(over_alpha.settings) == {(h, a) for h in ("2x12", "2x8") for a in (0.0, 0.5)}
    # the default is the chapter's setting: its student size at cfg.temperature / cfg.alpha
    assert over_T.sliders[0].value == "2x12" and over_T.sliders[1].value == 4.0
    assert len({over_T.png[s] for s in over_T.settings}) == 4  # one distinct figure per setting
    # each panel puts its setting on the sweep its slider moves along: the alpha panel on the alpha sweep
    from subclass_lib.plots import distillation_figure
    c = replace(cfg, student_hidden=(8, 8), alpha=0.0)
    assert _same_png(over_alpha, ("2x8", 0.0), distillation_figure(H.run_hinton(c, verbose=False), alpha))
    star = distillation_figure(H.run_hinton(c, verbose=False), alpha).axes[1].lines[-1]
    assert list(star.get_xdata()) == [0.0] and star.get_marker() == "*"


def _same_png(panel, setting, fig):
    """The panel's stored figure for ``setting`` is ``fig`` (rendered the way the panel renders)."""
    from subclass_lib.widgets.static import STATIC_PANEL_DPI, figure_png
    return panel.png[setting] == figure_png(fig, "", STATIC_PANEL_DPI, True)


def test_mythical3_static_panels_cover_digit_T_and_alpha(tmp_path, monkeypatch):
    from subclass_lib import widgets
    from subclass_lib.experiments import mythical3 as M

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    cfg = M.Mythical3Config(teacher_hidden=(16, 16), student_hidden=(12, 12), teacher_epochs=1, student_epochs=1,
                            transfer_size=300, jitter=0, device="cpu", temperature=4.0, alpha=0.5)
    box = widgets.mythical3_static_panels(cfg, digits=(1, 3), temperatures=(1.0, 4.0), alphas=(0.5, 1.0))
    over_digit, over_alpha = box.children
    assert [s.description for s in over_digit.sliders] == ["omit", "T"]
    assert set(over_digit.settings) == {(d, T) for d in (1, 3) for T in (1.0, 4.0)}
    assert over_digit.sliders[0].value == 3 and over_digit.sliders[1].value == 4.0  # the chapter's setting
    assert [s.description for s in over_alpha.sliders] == ["alpha"] and over_alpha.sliders[0].value == 0.5
    assert len(set(over_digit.png.values())) == 4
    # the live panel's figure for that setting
    r = M.run_mythical3(replace(cfg, omit=(1,), temperature=1.0), verbose=False)
    assert _same_png(over_digit, (1, 1.0), widgets.mythical3_figure(r))


def test_ls_kd_static_panel_covers_eps_and_T(tmp_path, monkeypatch):
    from subclass_lib import widgets
    from subclass_lib.experiments import ls_kd as L

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    cfg = L.LSKDConfig(teacher_hidden=(32,), teacher_epochs=1, teacher_fraction=0.02, student_hidden=(16,),
                       student_epochs=1, transfer_fraction=0.02, feature_examples=1000, temperatures=(1, 4))
    panel = widgets.ls_kd_static_panel(cfg, eps_values=(0.0, 0.1), temperatures=(1.0, 4.0))
    assert [s.description for s in panel.sliders] == ["LS eps", "T"]
    assert [s.value for s in panel.sliders] == [0.1, 4.0]
    assert len(set(panel.png.values())) == 4
    r = L.run_interactive(eps=0.0, T=4.0, classes=cfg.classes, cfg=cfg.interactive())
    assert _same_png(panel, (0.0, 4.0), widgets.ls_kd_figure(r))


def test_teacher_static_panels_cover_aux_beta_sharpen_and_consistency(tmp_path, monkeypatch):
    from subclass_lib import widgets

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    base = replace(widgets.TEACHER_INTERACTIVE, teacher_epochs=1, teacher_fraction=0.02, hidden=(16,))
    box = widgets.teacher_static_panels(base, betas=(0.0, 1.0), aux=(("diversity", None), ("contrastive T=1", 1.0)),
                                        sharpen=(0.0, 0.5), consistency=(0.0, 1.0))
    by_aux, by_sharpen, by_consistency = box.children
    assert [s.description for s in by_aux.sliders] == ["aux loss", "beta"]
    assert set(by_aux.settings) == {(a, b) for a in ("diversity", "contrastive T=1") for b in (0.0, 1.0)}
    assert by_aux.sliders[1].value == 1.0  # the panel's default beta
    assert by_sharpen.sliders[0].value == 0.5  # the grid value nearest the panel's default (0.4)
    assert by_consistency.sliders[0].value == 1.0
    r = widgets.run_interactive_teacher(base=base, aux="contrastive", aux_weight=1.0, aux_temperature=1.0)
    assert _same_png(by_aux, ("contrastive T=1", 1.0), widgets.show_teacher(r))


def test_students_static_panels_cover_T_fraction_alpha_and_size(tmp_path, monkeypatch):
    from subclass_lib import widgets
    from subclass_lib.experiments import subclass_students as S
    from subclass_lib.experiments.subclass import SubclassConfig

    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    cfg = S.StudentsConfig(teacher=SubclassConfig(teacher_epochs=1, hidden=(16,), teacher_fraction=0.02),
                           student_hidden=(8, 8), student_epochs=1, eval_every=3)
    teacher = S.get_teacher(cfg, verbose=False)
    box = widgets.students_static_panels(cfg, teacher, temperatures=(1.0, 4.0), fractions=(0.1, 0.2),
                                         alphas=(0.0, 0.5), hiddens=("8,8", "16,16"))
    by_T, by_alpha, by_size = box.children
    assert [s.description for s in by_T.sliders] == ["T", "transfer set"]
    assert [s.value for s in by_T.sliders] == [4.0, 0.1]  # the interactive defaults
    assert by_alpha.sliders[0].value == 0.5 and by_size.sliders[0].value == "8,8"
    assert len(set(by_T.png.values())) == 4
    c = cfg.interactive(temperature=1.0, transfer_fraction=0.2)
    r = S.run_students(c, S.METHODS, teacher, no_label=False, verbose=False)
    assert _same_png(by_T, (1.0, 0.2), widgets.students_figure(r))
