"""End-to-end: the real window over WebDriver, against the local Klaviyo sandbox."""

from __future__ import annotations

import urllib.parse

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ARTIFACTS, CsvFile, Sandbox

BULK_IMPORT = "POST /api/profile-bulk-import-jobs"


# --- Helpers -----------------------------------------------------------------------------------


def css(testid: str, **attrs: str) -> str:
    selector = f'[data-testid="{testid}"]'
    for name, value in attrs.items():
        selector += f'[{name.replace("_", "-")}="{value}"]'
    return selector


def wait_for(scope, testid: str, timeout: float = 10, **attrs: str) -> WebElement:
    """The first displayed element with this data-testid (and attributes), waiting for it."""
    selector = css(testid, **attrs)

    def present(_):
        for el in scope.find_elements(By.CSS_SELECTOR, selector):
            try:
                if el.is_displayed():
                    return el
            except StaleElementReferenceException:
                pass
        return False

    return WebDriverWait(scope, timeout, poll_frequency=0.1).until(
        present, message=f"no visible {selector} after {timeout} s"
    )


def wait_until(driver: WebDriver, condition, message: str, timeout: float = 10):
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
        lambda _: condition(), message=message
    )


def type_into(scope, testid: str, text: str) -> None:
    el = wait_for(scope, testid)
    el.clear()
    el.send_keys(text)
    assert el.get_attribute("value") == text, f"{testid} holds {el.get_attribute('value')!r}"


def click(scope, testid: str, **attrs: str) -> None:
    wait_for(scope, testid, **attrs).click()


def create_connection(driver: WebDriver, name: str, key: str, base_url: str) -> WebElement:
    """Fill in and save a new connection through the UI; returns its row."""
    click(driver, "nav-connections")
    click(driver, "new-connection")
    form = wait_for(driver, "connection-form")
    type_into(form, "conn-name", name)
    type_into(form, "conn-key", key)
    click(form, "conn-advanced")
    type_into(form, "conn-base-url", base_url)
    consent = wait_for(form, "conn-consent")
    consent.click()
    assert consent.is_selected()
    save = wait_for(form, "conn-save")
    assert save.is_enabled(), "Save connection stays disabled with every field filled in"
    save.click()
    saved = wait_for(driver, "conn-saved")
    assert name in saved.text
    row = wait_for(driver, "connection-row", data_name=name)
    assert wait_for(row, "conn-key-badge").text == "key stored"
    return row


def verify(driver: WebDriver, row_name: str) -> WebElement:
    row = wait_for(driver, "connection-row", data_name=row_name)
    click(row, "conn-verify")
    return wait_for(driver, "verify-result", timeout=15)


def create_export(driver: WebDriver, name: str, connection_label: str, csv_file: CsvFile, list_id: str) -> WebElement:
    """Fill in and save a new export through the UI; returns its row."""
    click(driver, "nav-exports")
    click(driver, "new-export")
    form = wait_for(driver, "export-form")
    type_into(form, "export-name", name)
    Select(wait_for(form, "export-connection")).select_by_visible_text(connection_label)
    click(form, "pick-csv")
    headers = wait_for(form, "csv-headers")
    assert [chip.text for chip in headers.find_elements(By.CSS_SELECTOR, "li")] == ["email", "first_name", "last_name"]
    assert wait_for(form, "csv-file-name").text == csv_file.path.name
    email_column = Select(wait_for(form, "export-email-column"))
    email_column.select_by_value("email")
    assert email_column.first_selected_option.text == "email"
    type_into(form, "export-list-id", list_id)
    click(form, "export-save")
    assert wait_for(driver, "export-saved").text == "Saved. Saving does not run the export."
    row = wait_for(driver, "export-row", data_name=name)
    assert "Never run" in wait_for(row, "export-last-run").text
    return row


