"""End-to-end: a 200,000-row export against a slowed-down Klaviyo (every bulk import waits 1.5 s
in the sandbox), cancelled then resumed, and killed (SIGKILL) mid-run then resumed in a new app
process. Every valid profile reaches the list, and the resumed run sends exactly what had not
been acknowledged. After a cancel (the app still running) nothing at all is sent twice; after a
kill, a request in flight that Klaviyo accepted as the app died cannot have been recorded, and is
sent again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from conftest import App, CsvFile, Sandbox, checkpoints, write_customers
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
    set_operator,
    type_into,
    visible,
    wait_for,
    wait_summary,
    wait_until,
)

ROWS = 200_000
BATCH = 10_000
# Each bulk import request waits this long in the sandbox before it is answered.
SLOW_MS = 1500
SLOW = f"bulk_import_profiles=slow:{SLOW_MS}@1"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> CsvFile:
    bad = {3, 1_000, 50_000, 123_457, 199_999, ROWS + 1}
    return write_customers(tmp_path_factory.mktemp("big") / "customers-200k.csv", ROWS, bad, keep=False)


def set_up_export(driver: WebDriver, sandbox: Sandbox, big_csv: CsvFile, name: str) -> str:
    list_id = sandbox.create_list(name)
    create_connection(driver, "Main store", sandbox.key, sandbox.url)
    form = open_new_export(driver, name)
    pick_file_segment(form, big_csv)
    choose_connection(form, "Main store")
    type_into(form, "export-list-id", list_id)
    save_export(driver, form, name)
    return list_id


def resume_button(driver: WebDriver, name: str):
    button = wait_for(export_row(driver, name), "run-now")
    return button if button.get_attribute("data-resumable") == "true" else False


def stopped_with(sandbox: Sandbox, data_dir: Path, batches: int) -> tuple[dict[str, int], set[str]]:
    """After a cancel or a kill: the batches the app checkpointed as acknowledged, and every job
    the sandbox holds once the requests that were in flight have ended (a request abandoned in
    flight may still have been processed: it was never acknowledged, so it is sent again)."""
    acked = checkpoints(data_dir)
    assert 0 < len(acked) < batches, f"{len(acked)} of {batches} batches acknowledged when stopped"
    time.sleep(SLOW_MS / 1000 + 0.5)
    jobs = {j["id"] for j in sandbox.import_jobs()}
    assert set(acked) <= jobs, "a checkpointed job is unknown to Klaviyo"
    return acked, jobs


def assert_exact(driver: WebDriver, sandbox: Sandbox, list_id: str, big_csv: CsvFile,
                 acked: dict[str, int], before: set[str], data_dir: Path) -> None:
    """The list holds exactly the valid profiles, and the resumed run sent exactly those that had
    not been acknowledged: no acknowledged batch twice, none missing."""
    valid = len(big_csv.valid_emails)
    assert count(driver, "imported") == valid
    assert count(driver, "rejected") == len(big_csv.invalid)
    assert sandbox.members(list_id) == big_csv.valid_emails
    jobs = sandbox.import_jobs()
    resumed = sum(j["total_count"] for j in jobs if j["id"] not in before)
    acknowledged = sum(acked.values())
    abandoned = sum(j["total_count"] for j in jobs if j["id"] in before and j["id"] not in acked)
    print(f"acknowledged before the stop: {len(acked)} jobs, {acknowledged} profiles; abandoned in flight but "
          f"processed: {len(before) - len(acked)} jobs, {abandoned} profiles; resumed: {resumed} profiles")
    assert resumed == valid - acknowledged, (
        f"the resumed run sent {resumed} profiles; {valid} valid - {acknowledged} acknowledged = "
        f"{valid - acknowledged}: {'an acknowledged batch was sent again' if resumed > valid - acknowledged else 'rows are missing'}"
    )
    assert set(acked) <= set(checkpoints(data_dir)), "the resumed run lost earlier checkpoints"


@pytest.mark.pick_file("big_csv")
def test_cancel_then_resume_sends_no_acknowledged_batch_twice(driver: WebDriver, sandbox: Sandbox, big_csv: CsvFile,
                                                             data_dir: Path):
    set_operator(driver)
    list_id = set_up_export(driver, sandbox, big_csv, "Everyone")
    batches = -(-len(big_csv.valid_emails) // BATCH)
    sandbox.set_faults(SLOW)
    run_now(driver, "Everyone")
    # Some batches acknowledged: checkpointed by the app.
    wait_until(driver, lambda: checkpoints(data_dir), "no batch acknowledged", timeout=60)
    wait_until(driver, lambda: visible(driver, "run-sparkline"), "no sparkline of the rate", timeout=10)
    screenshot(driver, "run-in-progress")
    click(driver, "run-cancel")
    summary = wait_summary(driver, timeout=30)
    assert wait_for(summary, "run-status").get_attribute("data-status") == "cancelled"
    acked, before = stopped_with(sandbox, data_dir, batches)
    assert count(driver, "sent") == sum(acked.values())
    close_run(driver)

    # The row offers to resume; resuming finishes the run with the rest only.
    button = wait_until(driver, lambda: resume_button(driver, "Everyone"), "the export does not offer Resume")
    assert button.text == "Resume"
    assert wait_for(export_row(driver, "Everyone"), "export-last-status").get_attribute("data-status") == "cancelled"
    sandbox.clear_faults()
    run_now(driver, "Everyone", label="Resume")
    summary = wait_summary(driver, timeout=120)
    assert wait_for(summary, "run-status").get_attribute("data-status") == "partial"
    assert_exact(driver, sandbox, list_id, big_csv, acked, before, data_dir)
    close_run(driver)
    assert wait_for(export_row(driver, "Everyone"), "run-now").text == "Run now"

    # Cancelling is not a crash: the app is there to take Klaviyo's answers to the requests in
    # flight, so every batch Klaviyo accepted is checkpointed, and none is sent twice in all.
    unrecorded = sorted(before - set(acked))
    received = sandbox.profiles_received()
    assert not unrecorded and received == len(big_csv.valid_emails), (
        f"{len(unrecorded)} bulk import(s) Klaviyo accepted while the run was being cancelled were not "
        f"checkpointed, so the resumed run sent them again: {received} profiles received for "
        f"{len(big_csv.valid_emails)} valid rows"
    )


@pytest.mark.pick_file("big_csv")
def test_app_killed_mid_run_is_interrupted_and_resumes(app: App, sandbox: Sandbox, big_csv: CsvFile, data_dir: Path):
    driver = app.start()
    list_id = set_up_export(driver, sandbox, big_csv, "Everyone")
    batches = -(-len(big_csv.valid_emails) // BATCH)
    sandbox.set_faults(SLOW)
    run_now(driver, "Everyone")
    # Some batches acknowledged: checkpointed by the app.
    wait_until(driver, lambda: checkpoints(data_dir), "no batch acknowledged", timeout=60)
    app.kill()
    killed = time.monotonic()
    assert not app.app_pids()
    acked, before = stopped_with(sandbox, data_dir, batches)

    # A new app process on the same data folder: at once (the kernel released the dead
    # process's lock on the export; no heartbeat has to age) the run is interrupted in History,
    # and the export offers to resume it.
    driver = app.start()
    go(driver, "history")

    def interrupted():
        time.sleep(0.5)
        click(driver, "history-refresh")
        rows = visible(driver, "history-row")
        return len(rows) == 1 and history_row_status(rows[0]) == "interrupted"

    wait_until(driver, interrupted, lambda: f"History shows {[history_row_status(r) for r in visible(driver, 'history-row')]}",
               timeout=30)
    assert time.monotonic() - killed < 25
    screenshot(driver, "history-interrupted")

    def offers_resume():
        go(driver, "exports")
        return resume_button(driver, "Everyone")

    wait_until(driver, offers_resume, "the export does not offer Resume", timeout=15)
    sandbox.clear_faults()
    run_now(driver, "Everyone", label="Resume")
    summary = wait_summary(driver, timeout=120)
    assert wait_for(summary, "run-status").get_attribute("data-status") == "partial"
    assert_exact(driver, sandbox, list_id, big_csv, acked, before, data_dir)
