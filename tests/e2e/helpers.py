"""UI helpers for the end-to-end suite: waiting for data-testids, and the flows every test uses
(a connection, a source, a segment, an export, a run). They follow the UI contract
(/tmp/contract/ui-contract.md at the time of writing; the data-testids are the contract)."""

from __future__ import annotations

import json
import time

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import SCREENS, CsvFile

TABS = ["exports", "sources", "segments", "connections", "history", "settings"]


# --- Finding and waiting -------------------------------------------------------------------------


def css(testid: str, **attrs: str) -> str:
    selector = f'[data-testid="{testid}"]'
    for name, value in attrs.items():
        selector += f'[{name.replace("_", "-")}="{value}"]'
    return selector


def visible(scope, testid: str, **attrs: str) -> list[WebElement]:
    found = []
    for el in scope.find_elements(By.CSS_SELECTOR, css(testid, **attrs)):
        try:
            if el.is_displayed():
                found.append(el)
        except StaleElementReferenceException:
            pass
    return found


def wait_for(scope, testid: str, timeout: float = 10, **attrs: str) -> WebElement:
    """The first displayed element with this data-testid (and attributes), waiting for it."""

    def present(_):
        found = visible(scope, testid, **attrs)
        return found[0] if found else False

    return WebDriverWait(scope, timeout, poll_frequency=0.1).until(
        present, message=f"no visible {css(testid, **attrs)} after {timeout} s"
    )


def wait_gone(scope, testid: str, timeout: float = 10, **attrs: str) -> None:
    WebDriverWait(scope, timeout, poll_frequency=0.1).until(
        lambda _: not visible(scope, testid, **attrs), message=f"{css(testid, **attrs)} still shown after {timeout} s"
    )


def wait_until(driver: WebDriver, condition, message, timeout: float = 10):
    """`message` may be a callable (evaluated on timeout) to say what was seen instead."""
    try:
        return WebDriverWait(
            driver, timeout, poll_frequency=0.1, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
        ).until(lambda _: condition())
    except Exception as e:  # noqa: BLE001 - re-raised with the message
        text = message() if callable(message) else message
        raise AssertionError(f"{text} (after {timeout} s)") from e


def type_into(scope, testid: str, text: str) -> None:
    el = wait_for(scope, testid)
    # React keeps controlled inputs: WebDriver's clear() empties the DOM behind React's back,
    # and the next re-render (the app still loading something) puts the old value back. So no
    # clear(): select-all + Delete are key events React sees, and its state is emptied too.
    el.send_keys("\ue009a\ue017")  # Ctrl+A, Delete
    el.send_keys(text)
    assert el.get_attribute("value") == text, f"{testid} holds {el.get_attribute('value')!r}"


def click(scope, testid: str, **attrs: str) -> None:
    el = wait_for(scope, testid, **attrs)
    # WebKitWebDriver does not scroll inside a scrolled dialog by itself.
    el.parent.execute_script("arguments[0].scrollIntoView({block: 'nearest'})", el)
    el.click()


def select(scope, testid: str) -> Select:
    return Select(wait_for(scope, testid))


def selected_value(scope, testid: str) -> str:
    return select(scope, testid).first_selected_option.get_attribute("value")


def texts(elements) -> list[str]:
    """The elements' text content (also for cells scrolled out of sight, which .text leaves empty)."""
    return [(el.get_attribute("textContent") or "").strip() for el in elements]