def reject_cells(summary: WebElement) -> list[list[str]]:
    """The rejects table as [line, identifier, reason] rows."""
    table = wait_for(summary, "rejects-table")
    return [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")] for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def count(driver: WebDriver, name: str) -> int:
    return int(wait_for(driver, f"count-{name}").get_attribute("data-value"))


# --- Tests -------------------------------------------------------------------------------------


def test_reference_flow_connection_export_save_run_summary(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile):
    list_id = sandbox.create_list("E2E")
    wait_for(driver, "welcome-card")  # nothing configured yet: the demo offers itself

    # A connection to the sandbox, checked with "Connect".
    create_connection(driver, "E2E sandbox", sandbox.key, sandbox.url)
    result = verify(driver, "E2E sandbox")
    assert result.get_attribute("data-ok") == "true", result.text
    assert result.text == "Connected to Segport Sandbox"
    row = wait_for(driver, "connection-row", data_name="E2E sandbox")
    wait_until(driver, lambda: "Segport Sandbox" in row.find_element(By.CSS_SELECTOR, css("conn-account")).text,
               "the row does not show the verified account")

    # An export; saving it sends nothing to Klaviyo.
    export_row = create_export(driver, "E2E customers", "E2E sandbox (Segport Sandbox)", csv_file, list_id)
    assert sandbox.count(BULK_IMPORT) == 0, sandbox.stats()
    assert sandbox.members(list_id) == []

    # Run it and read the summary.
    run_now = wait_for(export_row, "run-now")
    assert run_now.is_enabled()
    run_now.click()
    wait_for(driver, "run-view")
    summary = wait_for(driver, "run-summary", timeout=60)

    valid, invalid = len(csv_file.valid_emails), len(csv_file.invalid)
    assert wait_for(summary, "run-status").get_attribute("data-status") == "partial"
    assert wait_for(driver, "run-phase").get_attribute("data-phase") == "finished"
    assert count(driver, "read") == csv_file.rows
    assert count(driver, "imported") == valid
    assert count(driver, "rejected") == invalid
    assert count(driver, "failed-in-klaviyo") == 0

    cells = reject_cells(summary)
    first_line = min(csv_file.invalid)
    assert cells[0][0] == str(first_line), cells[0]
    assert cells[0][1] == csv_file.invalid[first_line]
    assert [int(c[0]) for c in cells] == sorted(csv_file.invalid)
    assert not summary.find_elements(By.CSS_SELECTOR, css("rejects-more"))

    assert sandbox.members(list_id) == sorted(csv_file.valid_emails)
    assert sandbox.count(BULK_IMPORT) >= 1

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / "run-summary.png"))

    # Closing the run shows it on the export's row.
    click(driver, "run-close")
    wait_until(driver, lambda: not driver.find_elements(By.CSS_SELECTOR, css("run-view")), "the run view stays open")
    last_status = wait_for(driver, "export-last-status")
    assert last_status.get_attribute("data-status") == "partial"


def test_destination_unavailable_without_a_connection(driver: WebDriver):
    click(driver, "nav-exports")
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
def test_reject_line_numbers_of_a_crlf_file(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile):
    list_id = sandbox.create_list("E2E CRLF")
    create_connection(driver, "E2E sandbox", sandbox.key, sandbox.url)
    export_row = create_export(driver, "CRLF customers", "E2E sandbox", csv_file, list_id)
    click(export_row, "run-now")
    summary = wait_for(driver, "run-summary", timeout=60)
    assert count(driver, "imported") == len(csv_file.valid_emails)
    assert [int(c[0]) for c in reject_cells(summary)] == sorted(csv_file.invalid)


def test_list_picker_searches_the_account_and_creates_a_list(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile):
    for name in ["Spring newsletter", "VIP customers", "Winter sale"]:
        sandbox.create_list(name)
    creates_before = sandbox.count("POST /api/lists")
    create_connection(driver, "Picker", sandbox.key, sandbox.url)
    click(driver, "nav-exports")
    click(driver, "new-export")
    form = wait_for(driver, "export-form")
    type_into(form, "export-name", "Picked list")
    Select(wait_for(form, "export-connection")).select_by_visible_text("Picker")
    click(form, "pick-csv")
    wait_for(form, "csv-headers")

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
