"""End-to-end: sources and segments — a CSV source, a segment made with the rule builder and its
live count, the segment's export, a file that changed or disappeared."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from conftest import COLUMNS, CsvFile, Sandbox, write_customers
from helpers import (
    add_rule,
    add_source,
    choose_connection,
    click,
    close_run,
    count,
    create_connection,
    export_row,
    go,
    new_segment_form,
    no_error_banner,
    open_new_export,
    reject_cells,
    run_now,
    save_export,
    save_segment,
    screenshot,
    set_operator,
    segment_count,
    selected_value,
    set_value,
    source_columns,
    texts,
    type_into,
    verify,
    visible,
    wait_for,
    wait_summary,
    wait_until,
)


def test_csv_source_segment_rule_builder_live_count_and_export(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile):
    # The source: its columns and first rows, detected from the file.
    set_operator(driver)
    row = add_source(driver, "Spring customers", csv_file.path.name)
    assert row.get_attribute("data-state") == "ok"
    assert source_columns(row) == COLUMNS
    sample = wait_for(row, "source-sample")
    assert texts(sample.find_elements(By.CSS_SELECTOR, "thead th")) == COLUMNS
    first_row = sample.find_elements(By.CSS_SELECTOR, "tbody tr")[0]
    assert texts(first_row.find_elements(By.CSS_SELECTOR, "td")) == csv_file.customers[0].row()
    screenshot(driver, "sources")

    # A segment: "all of: country is PL, orders ≥ 3", counted live over the whole file.
    form = new_segment_form(driver, "Polish regulars", "Spring customers")
    segment_count(driver, form, csv_file.rows, csv_file.rows)
    add_rule(driver, form, "country", "eq", "PL")
    polish = csv_file.count_where(lambda c: c.country == "PL")
    assert 0 < polish < csv_file.rows
    segment_count(driver, form, polish, csv_file.rows)
    add_rule(driver, form, "orders", "ge", "3")
    regulars = csv_file.count_where(lambda c: c.country == "PL" and c.orders >= 3)
    assert 0 < regulars < polish
    counted = segment_count(driver, form, regulars, csv_file.rows)
    # (Digits grouped by the system locale, or not.)
    assert re.sub(r"(?<=\d)[,.\s\u00a0\u202f](?=\d{3})", "", counted.text) == f"{regulars} of {csv_file.rows} rows match", counted.text
    assert Select(wait_for(form, "group-op")).first_selected_option.get_attribute("value") == "and"
    screenshot(driver, "segments-rule-builder")
    segment = save_segment(driver, form, "Polish regulars")
    summary_text = wait_for(segment, "segment-summary").text
    assert "PL" in summary_text and "3" in summary_text, summary_text

    # Export the segment: exactly its valid profiles reach the list.
    list_id = sandbox.create_list("Newsletter PL")
    create_connection(driver, "Main store", sandbox.key, sandbox.url)
    assert verify(driver, "Main store").get_attribute("data-ok") == "true"
    form = open_new_export(driver, "Newsletter PL")
    Select(wait_for(form, "export-segment")).select_by_visible_text("Polish regulars")
    wait_until(driver, lambda: wait_for(form, "segment-file-name").text == csv_file.path.name, "the segment's file is not shown")
    wait_until(driver, lambda: selected_value(form, "mapping-email") == "email", "the email column is not suggested")
    choose_connection(form, "Main store (Segport Sandbox)")
    type_into(form, "export-list-id", list_id)
    assert wait_for(form, "export-mode-upsert").is_selected()
    save_export(driver, form, "Newsletter PL")
    run_now(driver, "Newsletter PL")
    summary = wait_summary(driver, timeout=60)
    expected = csv_file.valid_where(lambda c: c.country == "PL" and c.orders >= 3)
    bad_in_segment = sorted(c.line for c in csv_file.customers
                            if c.country == "PL" and c.orders >= 3 and c.line in csv_file.invalid)
    assert bad_in_segment, "the data should put a broken email in the segment"
    assert count(driver, "imported") == len(expected)
    assert count(driver, "rejected") == len(bad_in_segment)
    assert [int(c[0]) for c in reject_cells(summary)] == bad_in_segment
    assert sandbox.members(list_id) == expected
    close_run(driver)

    # A second, scheduled export of the same segment: the row says when it runs next.
    form = open_new_export(driver, "Polish regulars daily")
    Select(wait_for(form, "export-segment")).select_by_visible_text("Polish regulars")
    choose_connection(form, "Main store (Segport Sandbox)")
    type_into(form, "export-list-id", list_id)
    Select(wait_for(form, "schedule-kind")).select_by_value("daily")
    set_value(driver, wait_for(form, "schedule-at"), "09:30")
    daily = save_export(driver, form, "Polish regulars daily")
    assert wait_for(daily, "export-schedule").text.startswith("Daily at 09:30 · next "), wait_for(daily, "export-schedule").text
    assert wait_for(export_row(driver, "Newsletter PL"), "export-schedule").text == "Manual"
    assert wait_for(export_row(driver, "Newsletter PL"), "export-last-status").get_attribute("data-status") == "partial"
    screenshot(driver, "exports")
    no_error_banner(driver)


@pytest.fixture
def optins(tmp_path: Path) -> CsvFile:
    return write_customers(tmp_path / "newsletter-optins.csv", 40)


@pytest.mark.pick_file("optins")
def test_source_file_changed_or_deleted(driver: WebDriver, optins: CsvFile):
    row = add_source(driver, "Newsletter opt-ins", optins.path.name)
    assert source_columns(row) == COLUMNS
    form = new_segment_form(driver, "All opt-ins", "Newsletter opt-ins")
    segment_count(driver, form, 40, 40)
    save_segment(driver, form, "All opt-ins")

    # The file is rewritten with an extra column: re-detect shows it.
    lines = optins.path.read_text(encoding="utf-8").splitlines()
    tiers = ["gold", "silver", "bronze"]
    rewritten = [lines[0] + ",loyalty_tier"] + [f"{line},{tiers[i % 3]}" for i, line in enumerate(lines[1:])]
    optins.path.write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    go(driver, "sources")
    row = wait_for(driver, "source-row", data_name="Newsletter opt-ins")
    click(row, "source-refresh")
    wait_until(driver, lambda: source_columns(wait_for(driver, "source-row", data_name="Newsletter opt-ins")) == COLUMNS + ["loyalty_tier"],
               lambda: f"columns after re-detect: {source_columns(wait_for(driver, 'source-row', data_name='Newsletter opt-ins'))}")
    sample = wait_for(wait_for(driver, "source-row", data_name="Newsletter opt-ins"), "source-sample")
    assert texts(sample.find_elements(By.CSS_SELECTOR, "thead th"))[-1] == "loyalty_tier"

    # The file is deleted: the list (re-detecting by itself) shows it missing, nothing breaks.
    optins.path.unlink()
    wait_until(driver, lambda: wait_for(driver, "source-row", data_name="Newsletter opt-ins").get_attribute("data-state") == "missing",
               "the deleted file is not shown as missing", timeout=15)
    row = wait_for(driver, "source-row", data_name="Newsletter opt-ins")
    state = wait_for(row, "source-state").text
    assert "missing" in state.lower(), state
    no_error_banner(driver)
    go(driver, "segments")
    wait_for(driver, "segment-row", data_name="All opt-ins")
    go(driver, "sources")
    assert wait_for(driver, "source-row", data_name="Newsletter opt-ins").get_attribute("data-state") == "missing"
    assert visible(driver, "new-source")
    no_error_banner(driver)