def screenshot(driver: WebDriver, name: str, focus: WebElement | None = None, block: str = "center") -> None:
    """A screen for the docs: target/e2e/screens/<name>.png (scrolled to `focus` if given)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    if focus is not None:
        driver.execute_script("arguments[0].scrollIntoView({block: arguments[1]})", focus, block)
    time.sleep(0.3)  # let transitions and the last paint settle
    assert driver.save_screenshot(str(SCREENS / f"{name}.png")), name


def go(driver: WebDriver, tab: str) -> None:
    click(driver, f"nav-{tab}")
    wait_until(
        driver,
        lambda: wait_for(driver, f"nav-{tab}").get_attribute("aria-current") == "page",
        f"the {tab} tab is not current",
    )


def no_error_banner(driver: WebDriver) -> None:
    banners = visible(driver, "error-banner")
    assert not banners, f"error banner: {banners[0].text}"


# --- Connections ---------------------------------------------------------------------------------


def create_connection(driver: WebDriver, name: str, key: str, base_url: str, shared: bool = False) -> WebElement:
    """Fill in and save a new connection through the UI (consent given); returns its row."""
    go(driver, "connections")
    click(driver, "new-connection")
    form = wait_for(driver, "connection-form")
    type_into(form, "conn-name", name)
    type_into(form, "conn-key", key)
    click(form, "conn-advanced")
    type_into(form, "conn-base-url", base_url)
    if shared:
        click(form, "conn-usable-contributors")
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


def verify(driver: WebDriver, row_name: str, timeout: float = 20) -> WebElement:
    row = wait_for(driver, "connection-row", data_name=row_name)
    click(row, "conn-verify")
    return wait_for(row, "verify-result", timeout=timeout)


# --- Sources and segments ------------------------------------------------------------------------


def add_source(driver: WebDriver, name: str, file_name: str) -> WebElement:
    """Sources → New source (the dialog returns SEGPORT_TEST_PICK_FILE) → name → Save."""
    go(driver, "sources")
    wait_for(driver, "sources-screen")
    click(driver, "new-source")
    form = wait_for(driver, "source-form")
    prefilled = wait_for(form, "source-name").get_attribute("value")
    assert prefilled and prefilled in file_name, f"source name pre-filled with {prefilled!r}, file {file_name!r}"
    type_into(form, "source-name", name)
    click(form, "source-save")
    wait_for(driver, "source-saved")
    return wait_for(driver, "source-row", data_name=name)


def source_columns(row: WebElement) -> list[str]:
    return texts(wait_for(row, "source-columns").find_elements(By.CSS_SELECTOR, "li"))


def segment_count(driver: WebDriver, form: WebElement, matching: int, total: int, timeout: float = 15) -> WebElement:
    """Waits for the live count to settle on `matching` of `total` rows."""

    def settled():
        if visible(form, "segment-preview-loading"):
            return False
        el = visible(form, "segment-count")
        if not el:
            return False
        return el[0] if (el[0].get_attribute("data-matching"), el[0].get_attribute("data-total")) == (str(matching), str(total)) else False

    def seen():
        el = visible(form, "segment-count")
        errors = visible(form, "segment-error")
        return (
            f"expected {matching} of {total} matching; the form shows "
            f"{(el[0].get_attribute('data-matching'), el[0].get_attribute('data-total'), el[0].text) if el else 'no count'}"
            f"{' and the error ' + errors[0].text if errors else ''}"
        )

    return wait_until(driver, settled, seen, timeout=timeout)


def set_rule(rule: WebElement, column: str, cmp: str, value: str | None) -> None:
    Select(wait_for(rule, "rule-column")).select_by_visible_text(column)
    Select(wait_for(rule, "rule-cmp")).select_by_value(cmp)
    if value is not None:
        type_into(rule, "rule-value", value)


def new_segment_form(driver: WebDriver, name: str, source_name: str) -> WebElement:
    go(driver, "segments")
    wait_for(driver, "segments-screen")
    click(driver, "new-segment")
    form = wait_for(driver, "segment-form")
    type_into(form, "segment-name", name)
    Select(wait_for(form, "segment-source")).select_by_visible_text(source_name)
    return form


def add_rule(driver: WebDriver, form: WebElement, column: str, cmp: str, value: str | None) -> WebElement:
    group = wait_for(form, "rule-group")
    before = len(group.find_elements(By.CSS_SELECTOR, css("rule")))
    click(group, "add-rule")
    wait_until(driver, lambda: len(group.find_elements(By.CSS_SELECTOR, css("rule"))) == before + 1, "no new rule")
    rule = group.find_elements(By.CSS_SELECTOR, css("rule"))[-1]
    set_rule(rule, column, cmp, value)
    return rule


def save_segment(driver: WebDriver, form: WebElement, name: str) -> WebElement:
    save = wait_for(form, "segment-save")
    assert save.is_enabled(), "Save segment is disabled"
    save.click()
    wait_for(driver, "segment-saved")
    return wait_for(driver, "segment-row", data_name=name)


# --- Exports -------------------------------------------------------------------------------------


def open_new_export(driver: WebDriver, name: str) -> WebElement:
    go(driver, "exports")
    click(driver, "new-export")
    form = wait_for(driver, "export-form")
    type_into(form, "export-name", name)
    return form


def pick_file_segment(form: WebElement, csv_file: CsvFile) -> None:
    """"New from a file…" (the dialog returns SEGPORT_TEST_PICK_FILE): the file's segment is chosen."""
    click(form, "export-pick-file")
    wait_until(form.parent, lambda: wait_for(form, "segment-file-name").text == csv_file.path.name,
               lambda: f"segment-file-name shows {texts(visible(form, 'segment-file-name'))}, not {csv_file.path.name}")
    assert texts(wait_for(form, "segment-columns").find_elements(By.CSS_SELECTOR, "li")) == csv_file.header


