"""End-to-end: Klaviyo unreachable (the sandbox process killed). Every screen still works, an
export and a segment can be edited and saved; Connect and the list picker say Klaviyo cannot be
reached; once a sandbox answers again, the run works with everything edited offline."""

from __future__ import annotations

from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from conftest import CsvFile, Sandbox
from helpers import (
    add_rule,
    add_source,
    choose_connection,
    click,
    count,
    create_connection,
    export_row,
    go,
    new_segment_form,
    no_error_banner,
    open_new_export,
    run_now,
    save_export,
    save_segment,
    screenshot,
    set_operator,
    segment_count,
    type_into,
    verify,
    wait_for,
    wait_summary,
)

SCREENS = {
    "exports": "export-row",
    "sources": "source-row",
    "segments": "segment-row",
    "connections": "connection-row",
    "history": "history-empty",
    "settings": "settings-form",
}


def test_offline_editing_then_the_run_works_when_klaviyo_is_back(driver: WebDriver, sandbox: Sandbox, make_sandbox,
                                                                  csv_file: CsvFile):
    # Set up while online: a connection, a source, a segment (country is PL), an export.
    set_operator(driver)
    list_before = sandbox.create_list("Newsletter PL")
    create_connection(driver, "Main store", sandbox.key, sandbox.url)
    assert verify(driver, "Main store").get_attribute("data-ok") == "true"
    add_source(driver, "Spring customers", csv_file.path.name)
    form = new_segment_form(driver, "Polish customers", "Spring customers")
    add_rule(driver, form, "country", "eq", "PL")
    segment_count(driver, form, csv_file.count_where(lambda c: c.country == "PL"), csv_file.rows)
    save_segment(driver, form, "Polish customers")
    form = open_new_export(driver, "Newsletter PL")
    Select(wait_for(form, "export-segment")).select_by_visible_text("Polish customers")
    choose_connection(form, "Main store (Segport Sandbox)")
    type_into(form, "export-list-id", list_before)
    save_export(driver, form, "Newsletter PL")

    # The account Segport will reach again later (its list ID is what the user types offline).
    back = make_sandbox("back").start()
    list_after = back.create_list("Newsletter PL (new account)")
    # Klaviyo goes away.
    sandbox.kill()

    # Every tab opens, with what is stored locally.
    for tab, testid in SCREENS.items():
        go(driver, tab)
        wait_for(driver, testid)
        no_error_banner(driver)

    # "Connect" says Klaviyo cannot be reached.
    go(driver, "connections")
    result = verify(driver, "Main store", timeout=60)
    assert result.get_attribute("data-ok") == "false", result.text
    assert "Could not reach" in result.text, result.text

    # The export: the list picker says offline; a typed list ID is saved.
    go(driver, "exports")
    click(export_row(driver, "Newsletter PL"), "export-edit")
    form = wait_for(driver, "export-form")
    assert wait_for(form, "export-list-id").get_attribute("value") == list_before
    click(form, "browse-lists")
    error = wait_for(form, "list-picker-error", timeout=60)
    assert error.get_attribute("data-offline") == "true", error.text
    assert error.text.startswith("Offline: Klaviyo cannot be reached."), error.text
    screenshot(driver, "list-picker-offline", focus=error)
    type_into(form, "export-list-id", list_after)
    row = save_export(driver, form, "Newsletter PL")
    assert list_after in row.text

    # The segment: one more rule, counted and saved offline.
    go(driver, "segments")
    click(wait_for(driver, "segment-row", data_name="Polish customers"), "segment-edit")
    form = wait_for(driver, "segment-form")
    add_rule(driver, form, "orders", "ge", "5")
    expected_count = csv_file.count_where(lambda c: c.country == "PL" and c.orders >= 5)
    segment_count(driver, form, expected_count, csv_file.rows)
    save_segment(driver, form, "Polish customers")
    no_error_banner(driver)

    # Klaviyo is back (the connection's base URL now points at the answering sandbox).
    go(driver, "connections")
    click(wait_for(driver, "connection-row", data_name="Main store"), "conn-edit")
    form = wait_for(driver, "connection-form")
    click(form, "conn-advanced")
    type_into(form, "conn-base-url", back.url)
    # Another address (another port): the stored key and the consent were given for the old one,
    # so both are asked for again.
    wait_for(form, "conn-host-changed")
    consent = wait_for(form, "conn-consent")
    assert not consent.is_selected(), "the consent for the old address is kept for the new one"
    type_into(form, "conn-key", back.key)
    consent.click()
    click(form, "conn-save")
    wait_for(driver, "conn-saved")
    assert verify(driver, "Main store").get_attribute("data-ok") == "true"

    # The run uses everything edited offline: the typed list, the segment's new rule.
    go(driver, "exports")
    run_now(driver, "Newsletter PL")
    wait_summary(driver, timeout=60)
    expected = csv_file.valid_where(lambda c: c.country == "PL" and c.orders >= 5)
    assert count(driver, "imported") == len(expected)
    assert back.members(list_after) == expected
    assert back.profiles_received() == len(expected)
