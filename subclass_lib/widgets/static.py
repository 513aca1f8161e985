"""Static twin of a slider panel: precomputed figures that the sliders switch with no kernel.

In the rendered book there is no Python kernel, so a :func:`~.common.retrain_panel` shows
sliders that change nothing. :func:`static_panel` builds a panel that works there too: every
figure of a precomputed grid of slider settings is rendered to PNG once and put in nested
``Stack`` widgets (one level per slider), and each slider's ``index`` is linked to the
``selected_index`` of the stacks of its level with ``jslink``. Links made by ``jslink`` run in
the browser, from the widget state stored in the notebook (``tools/run_notebooks.py`` stores
it), so moving a slider switches the figure in the HTML book, in JupyterLab, or on Colab,
whether or not a kernel is running. A stack puts only its selected child in the page.

    figures = {(T, alpha): my_plot(results[T, alpha]) for T in Ts for alpha in alphas}
    static_panel(figures, [("T", Ts), ("alpha", alphas)], title="Precomputed sweep")

Each shown figure carries a caption naming its setting ("T = 4, alpha = 0.5", CSS class
``static-panel-caption``) and its box the CSS class ``static-panel-at-<i>-<j>...`` with the
slider indices of its setting, so readers and tests can tell which figure is shown.
"""

from __future__ import annotations

import html
import io
import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["static_panel", "StaticPanel", "STATIC_NOTE", "STATIC_PANEL_DPI"]

#: The one-line note every static panel shows under its title.
STATIC_NOTE = "<small><i>precomputed: moves without a kernel</i></small>"

#: PNG resolution of the figures: twice the 100 pixels an inch at which the book shows a figure (a 6 x 3.5
#: inch figure is stored as about 1180 x 680 pixels and shown across the text column), so the panels stay
#: sharp on high-density screens, as the inline figures (``retina`` PNGs) do. Figures are stored as
#: 256-colour palette PNGs (``palette=True``), about a third of matplotlib's RGBA PNGs for plots: the
#: book's panels at this resolution measured 3.5 MB of PNG in all (1.5 MB at 100 dpi). They are written without
#: PNG's ``optimize`` pass, which saved 4% of the bytes at 0.2 s a figure (20 s of the book's run).
STATIC_PANEL_DPI = 200

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class StaticPanel(W.VBox):
    """The box :func:`static_panel` returns (a plain ``VBox`` in the stored widget state).

    Python attributes, for tests and for code that builds on a panel:

    * ``sliders``: the ``SelectionSlider`` of each slider, in the given order;
    * ``stack``: the outermost ``Stack`` (its children are the stacks of the next slider, or
      at the last level the figure boxes);
    * ``links``: every ``jslink`` of the panel, as ``(slider number, Link)``;
    * ``settings``: every setting of the grid, as tuples of values, in stack order;
    * ``png``: the PNG bytes of each setting.
    """

    sliders: tuple
    stack: W.Stack
    links: tuple
    settings: tuple
    png: dict


def _label(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):g}"
    return str(value)


def _check_sliders(sliders) -> list[tuple[str, tuple, tuple[str, ...]]]:
    if isinstance(sliders, (str, bytes, Mapping)) or not isinstance(sliders, Sequence):
        raise ValueError("sliders must be an ordered list of (name, values) pairs, "
                         f"got {type(sliders).__name__}")
    if len(sliders) == 0:
        raise ValueError("sliders must name at least one slider: [(name, values), ...]")
    out, names = [], set()
    for k, entry in enumerate(sliders):
        if not (isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) == 2):
            raise ValueError(f"sliders[{k}] must be a (name, values) pair, got {entry!r}")
        name, values = entry
        if not isinstance(name, str) or not name:
            raise ValueError(f"sliders[{k}]: the name must be a non-empty string, got {name!r}")
        if name in names:
            raise ValueError(f"slider name {name!r} is given twice")
        names.add(name)
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise ValueError(f"slider {name!r}: values must be a sequence, got {values!r}")
        values = tuple(values)
        if not values:
            raise ValueError(f"slider {name!r} has no values")
        for v in values:
            if not isinstance(v, Hashable):
                raise ValueError(f"slider {name!r}: value {v!r} is not hashable")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"slider {name!r}: value {v!r} is not finite")
        if len(set(values)) != len(values):
            dup = sorted({_label(v) for v in values if values.count(v) > 1})
            raise ValueError(f"slider {name!r} has duplicate values: {', '.join(dup)}")
        labels = tuple(_label(v) for v in values)
        if len(set(labels)) != len(labels):
            dup = sorted({lab for lab in labels if labels.count(lab) > 1})
            raise ValueError(f"slider {name!r}: different values read the same ({', '.join(dup)}); "
                             "round them to the values the figures were made for")
        out.append((name, values, labels))
    return out