def preview_profiles(driver: WebDriver, form: WebElement, n: int = 5, timeout: float = 15) -> list[WebElement]:
    preview = wait_for(form, "mapping-preview", timeout=timeout)
    wait_until(
        driver,
        lambda: len(visible(preview, "profile-preview")) == n,
        lambda: f"the preview shows {len(visible(preview, 'profile-preview'))} profiles, not {n}: {preview.text[:300]}",
        timeout=timeout,
    )
    return visible(preview, "profile-preview")


def profile_json(item: WebElement) -> dict:
    return json.loads(item.find_element(By.CSS_SELECTOR, "pre").text)


def choose_connection(form: WebElement, label: str) -> None:
    Select(wait_for(form, "export-connection")).select_by_visible_text(label)


def save_export(driver: WebDriver, form: WebElement, name: str) -> WebElement:
    save = wait_for(form, "export-save")
    assert save.is_enabled(), "Save export is disabled"
    save.click()
    assert wait_for(driver, "export-saved").text == "Saved. Saving does not run the export."
    return wait_for(driver, "export-row", data_name=name)


def export_row(driver: WebDriver, name: str) -> WebElement:
    return wait_for(driver, "export-row", data_name=name)


def run_now(driver: WebDriver, name: str, label: str = "Run now") -> WebElement:
    """Clicks the row's run button (checking its label) and returns the run view."""
    button = wait_for(export_row(driver, name), "run-now")
    assert button.text == label, f"the run button says {button.text!r}, not {label!r}"
    assert button.is_enabled(), f"{label} is disabled: {button.get_attribute('title')}"
    button.click()
    return wait_for(driver, "run-view")


def wait_summary(driver: WebDriver, timeout: float = 90) -> WebElement:
    def done():
        errors = visible(driver, "run-error")
        if errors:
            raise AssertionError(f"the run failed: {errors[0].text}")
        found = visible(driver, "run-summary")
        return found[0] if found else False

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda _: done(), message="no run summary")


def close_run(driver: WebDriver) -> None:
    click(driver, "run-close")
    wait_gone(driver, "run-view")


def count(driver: WebDriver, name: str) -> int:
    return int(wait_for(driver, f"count-{name}").get_attribute("data-value"))


def reject_cells(scope) -> list[list[str]]:
    """The rejects table as [line, identifier, reason] rows."""
    table = wait_for(scope, "rejects-table")
    return [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")] for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def history_row_status(row: WebElement) -> str:
    return row.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status")


def set_value(driver: WebDriver, el: WebElement, value: str) -> None:
    """Sets an input's value as a user would (React sees an input event): for inputs such as
    type=time whose keyboard entry differs between engines."""
    driver.execute_script(
        """
        const [el, value] = arguments;
        const proto = el.tagName === 'SELECT' ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
        Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
        """,
        el,
        value,
    )
    assert el.get_attribute("value") == value, f"the input holds {el.get_attribute('value')!r}, not {value!r}"


OPERATOR = "Marta Kowalska"


def set_operator(driver: WebDriver, name: str = OPERATOR) -> None:
    """Settings → your name (recorded with runs and consents; shown in the header)."""
    go(driver, "settings")
    type_into(driver, "settings-operator", name)
    click(driver, "settings-save")
    wait_until(driver, lambda: name in wait_for(driver, "settings-saved").text, "the name was not saved")
    wait_until(driver, lambda: name in wait_for(driver, "operator").text, "the header does not show the name")
