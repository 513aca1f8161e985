"""The static panel: precomputed figures in nested stacks, switched by client-side links.

What runs in the browser is tested in tests/test_static_panel_browser.py; here the structure the
browser gets (stacks, children, links from each slider's ``index`` to the stacks' ``selected_index``,
the starting selection, captions naming each setting) and the argument checks.
"""

from __future__ import annotations

import io

import ipywidgets as W
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from ipywidgets.widgets.widget_link import Link  # noqa: E402
from PIL import Image  # noqa: E402

import subclass_lib.widgets as widgets  # noqa: E402
from subclass_lib.widgets.static import STATIC_NOTE, StaticPanel, static_panel  # noqa: E402

TS = (1.0, 4.0, 16.0)
ALPHAS = (0.1, 0.5)
PNG = b"\x89PNG\r\n\x1a\n"


def _fig(*setting):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, sum(setting)])
    ax.set_title(" ".join(f"{v:g}" for v in setting))
    return fig


def _fake_png(tag: str) -> bytes:
    return PNG + tag.encode()


def _shown(panel):
    """The figure box each stack would show now (the path of selected indices)."""
    w = panel.stack
    while isinstance(w, W.Stack):
        w = w.children[w.selected_index]
    return w


def _caption(box) -> str:
    html = next(c for c in box.children if isinstance(c, W.HTML)).value
    return html.removeprefix("<small>").removesuffix("</small>")


def _stacks_by_level(panel):
    levels, level = [], [panel.stack]
    while level and isinstance(level[0], W.Stack):
        levels.append(level)
        level = [c for s in level for c in s.children]
    return levels, level


@pytest.fixture(autouse=True)
def _no_open_figures():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "the panel left matplotlib figures open"


def test_exported_from_widgets():
    assert widgets.static_panel is static_panel


def test_two_sliders_build_nested_stacks_with_links_from_index_to_selected_index():
    figures = {(t, a): _fig(t, a) for t in TS for a in ALPHAS}
    panel = static_panel(figures, [("T", TS), ("alpha", ALPHAS)], title="Precomputed sweep",
                         caption="test accuracy at each setting")
    assert isinstance(panel, StaticPanel) and isinstance(panel, W.VBox)
    assert "static-panel" in panel._dom_classes
    # title, note, the two sliders, the outer stack, the caption, in reading order
    header, note, s_t, s_a, outer, cap = panel.children
    assert "Precomputed sweep" in header.value and note.value == STATIC_NOTE
    assert "precomputed: moves without a kernel" in note.value
    assert "test accuracy at each setting" in cap.value
    assert panel.sliders == (s_t, s_a) and panel.stack is outer
    assert all(isinstance(s, W.SelectionSlider) for s in panel.sliders)
    assert s_t.description == "T" and s_t._options_labels == ("1", "4", "16") and s_t.options[1] == ("4", 4.0)
    assert s_a.description == "alpha" and s_a._options_labels == ("0.1", "0.5")

    levels, leaves = _stacks_by_level(panel)
    assert [len(lv) for lv in levels] == [1, 3]
    assert len(outer.children) == 3 and all(len(s.children) == 2 for s in levels[1])
    assert len(leaves) == 6
    for i, t in enumerate(TS):
        for j, a in enumerate(ALPHAS):
            box = outer.children[i].children[j]
            assert _caption(box) == f"T = {t:g}, alpha = {a:g}"
            assert f"static-panel-at-{i}-{j}" in box._dom_classes and "static-panel-figure" in box._dom_classes
            img = next(c for c in box.children if isinstance(c, W.Image))
            assert img.format == "png" and bytes(img.value).startswith(PNG) and bytes(img.value) == panel.png[(t, a)]
    assert len({bytes(panel.png[s]) for s in panel.settings}) == 6  # six different figures
    assert panel.settings == tuple((t, a) for t in TS for a in ALPHAS)

    # one link per stack: slider 0 -> the outer stack, slider 1 -> every inner stack
    assert len(panel.links) == 1 + 3
    for depth, link in panel.links:
        assert isinstance(link, Link)
        assert link.source == (panel.sliders[depth], "index")
        assert link.target[1] == "selected_index"
    assert [link.target[0] for d, link in panel.links if d == 0] == [outer]
    assert [link.target[0] for d, link in panel.links if d == 1] == levels[1]
    # as stored in the widget state: model references, the slider's synced index (its value is not synced)
    state = panel.links[1][1].get_state()
    assert state["_model_name"] == "LinkModel"
    assert state["source"] == [f"IPY_MODEL_{s_a.model_id}", "index"]
    assert state["target"] == [f"IPY_MODEL_{levels[1][0].model_id}", "selected_index"]
    assert "index" in s_a.get_state() and "value" not in s_a.get_state()


