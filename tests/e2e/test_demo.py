"""The first thing `make run` offers a new user: the demo (built-in sandbox, 50,000-row sample)."""

from __future__ import annotations

from selenium.webdriver.remote.webdriver import WebDriver

from helpers import click, count, export_row, go, no_error_banner, run_now, wait_for, wait_summary


def test_demo_runs_end_to_end_after_the_user_gives_consent(driver: WebDriver):
    wait_for(driver, "welcome-card")
    click(driver, "start-demo")

    # The demo connection opens for the consent the user must give; Segport never gives it.
    note = wait_for(driver, "demo-note", timeout=30)
    assert "50,000" in note.text or "50000" in note.text, note.text
    form = wait_for(driver, "connection-form")
    consent = wait_for(form, "conn-consent")
    assert not consent.is_selected()
    save = wait_for(form, "conn-save")
    assert not save.is_enabled(), "the demo connection saves without consent"
    consent.click()
    save.click()
    wait_for(driver, "conn-saved")

    # The demo export: the sample's segment, mapping and list are ready; Run now sends it.
    go(driver, "exports")
    row = export_row(driver, "Demo customers → Klaviyo")
    assert "All rows of" in row.text, row.text
    run_now(driver, "Demo customers → Klaviyo")
    summary = wait_summary(driver, timeout=120)
    read, imported, rejected = count(driver, "read"), count(driver, "imported"), count(driver, "rejected")
    assert read == 50_000
    assert rejected > 0, "the sample has broken rows, reported with their lines"
    assert imported + rejected == read, (imported, rejected, read)
    assert wait_for(summary, "run-status").get_attribute("data-status") == "partial"
    no_error_banner(driver)
