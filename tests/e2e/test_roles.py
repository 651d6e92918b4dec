"""End-to-end: the contributor guardrail. A contributor cannot add or remove connections (and is
told why), cannot use an admins-only connection (its export says why it cannot run), and can run
exports over a connection shared with contributors."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from conftest import CsvFile, Sandbox
from helpers import (
    choose_connection,
    click,
    count,
    create_connection,
    css,
    export_row,
    go,
    open_new_export,
    pick_file_segment,
    run_now,
    save_export,
    screenshot,
    type_into,
    visible,
    wait_for,
    wait_summary,
    wait_until,
)

ONLY_ADMINS = "Only admins add, change or remove connections."


def test_contributor_guardrail(driver: WebDriver, sandbox: Sandbox, csv_file: CsvFile):
    list_id = sandbox.create_list("Spring newsletter")
    create_connection(driver, "Main store", sandbox.key, sandbox.url)  # admins only (the default)
    create_connection(driver, "Shared store", sandbox.key, sandbox.url, shared=True)
    form = open_new_export(driver, "Admins' newsletter")
    pick_file_segment(form, csv_file)
    choose_connection(form, "Main store")
    type_into(form, "export-list-id", list_id)
    save_export(driver, form, "Admins' newsletter")

    # Settings: switch to contributor.
    go(driver, "settings")
    type_into(driver, "settings-operator", "Tomasz Wiśniewski")
    click(driver, "settings-role-contributor")
    click(driver, "settings-save")
    saved = wait_for(driver, "settings-saved")
    assert saved.text == "Saved. You are Tomasz Wiśniewski, a contributor.", saved.text
    wait_until(driver, lambda: wait_for(driver, "operator-role").text == "Contributor", "the header does not say Contributor")
    screenshot(driver, "settings")

    # Connections: no "New connection", no edit or remove — with the reason; only the shared one.
    go(driver, "connections")
    new = wait_for(driver, "new-connection")
    assert not new.is_enabled()
    assert new.get_attribute("title") == ONLY_ADMINS
    assert "only admins add, change or remove connections" in wait_for(driver, "contributor-note").text
    rows = visible(driver, "connection-row")
    assert [r.get_attribute("data-name") for r in rows] == ["Shared store"]
    assert not rows[0].find_elements(By.CSS_SELECTOR, css("conn-remove"))
    assert not rows[0].find_elements(By.CSS_SELECTOR, css("conn-edit"))
    assert wait_for(rows[0], "conn-admin-only").text == "Only admins change or remove connections."

    # The export over the admins-only connection cannot run, and says why.
    go(driver, "exports")
    row = export_row(driver, "Admins' newsletter")
    run = wait_for(row, "run-now")
    assert not run.is_enabled()
    reason = run.get_attribute("title")
    assert reason and reason in row.text

    # A new export offers only the shared connection, and it runs.
    form = open_new_export(driver, "Shared newsletter")
    pick_file_segment(form, csv_file)
    options = [o.text for o in Select(wait_for(form, "export-connection")).options if o.get_attribute("value")]
    assert [o.split(" (")[0] for o in options] == ["Shared store"], options
    choose_connection(form, options[0])
    type_into(form, "export-list-id", list_id)
    save_export(driver, form, "Shared newsletter")
    run_now(driver, "Shared newsletter")
    wait_summary(driver, timeout=60)
    assert count(driver, "imported") == len(csv_file.valid_emails)
    assert sandbox.members(list_id) == csv_file.valid_emails
    # (Checked last, so that a wrong reason does not hide the rest.) The reason is the real one:
    # the connection exists but is for admins only.
    assert "admin" in reason.lower() and "removed" not in reason.lower(), f"the reason given is {reason!r}"