def _palette_png(data: bytes) -> bytes:
    """The PNG as a 256-colour palette image on white (plots have few colours; text and lines
    keep their antialiasing shades)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    pal = flat.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    pal.save(out, format="PNG")  # optimize=True: 4% smaller, 7 times slower (0.22 s a figure)
    return out.getvalue()


def figure_png(fig, setting_text: str, dpi: int, palette: bool) -> bytes:
    """The PNG a static panel stores for one setting: ``fig`` (a Figure, closed here, or PNG bytes) at
    ``dpi``, reduced to a palette when ``palette``; ``setting_text`` names the setting in errors."""
    if isinstance(fig, (bytes, bytearray, memoryview)):
        data = bytes(fig)
        if not data.startswith(_PNG_SIGNATURE):
            raise ValueError(f"the figure for {setting_text} is bytes but not a PNG image")
        return data
    if isinstance(fig, Figure):
        buf = io.BytesIO()
        # (the palette pass decodes this PNG at once: unless it is the stored image, skip zlib's work, the
        # same pixels)
        pil = {"compress_level": 0} if palette else None
        try:
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pil_kwargs=pil)
        finally:
            plt.close(fig)
        return _palette_png(buf.getvalue()) if palette else buf.getvalue()
    raise ValueError(f"the figure for {setting_text} must be a matplotlib Figure or PNG bytes, "
                     f"got {type(fig).__name__}")


def static_panel(
    figures: Mapping[tuple, Figure | bytes] | Callable[..., Figure | bytes],
    sliders: Sequence[tuple[str, Sequence]],
    *,
    title: str,
    caption: str | None = None,
    default: Mapping[str, object] | None = None,
    dpi: int = STATIC_PANEL_DPI,
    palette: bool = True,
) -> StaticPanel:
    """A panel of sliders over precomputed figures that works without a kernel.

    ``sliders``: the ordered ``(name, values)`` of each slider (one or more); the slider offers
    exactly these values, labelled ``f"{v:g}"`` for floats and ``str(v)`` otherwise.
    ``figures``: a figure for every setting, either a mapping from the tuple of values (one per
    slider, in the order of ``sliders``; with one slider a bare value also works) to a
    matplotlib ``Figure`` or PNG bytes, or a function called as ``figures(*setting)`` for each
    setting (one figure open at a time). Each Figure is rendered to PNG at ``dpi`` (as a
    256-colour palette PNG on white with ``palette``, a third of the size) and closed; PNG bytes
    are used as they are.
    ``default``: the value each slider starts at (by name; the first value where not given).
    ``caption``: optional HTML under the figure (the same for every setting).

    Raises ``ValueError`` for an empty or duplicate slider list or value, a setting of the grid
    with no figure, a figure for a setting outside the grid, a figure that is neither a Figure
    nor PNG bytes, or a default that is not one of its slider's values.
    """
    if not isinstance(title, str):
        raise ValueError(f"title must be a string, got {type(title).__name__}")
    if caption is not None and not isinstance(caption, str):
        raise ValueError(f"caption must be a string or None, got {type(caption).__name__}")
    if not (isinstance(dpi, int) and 20 <= dpi <= 300):
        raise ValueError(f"dpi must be an integer in [20, 300], got {dpi!r}")
    spec = _check_sliders(sliders)
    names = [name for name, _, _ in spec]
    grid = list(itertools.product(*(values for _, values, _ in spec)))

    def text(setting) -> str:
        return ", ".join(f"{n} = {_label(v)}" for n, v in zip(names, setting))

    # the default setting, as one index per slider
    default = dict(default or {})
    unknown = set(default) - set(names)
    if unknown:
        raise ValueError(f"default names sliders that do not exist: {sorted(unknown)} (sliders: {names})")
    start = []
    for name, values, _ in spec:
        if name in default:
            if default[name] not in values:
                raise ValueError(f"default {name} = {default[name]!r} is not one of the slider's values "
                                 f"{[_label(v) for v in values]}")
            start.append(values.index(default[name]))
        else:
            start.append(0)

    # one PNG per setting
    if isinstance(figures, Mapping):
        given = {}
        for key, fig in figures.items():
            if len(spec) == 1 and not isinstance(key, tuple):
                key = (key,)
            if not isinstance(key, tuple) or len(key) != len(spec):
                raise ValueError(f"figures must be keyed by tuples of {len(spec)} value(s) "
                                 f"({', '.join(names)}), got the key {key!r}")
            given[key] = fig
        on_grid = set(grid)
        extra = [k for k in given if k not in on_grid]
        missing = [s for s in grid if s not in given]
        try:
            if missing:
                shown = "; ".join(text(s) for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
                raise ValueError(f"no figure for {len(missing)} of the {len(grid)} settings: {shown}")
            if extra:
                shown = "; ".join(repr(k) for k in extra[:5]) + (" ..." if len(extra) > 5 else "")
                raise ValueError(f"figures for settings that are not on the sliders: {shown}")
            png = {s: figure_png(given[s], text(s), dpi, palette) for s in grid}
        finally:  # a panel that raises leaves no figure open either
            for fig in given.values():
                if isinstance(fig, Figure):
                    plt.close(fig)
    elif callable(figures):
        png = {s: figure_png(figures(*s), text(s), dpi, palette) for s in grid}
    else:
        raise ValueError("figures must be a mapping from settings to figures, or a function of a setting; "
                         f"got {type(figures).__name__}")

    # widgets: shared layouts keep the stored widget state small
    image_layout = W.Layout(width="100%", max_width="100%", height="auto")  # the column's width
    caption_layout = W.Layout(margin="0 0 0 4px")
    leaf_layout = W.Layout()
    stack_layout = W.Layout()

    def leaf(setting, index) -> W.VBox:
        label = W.HTML(value=f"<small>{html.escape(text(setting))}</small>", layout=caption_layout)
        label.add_class("static-panel-caption")
        box = W.VBox([label, W.Image(value=png[setting], format="png", layout=image_layout)],
                     layout=leaf_layout)
        box.add_class("static-panel-figure")
        box.add_class("static-panel-at-" + "-".join(str(i) for i in index))
        return box

    levels: list[list[W.Stack]] = [[] for _ in spec]

    def build(prefix: tuple, index: tuple, depth: int) -> W.Widget:
        _, values, _ = spec[depth]
        children = [leaf(prefix + (v,), index + (i,)) if depth == len(spec) - 1
                    else build(prefix + (v,), index + (i,), depth + 1)
                    for i, v in enumerate(values)]
        stack = W.Stack(children, selected_index=start[depth], layout=stack_layout)
        stack.add_class("static-panel-stack")
        levels[depth].append(stack)
        return stack

    outer = build((), (), 0)
    slider_widgets, links = [], []
    # one description width for every slider, so that their tracks line up
    style = {"description_width": f"{max(6, max(len(n) for n in names) + 2)}ch"}
    for depth, (name, values, labels) in enumerate(spec):
        s = W.SelectionSlider(options=list(zip(labels, values)), index=start[depth], description=name,
                              continuous_update=True, style=style, layout=W.Layout(width="min(520px, 100%)"))
        slider_widgets.append(s)
        for stack in levels[depth]:
            links.append((depth, W.jslink((s, "index"), (stack, "selected_index"))))

    header = W.HTML(value=f"<b>{html.escape(title)}</b>")
    note = W.HTML(value=STATIC_NOTE)
    note.add_class("static-panel-note")
    parts = [header, note, *slider_widgets, outer]
    if caption:
        parts.append(W.HTML(value=f"<small>{caption}</small>"))
    panel = StaticPanel(parts)
    panel.add_class("static-panel")
    panel.sliders = tuple(slider_widgets)
    panel.stack = outer
    panel.links = tuple(links)
    panel.settings = tuple(grid)
    panel.png = png
    return panel