def test_default_values_select_the_matching_figure():
    panel = static_panel({(t, a): _fake_png(f"{t}/{a}") for t in TS for a in ALPHAS},
                         [("T", TS), ("alpha", ALPHAS)], title="x", default={"T": 4.0, "alpha": 0.5})
    s_t, s_a = panel.sliders
    assert (s_t.index, s_t.value, s_a.index, s_a.value) == (1, 4.0, 1, 0.5)
    levels, _ = _stacks_by_level(panel)
    assert panel.stack.selected_index == 1 and all(s.selected_index == 1 for s in levels[1])
    shown = _shown(panel)
    assert _caption(shown) == "T = 4, alpha = 0.5"
    assert bytes(next(c for c in shown.children if isinstance(c, W.Image)).value) == _fake_png("4.0/0.5")
    # a slider without a default starts at its first value
    panel = static_panel({(t, a): _fake_png("") for t in TS for a in ALPHAS},
                         [("T", TS), ("alpha", ALPHAS)], title="x", default={"alpha": 0.5})
    assert [s.index for s in panel.sliders] == [0, 1] and _caption(_shown(panel)) == "T = 1, alpha = 0.5"


def test_one_slider_bare_keys_and_png_bytes_used_as_given():
    pngs = {t: _fake_png(f"T{t}") for t in TS}
    panel = static_panel(pngs, [("T", TS)], title="one", default={"T": 16.0})
    assert len(panel.sliders) == 1 and len(panel.links) == 1 and len(panel.stack.children) == 3
    assert all(isinstance(c, W.VBox) for c in panel.stack.children)  # figure boxes, no inner stacks
    assert panel.stack.selected_index == 2 and _caption(_shown(panel)) == "T = 16"
    assert [panel.png[(t,)] for t in TS] == list(pngs.values())
    assert panel.children[-1] is panel.stack  # no caption given: none shown


def test_three_sliders_nest_three_levels():
    sliders = [("a", [0, 1]), ("b", ["x", "y", "z"]), ("c", [True, False])]
    calls = []

    def draw(a, b, c):
        calls.append((a, b, c))
        return _fake_png(f"{a}{b}{c}")

    panel = static_panel(draw, sliders, title="three", default={"b": "z", "c": False})
    assert len(calls) == 12 and calls[0] == (0, "x", True)
    levels, leaves = _stacks_by_level(panel)
    assert [len(lv) for lv in levels] == [1, 2, 6] and len(leaves) == 12
    assert len(panel.links) == 1 + 2 + 6
    for depth, link in panel.links:
        assert link.source == (panel.sliders[depth], "index")
        assert link.target[0] in levels[depth]
    assert _caption(_shown(panel)) == "a = 0, b = z, c = False"
    assert "static-panel-at-0-2-1" in _shown(panel)._dom_classes


