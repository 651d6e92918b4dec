"""End-to-end: the real window over WebDriver, against the local Klaviyo sandbox.

The reference flow (connection → export from a file → save → run → summary), connections
without a usable connection or with a wrong key, CRLF files and their rejects file, the list
picker. Helpers live in helpers.py (re-exported here for other test modules)."""

from __future__ import annotations

import csv
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from conftest import BULK_IMPORT, CsvFile, Sandbox
from helpers import (  # noqa: F401 - re-exported for other test modules
    OPERATOR,
    choose_connection,
    click,
    close_run,
    count,
    create_connection,
    css,
    go,
    history_row_status,
    no_error_banner,
    open_new_export,
    pick_file_segment,
    preview_profiles,
    profile_json,
    reject_cells,
    run_now,
    save_export,
    screenshot,
    set_operator,
    selected_value,
    type_into,
    verify,
    visible,
    wait_for,
    wait_summary,
    wait_until,
)


def test_reference_flow_connection_export_save_run_summary(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile):
    list_id = sandbox.create_list("Spring newsletter")
    wait_for(driver, "welcome-card")  # nothing configured yet: the demo offers itself
    set_operator(driver)

    # A connection to the sandbox, checked with "Connect".
    create_connection(driver, "Main store", sandbox.key, sandbox.url)
    result = verify(driver, "Main store")
    assert result.get_attribute("data-ok") == "true", result.text
    assert result.text == "Connected to Segport Sandbox"
    row = wait_for(driver, "connection-row", data_name="Main store")
    wait_until(driver, lambda: "Segport Sandbox" in row.find_element(By.CSS_SELECTOR, css("conn-account")).text,
               "the row does not show the verified account")
    screenshot(driver, "connections")

    # A new export from a file: the file's columns, the email column suggested, the first five
    # profiles exactly as they will be sent (line 5 has a broken email: a reject).
    form = open_new_export(driver, "Spring newsletter")
    pick_file_segment(form, csv_file)
    assert selected_value(form, "mapping-email") == "email"
    profiles = preview_profiles(driver, form)
    assert [p.get_attribute("data-line") for p in profiles] == ["2", "3", "4", "5", "6"]
    assert [p.get_attribute("data-reject") for p in profiles] == ["false", "false", "false", "true", "false"]
    first = csv_file.customers[0]
    assert profile_json(profiles[0])["email"] == first.email, profiles[0].text
    reject = profiles[3]
    assert csv_file.invalid[5] == "not-an-email"
    reject_text = reject.find_element(By.CSS_SELECTOR, "pre").text
    assert reject_text.strip(), "the reject in the preview gives no reason"
    assert "5" in reject.text, f"the reject does not show its line: {reject.text!r}"
    choose_connection(form, "Main store (Segport Sandbox)")
    type_into(form, "export-list-id", list_id)
    screenshot(driver, "export-form-mapping-preview", focus=wait_for(form, "mapping-preview"), block="center")

    # Saving sends nothing to Klaviyo.
    export = save_export(driver, form, "Spring newsletter")
    assert "Never run" in wait_for(export, "export-last-run").text
    assert sandbox.count(BULK_IMPORT) == 0, sandbox.stats()
    assert sandbox.members(list_id) == []

    # Run it and read the summary.
    run_now(driver, "Spring newsletter")
    summary = wait_summary(driver, timeout=60)
    valid, invalid = len(csv_file.valid_emails), len(csv_file.invalid)
    assert wait_for(summary, "run-status").get_attribute("data-status") == "partial"
    assert wait_for(driver, "run-phase").get_attribute("data-phase") == "finished"
    assert count(driver, "read") == csv_file.rows
    assert count(driver, "imported") == valid
    assert count(driver, "rejected") == invalid
    assert count(driver, "failed-in-klaviyo") == 0

    cells = reject_cells(summary)
    assert cells[0][0] == "5", cells[0]
    assert cells[0][1] == "not-an-email"
    assert [int(c[0]) for c in cells] == sorted(csv_file.invalid)
    assert not summary.find_elements(By.CSS_SELECTOR, css("rejects-more"))
    # The preview's reason for line 5 is the run's.
    assert cells[0][2] in reject_text or reject_text in cells[0][2], (reject_text, cells[0][2])

    assert sandbox.members(list_id) == csv_file.valid_emails
    assert sandbox.profiles_received() == valid, "a batch was sent twice"
    screenshot(driver, "run-summary")

    # Closing the run shows it on the export's row.
    close_run(driver)
    last_status = wait_for(driver, "export-last-status")
    assert last_status.get_attribute("data-status") == "partial"

    # History lists the run; its details have the same counts and rejects.
    go(driver, "history")
    rows = visible(driver, "history-row")
    assert len(rows) == 1
    assert history_row_status(rows[0]) == "partial"
    click(rows[0], "history-details")
    details = wait_for(driver, "run-details")
    wait_for(details, "rejects-table")
    assert [int(c[0]) for c in reject_cells(details)] == sorted(csv_file.invalid)
    assert wait_for(details, "details-status").get_attribute("data-status") == "partial"
    assert int(wait_for(details, "count-imported").get_attribute("data-value")) == valid
    assert wait_for(details, "details-who").text == OPERATOR
    screenshot(driver, "history-details")
    click(details, "details-close")
    no_error_banner(driver)


