"""show_answer: an exercise's numbers, glued for the book's dropdown and shown in a notebook."""

import sys

import pytest
from IPython.utils.capture import capture_output

from subclass_lib.experiments.base import result_table, show_answer


@pytest.fixture(autouse=True)
def shell():
    """An IPython shell, as in a kernel: display() then goes to its display publisher."""
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


def test_glues_a_table_under_its_key_and_still_displays_it():
    table = result_table([{"digit": 5, "train": 5421}])
    with capture_output() as out:
        show_answer("ch0-ex1", table)
    (shown,) = out.outputs
    assert shown.metadata["scrapbook"]["name"] == "ch0-ex1"
    assert "text/html" in shown.data and "5421" in shown.data["text/plain"]


def test_without_myst_nb_it_only_displays(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails, as on Colab
    with capture_output() as out:
        show_answer("ch0-ex1", result_table([{"a": 1}]))
    (shown,) = out.outputs
    assert "scrapbook" not in (shown.metadata or {})


def test_a_figure_is_closed_after_it_is_shown():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    with capture_output():
        show_answer("fig", fig)
    assert not plt.fignum_exists(fig.number)


@pytest.mark.parametrize("key", ["", None, 3])
def test_bad_key(key):
    with pytest.raises(ValueError, match="key"):
        show_answer(key, 1)
