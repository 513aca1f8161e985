"""experiments.result_table: a chapter's result table as an HTML table with a stable id and a
plain-text form equal to format_table's."""

from __future__ import annotations

from subclass_lib.experiments import format_table, result_table

ROWS = [{"model": "teacher", "error": 0.0123, "paper": 0.0073},
        {"model": "student", "error": 0.0184, "paper": None}]


def test_html_table_with_the_numbers_and_a_stable_id():
    a, b = result_table(ROWS, caption="binary test error", best={"error": "min"}), result_table(ROWS)
    html = a.to_html()
    assert html.count("<table") == 1 and 'class="result-table"' in html and "<caption>binary test error</caption>" in html
    assert "0.0123" in html and "0.0184" in html and "None" not in html and "nan" not in html.lower()
    assert "font-weight: bold" in html  # the best row
    assert result_table(ROWS, caption="binary test error", best={"error": "min"}).to_html() == html  # same id on a rerun
    assert b.to_html() != html


def test_plain_text_is_format_tables():
    t = result_table(ROWS, floatfmt="{:.3f}")
    assert repr(t) == format_table(ROWS, floatfmt="{:.3f}")
    from IPython.lib.pretty import pretty

    assert pretty(t) == format_table(ROWS, floatfmt="{:.3f}")
    assert "---" in repr(t) and "0.012" in repr(t)


def test_columns_and_missing_keys():
    t = result_table(ROWS, ["model", "paper"])
    assert "0.0123" not in t.to_html() and "0.0073" in t.to_html()
    assert repr(result_table([])) == "(no rows)"


def test_a_column_of_prose_wraps_and_a_column_of_numbers_does_not():
    html = result_table([{"comparison": "2x800 student: hard labels -> distilled (accuracy %)", "error": 0.01}]).to_html()
    assert "white-space: normal" in html and html.count("white-space") == 1  # the prose column only


def test_a_column_of_means_and_spreads_may_wrap_only_before_its_spread():
    rows = [{"student": "2x800", "T=4": "0.9797 ± 0.0005", "gain": "+1.49"}]
    t = result_table(rows)
    html = t.to_html()
    assert "0.9797 ±\u00a00.0005" in html and "0.9797 ± 0.0005" not in html
    assert html.count("white-space: normal") == 1  # the mean ± spread column only
    assert repr(t) == format_table(rows)  # the plain text keeps its ordinary spaces


def test_a_column_of_number_lists_may_wrap_after_a_comma():
    html = result_table([{"T": 1, "per seed": "0.9672, 0.9666, 0.9682"}]).to_html()
    assert html.count("white-space: normal") == 1
