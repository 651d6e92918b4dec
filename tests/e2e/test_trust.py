"""End-to-end: the runs a user can trust, in the real window against the sandbox.

A Mirror export whose file is cut from 300 rows to 10 holds its 290 removals (the list keeps
all 300) until the user reviews and confirms them; then exactly the 10 remaining profiles are
left in the list. A cancelled run offers Resume and Start over side by side; Start over (after
its confirmation) closes the cancelled run as superseded ("Not continued") and a fresh run
sends the segment to the end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from conftest import CsvFile, Sandbox, checkpoints, write_customers
from helpers import (
    choose_connection,
    click,
    close_run,
    count,
    create_connection,
    export_row,
    go,
    history_row_status,
    open_new_export,
    pick_file_segment,
    run_now,
    save_export,
    screenshot,
    type_into,
    visible,
    wait_for,
    wait_gone,
    wait_summary,
    wait_until,
)

MIRROR_ROWS = 300
KEPT = 10
HELD = MIRROR_ROWS - KEPT


@pytest.fixture
def mirror_csv(tmp_path: Path) -> CsvFile:
    return write_customers(tmp_path / "vip-customers.csv", MIRROR_ROWS)


def set_up_export(driver: WebDriver, sandbox: Sandbox, data: CsvFile, name: str, mirror: bool = False) -> str:
    list_id = sandbox.create_list(name)
    create_connection(driver, "Main store", sandbox.key, sandbox.url)
    form = open_new_export(driver, name)
    pick_file_segment(form, data)
    choose_connection(form, "Main store")
    type_into(form, "export-list-id", list_id)
    if mirror:
        click(form, "export-mode-mirror")
        assert wait_for(form, "export-mode-mirror").is_selected()
        # The default guard: hold removals above 10 % or 1,000 profiles.
        assert wait_for(form, "guard-percent").get_attribute("value") == "10"
        assert wait_for(form, "guard-count").get_attribute("value") == "1000"
    row = save_export(driver, form, name)
    assert wait_for(row, "export-mode-name").text == ("Mirror" if mirror else "Upsert")
    return list_id


def status_of(scope) -> str:
    return wait_for(scope, "run-status").get_attribute("data-status")


def last_status(driver: WebDriver, name: str) -> str:
    return wait_for(export_row(driver, name), "export-last-status").get_attribute("data-status")


@pytest.mark.pick_file("mirror_csv")
def test_mirror_removals_are_held_then_confirmed(driver: WebDriver, sandbox: Sandbox, mirror_csv: CsvFile):
    name = "VIP mirror"
    list_id = set_up_export(driver, sandbox, mirror_csv, name, mirror=True)

    # First run: everyone is sent.
    run_now(driver, name)
    summary = wait_summary(driver, timeout=30)
    assert status_of(summary) == "succeeded"
    assert count(driver, "imported") == MIRROR_ROWS
    assert sorted(sandbox.members(list_id)) == mirror_csv.valid_emails
    close_run(driver)

    # The file is cut to its first 10 rows: removing 290 of 300 looks like an accident.
    kept = write_customers(mirror_csv.path, KEPT)
    assert set(kept.valid_emails) <= set(mirror_csv.valid_emails)
    view = run_now(driver, name)
    summary = wait_summary(driver, timeout=30)
    assert status_of(summary) == "held"
    held = wait_for(view, "run-held")
    assert held.get_attribute("data-held") == str(HELD)
    sentence = wait_for(held, "held-sentence").text
    assert f"{HELD} profiles" in sentence and list_id in sentence, sentence
    assert count(driver, "held") == HELD
    assert len(sandbox.members(list_id)) == MIRROR_ROWS, "a held run removed profiles"
    screenshot(driver, "mirror-removals-held", focus=held)

    # Review removals… in the run view opens the confirmation; Cancel removes nobody.
    click(held, "review-removals")
    dialog = wait_for(driver, "confirm-dialog")
    assert f"{HELD} profiles" in dialog.text and list_id in dialog.text, dialog.text
    click(dialog, "confirm-cancel")
    wait_gone(driver, "confirm-dialog")
    assert len(sandbox.members(list_id)) == MIRROR_ROWS
    close_run(driver)

    # The export's row says so too, and confirms from there.
    assert last_status(driver, name) == "held"
    row_held = wait_for(export_row(driver, name), "export-held")
    assert row_held.get_attribute("data-held") == str(HELD)
    assert f"{HELD} profiles" in wait_for(row_held, "held-sentence").text
    assert f"{HELD} removals held" in wait_for(export_row(driver, name), "export-last-run").text
    screenshot(driver, "export-row-removals-held", focus=row_held)
    click(row_held, "review-removals")
    dialog = wait_for(driver, "confirm-dialog")
    text = dialog.text
    assert f"Remove {HELD} profiles from the list {list_id}?" in text, text
    assert wait_for(dialog, "confirm-ok").text == f"Remove {HELD} profiles"
    screenshot(driver, "mirror-confirm-removals", focus=dialog)
    click(dialog, "confirm-ok")
    wait_gone(driver, "confirm-dialog")
    summary = wait_summary(driver, timeout=30)
    assert status_of(summary) == "succeeded"
    assert count(driver, "removed") == HELD
    assert sorted(sandbox.members(list_id)) == kept.valid_emails
    close_run(driver)
    assert last_status(driver, name) == "succeeded"
    assert not visible(export_row(driver, name), "export-held")


# Several batches of 10,000, each bulk import answered after SLOW_MS: some are acknowledged
# (checkpointed) before the cancel, others are not.
START_OVER_ROWS = 80_000
SLOW_MS = 1500
SLOW = f"bulk_import_profiles=slow:{SLOW_MS}@1"


@pytest.fixture
def many_csv(tmp_path: Path) -> CsvFile:
    return write_customers(tmp_path / "customers-80k.csv", START_OVER_ROWS, keep=False)


@pytest.mark.pick_file("many_csv")
def test_start_over_supersedes_the_cancelled_run(driver: WebDriver, sandbox: Sandbox, many_csv: CsvFile,
                                                 data_dir: Path):
    name = "Everyone"
    list_id = set_up_export(driver, sandbox, many_csv, name)
    sandbox.set_faults(SLOW)
    run_now(driver, name)
    wait_until(driver, lambda: checkpoints(data_dir), "no batch acknowledged", timeout=30)
    click(driver, "run-cancel")
    summary = wait_summary(driver, timeout=30)
    assert status_of(summary) == "cancelled"
    close_run(driver)
    sandbox.clear_faults()

    # Resume and Start over, side by side.
    wait_until(driver, lambda: wait_for(export_row(driver, name), "run-now").get_attribute("data-resumable") == "true",
               "the export does not offer Resume")
    row = export_row(driver, name)
    resume = wait_for(row, "run-now")
    restart = wait_for(row, "run-restart")
    assert resume.text == "Resume" and restart.text == "Start over"
    assert resume.is_enabled() and restart.is_enabled()
    assert abs(resume.rect["y"] - restart.rect["y"]) < 4, (resume.rect, restart.rect)
    assert restart.rect["x"] > resume.rect["x"]
    buttons = [b.get_attribute("data-testid") for b in row.find_elements(By.CSS_SELECTOR, ".actions > button")]
    assert buttons.index("run-restart") == buttons.index("run-now") + 1, buttons
    screenshot(driver, "export-row-resume-or-start-over", focus=row)

    # Start over asks first; Cancel leaves the choice as it was.
    restart.click()
    dialog = wait_for(driver, "confirm-dialog")
    assert name in dialog.text
    click(dialog, "confirm-cancel")
    wait_gone(driver, "confirm-dialog")
    assert not visible(driver, "run-view")
    assert wait_for(export_row(driver, name), "run-now").text == "Resume"

    click(export_row(driver, name), "run-restart")
    dialog = wait_for(driver, "confirm-dialog")
    assert wait_for(dialog, "confirm-ok").text == "Start over"
    click(dialog, "confirm-ok")
    wait_gone(driver, "confirm-dialog")
    wait_for(driver, "run-view")
    summary = wait_summary(driver, timeout=60)
    assert status_of(summary) == "succeeded"
    assert not visible(driver, "run-not-continued"), "Start over is not a run the app failed to continue"
    assert sandbox.members(list_id) == many_csv.valid_emails
    close_run(driver)
    assert wait_for(export_row(driver, name), "run-now").text == "Run now"
    assert not visible(export_row(driver, name), "run-restart")
    assert last_status(driver, name) == "succeeded"

    # History: the cancelled run was not continued; the fresh one succeeded.
    go(driver, "history")

    def two_rows():
        click(driver, "history-refresh")
        time.sleep(0.3)
        return len(visible(driver, "history-row")) == 2

    wait_until(driver, two_rows, lambda: f"History shows {len(visible(driver, 'history-row'))} runs", timeout=10)
    rows = visible(driver, "history-row")  # newest first
    assert [history_row_status(r) for r in rows] == ["succeeded", "superseded"]
    assert "Not continued" in rows[1].text, rows[1].text
    click(rows[1], "history-details")
    wait_for(driver, "details-superseded")
    screenshot(driver, "history-superseded")
    click(driver, "details-close")