def test_destination_unavailable_without_a_connection(driver: WebDriver):
    go(driver, "exports")
    click(driver, "new-export")
    form = wait_for(driver, "export-form")
    notice = wait_for(form, "destination-unavailable")
    assert "no usable connection" in notice.text
    assert not form.find_elements(By.CSS_SELECTOR, css("export-connection"))
    assert not wait_for(form, "export-save").is_enabled()

    click(form, "go-to-connections")
    wait_for(driver, "new-connection")
    wait_for(driver, "connections-empty")
    assert wait_for(driver, "nav-connections").get_attribute("aria-current") == "page"
    assert not driver.find_elements(By.CSS_SELECTOR, css("export-form"))


def test_rejected_key_gets_a_clear_message(driver: WebDriver, sandbox: Sandbox):
    create_connection(driver, "Wrong key", "pk_e2e_not_a_key_the_sandbox_knows_42", sandbox.url)
    result = verify(driver, "Wrong key")
    assert result.get_attribute("data-ok") == "false", result.text
    assert "rejected the API key" in result.text
    assert result.get_attribute("role") == "alert"
    row = wait_for(driver, "connection-row", data_name="Wrong key")
    assert "Not checked yet" in wait_for(row, "conn-account").text
    assert sandbox.count("GET /api/accounts") >= 1, sandbox.stats()


@pytest.mark.parametrize("csv_file", ["\r\n"], ids=["crlf"], indirect=True)
def test_reject_lines_of_a_crlf_file_and_rejects_saved_as_csv(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile,
                                                              tmp_path):
    list_id = sandbox.create_list("CRLF customers")
    create_connection(driver, "Main store", sandbox.key, sandbox.url)
    form = open_new_export(driver, "CRLF customers")
    pick_file_segment(form, csv_file)
    choose_connection(form, "Main store")
    type_into(form, "export-list-id", list_id)
    save_export(driver, form, "CRLF customers")
    run_now(driver, "CRLF customers")
    summary = wait_summary(driver, timeout=60)
    assert count(driver, "imported") == len(csv_file.valid_emails)
    cells = reject_cells(summary)
    assert [int(c[0]) for c in cells] == sorted(csv_file.invalid)

    # "Save rejects as CSV…" (the save dialog returns SEGPORT_TEST_SAVE_FILE): the header, then
    # exactly the rejected lines with their identifiers and reasons, as the table shows them.
    saved = tmp_path / "saved-rejects.csv"
    assert not saved.exists()
    click(summary, "save-rejects")
    result = wait_for(summary, "save-rejects-result")
    assert result.text == f"Saved {len(csv_file.invalid)} rejected rows to {saved.name}.", result.text
    with open(saved, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["line", "identifier", "reason"]
    assert rows[1:] == cells
    assert {int(r[0]): r[1] for r in rows[1:]} == csv_file.invalid


def test_list_picker_searches_the_account_and_creates_a_list(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile):
    for name in ["Spring newsletter", "VIP customers", "Winter sale"]:
        sandbox.create_list(name)
    creates_before = sandbox.count("POST /api/lists")
    create_connection(driver, "Picker", sandbox.key, sandbox.url)
    form = open_new_export(driver, "Picked list")
    choose_connection(form, "Picker")
    pick_file_segment(form, csv_file)

    # Browse the account's lists, search by name, pick one: its id fills the list ID field.
    click(form, "browse-lists")
    type_into(form, "list-search", "vip")
    wait_until(driver, lambda: len(form.find_elements(By.CSS_SELECTOR, css("list-option"))) == 1, "search did not narrow to one list")
    option = wait_for(form, "list-option")
    vip_id = option.get_attribute("data-list-id")
    option.click()
    assert wait_for(form, "export-list-id").get_attribute("value") == vip_id
    assert "VIP customers" in wait_for(form, "picked-list-name").text

    # Create a list from the picker: asked first, then created in the account and picked.
    type_into(form, "list-search", "Autumn launch")
    click(form, "create-list")
    dialog = wait_for(driver, "confirm-dialog")
    assert "150 new lists a day" in dialog.text
    click(dialog, "confirm-ok")
    wait_until(driver, lambda: "Autumn launch" in wait_for(form, "picked-list-name").text, "the new list was not picked")
    new_id = wait_for(form, "export-list-id").get_attribute("value")
    assert new_id and new_id != vip_id
    assert sandbox.count("POST /api/lists") == creates_before + 1, sandbox.stats()
    query = urllib.parse.quote('equals(name,"Autumn launch")')
    lists = sandbox._request("GET", f"/api/lists?filter={query}")["data"]
    assert [item["id"] for item in lists] == [new_id]