def test_figures_become_small_palette_pngs_and_are_closed():
    figs = {(t,): _fig(t) for t in TS}
    panel = static_panel(figs, [("T", TS)], title="x", dpi=50)
    for t in TS:
        assert not plt.fignum_exists(figs[(t,)].number)
        with Image.open(io.BytesIO(panel.png[(t,)])) as im:
            assert im.format == "PNG" and im.mode == "P"  # 256-colour palette
            assert im.size[0] <= 2 * 50 + 10  # 2 inches at 50 dpi (tight bounding box)
    raw = static_panel(lambda t: _fig(t), [("T", TS)], title="x", dpi=50, palette=False)
    with Image.open(io.BytesIO(raw.png[(1.0,)])) as im:
        assert im.mode == "RGBA"


@pytest.mark.parametrize("sliders, message", [
    ([], "at least one slider"),
    ("T", "ordered list"),
    ({"T": TS}, "ordered list"),
    ([("T", [])], "'T' has no values"),
    ([("T", (1.0, 4.0, 1.0))], "duplicate values: 1"),
    ([("T", (1.0, 1.0000001))], "read the same"),
    ([("T", TS), ("T", ALPHAS)], "given twice"),
    ([("", TS)], "non-empty string"),
    ([("T", TS, "extra")], "(name, values) pair"),
    ([("T", 4.0)], "must be a sequence"),
    ([("T", "abc")], "must be a sequence"),
    ([("T", [[1], [2]])], "not hashable"),
    ([("T", [1.0, float("nan")])], "not finite"),
])
def test_bad_sliders(sliders, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        static_panel(lambda *s: _fake_png(""), sliders, title="x")


def test_missing_or_extra_settings_name_them_and_close_the_given_figures():
    figs = {(t, a): _fig(t, a) for t in TS for a in ALPHAS if (t, a) != (4.0, 0.5)}
    with pytest.raises(ValueError, match=r"no figure for 1 of the 6 settings: T = 4, alpha = 0.5"):
        static_panel(figs, [("T", TS), ("alpha", ALPHAS)], title="x")
    assert plt.get_fignums() == []
    pngs = {(t, a): _fake_png("") for t in TS for a in ALPHAS} | {(2.0, 0.5): _fake_png("")}
    with pytest.raises(ValueError, match=r"not on the sliders: \(2.0, 0.5\)"):
        static_panel(pngs, [("T", TS), ("alpha", ALPHAS)], title="x")
    with pytest.raises(ValueError, match="keyed by tuples of 2 value"):
        static_panel({t: _fake_png("") for t in TS}, [("T", TS), ("alpha", ALPHAS)], title="x")


@pytest.mark.parametrize("bad, message", [
    ("a string", "must be a matplotlib Figure or PNG bytes, got str"),
    (None, "got NoneType"),
    (b"GIF89a....", "bytes but not a PNG"),
])
def test_a_figure_that_is_not_a_figure(bad, message):
    pngs = {(t,): _fake_png("") for t in TS} | {(4.0,): bad}
    with pytest.raises(ValueError, match=message):
        static_panel(pngs, [("T", TS)], title="x")
    with pytest.raises(ValueError, match="the figure for T = 4"):
        static_panel(lambda t: bad if t == 4.0 else _fake_png(""), [("T", TS)], title="x")


def test_bad_default_title_dpi_and_figures():
    pngs = {(t,): _fake_png("") for t in TS}
    with pytest.raises(ValueError, match=r"default T = 3.0 is not one of the slider's values \['1', '4', '16'\]"):
        static_panel(pngs, [("T", TS)], title="x", default={"T": 3.0})
    with pytest.raises(ValueError, match="sliders that do not exist: \\['temperature'\\]"):
        static_panel(pngs, [("T", TS)], title="x", default={"temperature": 4.0})
    with pytest.raises(ValueError, match="dpi"):
        static_panel(pngs, [("T", TS)], title="x", dpi=2000)
    with pytest.raises(ValueError, match="title must be a string"):
        static_panel(pngs, [("T", TS)], title=None)
    with pytest.raises(ValueError, match="mapping from settings to figures, or a function"):
        static_panel([_fake_png("")] * 3, [("T", TS)], title="x")
