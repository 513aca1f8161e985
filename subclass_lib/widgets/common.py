"""The one slider panel every chapter uses.

``retrain_panel(controls, run, show)``: sliders (any ipywidgets value widgets), a Retrain
button, a progress bar, a message line and an output area. Pressing Retrain calls
``run(progress=..., **values)``; its result goes to ``show(result)``, which returns a
matplotlib Figure, a string, or anything IPython can display. A ``run`` with a ``preview``
parameter also gets ``preview(partial_result)``, shown at once while the rest trains (e.g. the
student the slider is about before its baseline). Results are memoised by the
slider values, so returning to an earlier setting is instant. A ``ValueError`` from ``run``
(an invalid combination of values) shows as a message in the panel, not a traceback; an
interrupted retrain leaves the panel (and the model cache, which is written atomically)
usable for the next one.
"""

from __future__ import annotations

import html
import inspect
import time
from collections.abc import Callable, Mapping

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = ["retrain_panel", "KERNEL_NOTE"]

#: The one-line note every live panel shows under its title (a static panel says
#: :data:`~.static.STATIC_NOTE`).
KERNEL_NOTE = ("<small><i>live: retrains</i> (needs a running Python kernel: Jupyter, Binder or Colab)"
               "</small>")


def retrain_panel(
    controls: Mapping[str, W.ValueWidget],
    run: Callable[..., object],
    show: Callable[[object], object],
    title: str = "Try it",
    run_now: bool = True,
) -> W.VBox:
    """Build (and display-ready return) a panel of ``controls`` that retrains on demand.

    ``run(progress=fn, **values)`` gets the slider values by the keys of ``controls`` and a
    ``progress(fraction, text)`` callback; ``show(result)`` renders the result. With
    ``run_now`` the current values are run once when the panel is built (instant when the
    chapter has already trained that configuration), so the panel never starts empty.
    """
    if not controls:
        raise ValueError("a panel needs at least one control")
    button = W.Button(description="Retrain", button_style="primary", icon="refresh")
    bar = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="", layout=W.Layout(width="60%"))
    status = W.HTML(value="")
    out = W.Output(layout=W.Layout(min_height="120px"))
    memo: dict[tuple, object] = {}
    wants_preview = "preview" in inspect.signature(run).parameters

    def values() -> dict:
        return {k: w.value for k, w in controls.items()}

    def progress(fraction: float, text: str = "") -> None:
        bar.value = max(0.0, min(1.0, float(fraction)))
        if text:
            status.value = f"<small>{text}</small>"

    def render(result) -> None:
        out.clear_output(wait=True)
        with out:
            shown = show(result)
            if shown is not None:
                display(shown)
            if isinstance(shown, plt.Figure):
                plt.close(shown)

    def on_click(_=None) -> None:
        vals = values()
        key = tuple(sorted((k, repr(v)) for k, v in vals.items()))
        button.disabled = True
        t0 = time.perf_counter()
        try:
            if key in memo:
                result = memo[key]
                status.value = "<small>from the cache of this panel</small>"
            else:
                bar.value = 0.0
                status.value = "<small>training...</small>"
                extra = {}
                if wants_preview:
                    def preview(partial) -> None:
                        render(partial)
                        status.value = (f"<small>first result in {time.perf_counter() - t0:.1f} s; "
                                        "still training the rest...</small>")
                    extra["preview"] = preview
                result = run(progress=progress, **extra, **vals)
                memo[key] = result
                status.value = f"<small>done in {time.perf_counter() - t0:.1f} s</small>"
            bar.value = 1.0
            render(result)
        except ValueError as exc:
            status.value = f"<span style='color:#b00'><b>Invalid setting:</b> {html.escape(str(exc))}</span>"
        except KeyboardInterrupt:
            status.value = "<span style='color:#b00'>Interrupted; press Retrain to run again.</span>"
        finally:
            button.disabled = False

    button.on_click(on_click)
    note = W.HTML(value=KERNEL_NOTE)
    header = W.HTML(value=f"<b>{title}</b>")
    box = W.VBox([header, note, *controls.values(), W.HBox([button, bar]), status, out])
    if run_now:
        on_click()
    return box
