"""End-to-end: what the real window may reach, and how it starts when its data or the keychain is
not usable. The IPC checks call Tauri's invoke directly, as injected code would."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

# A few self-contained helpers (this file depends on no other test module).


def css(testid: str) -> str:
    return f'[data-testid="{testid}"]'


def wait_for(scope, testid: str, timeout: float = 10) -> WebElement:
    def present(_):
        for el in scope.find_elements(By.CSS_SELECTOR, css(testid)):
            try:
                if el.is_displayed():
                    return el
            except StaleElementReferenceException:
                pass
        return False

    return WebDriverWait(scope, timeout, poll_frequency=0.1).until(present, message=f"no visible {testid} after {timeout} s")


def wait_until(driver: WebDriver, condition, message: str, timeout: float = 10):
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(lambda _: condition(), message=message)


def click(scope, testid: str) -> None:
    wait_for(scope, testid).click()


def type_into(scope, testid: str, text: str) -> None:
    el = wait_for(scope, testid)
    el.clear()
    el.send_keys(text)
    assert el.get_attribute("value") == text

# Every promise settled into {ok, value} or {ok: false, error} so one round trip answers all.
INVOKE_ALL = """
const done = arguments[arguments.length - 1];
const calls = arguments[0];
const invoke = window.__TAURI_INTERNALS__.invoke;
const settle = (p) => p.then(
  (value) => ({ ok: true, value }),
  (e) => ({ ok: false, error: String((e && e.message) || e) }),
);
Promise.all(calls.map(([cmd, args]) => settle(invoke(cmd, args)))).then(done);
"""


def invoke_all(driver: WebDriver, calls: list[tuple[str, dict]]) -> list[dict]:
    driver.set_script_timeout(10)
    return driver.execute_async_script(INVOKE_ALL, [[cmd, args] for cmd, args in calls])


def test_the_web_view_reaches_segports_commands_and_no_plugin(driver: WebDriver, data_dir: Path):
    wait_for(driver, "operator")  # the UI is up and has talked to the app once
    refused = [
        ("plugin:dialog|open", {"options": {}}),
        ("plugin:dialog|save", {"options": {}}),
        ("plugin:opener|open_path", {"path": "/etc/passwd"}),
        ("plugin:opener|open_url", {"url": "https://example.com"}),
        ("plugin:notification|notify", {"options": {"title": "from the page"}}),
        ("plugin:fs|read_file", {"path": "/etc/passwd"}),
        ("read_any_file", {"path": "/etc/passwd"}),
    ]
    results = invoke_all(driver, [("app_info", {}), ("list_connections", {})] + refused)

    info, connections = results[0], results[1]
    assert info["ok"], info
    assert info["value"]["dataDir"] == str(data_dir)
    assert connections == {"ok": True, "value": []}
    for (cmd, _), res in zip(refused, results[2:]):
        assert not res["ok"], f"{cmd} was allowed: {res}"
        assert "not allowed" in res["error"], f"{cmd}: {res['error']}"


def test_an_inline_script_injected_into_the_page_does_not_run(driver: WebDriver):
    wait_for(driver, "operator")
    driver.set_script_timeout(10)
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
        window.__segportInlineRan = false;
        const s = document.createElement('script');
        s.textContent = 'window.__segportInlineRan = true;';
        document.head.appendChild(s);
        setTimeout(() => done({ ran: window.__segportInlineRan, violations }), 300);
        """
    )
    assert result["ran"] is False, "the CSP let an injected inline script run"
    # Blocked by the Content Security Policy (script-src), not by chance.
    assert any(v.startswith("script-src") for v in result["violations"]), result


GARBAGE = b"This was never a Segport database.\n" * 40


@pytest.fixture
def unreadable_db(data_dir: Path) -> Path:
    """A data folder whose segport.db is not a database (written before the app starts)."""
    db = data_dir / "segport.db"
    db.write_bytes(GARBAGE)
    return db


def test_an_unreadable_database_is_kept_aside_and_the_app_says_so(unreadable_db: Path, driver: WebDriver, data_dir: Path):
    banner = wait_for(driver, "notice-banner")
    kept = sorted(data_dir.glob("segport.db.unreadable-*"))
    assert len(kept) == 1, kept
    assert kept[0].read_bytes() == GARBAGE
    assert "could not be read" in banner.text
    assert str(kept[0]) in banner.text
    # The app works on the fresh database.
    click(driver, "nav-connections")
    wait_for(driver, "connections-empty")
    click(driver, "notice-dismiss")
    wait_until(driver, lambda: not driver.find_elements(By.CSS_SELECTOR, css("notice-banner")), "the notice stays")


@pytest.fixture
def no_keychain(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's session bus leads nowhere: no Secret Service (set before `driver` starts it)."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/segport-e2e/bus")


def test_without_a_keychain_connections_open_and_saving_a_key_explains(no_keychain: None, driver: WebDriver):
    assert not driver.find_elements(By.CSS_SELECTOR, css("error-banner"))
    click(driver, "nav-connections")
    wait_for(driver, "connections-empty")
    click(driver, "new-connection")
    form = wait_for(driver, "connection-form")
    type_into(form, "conn-name", "No keychain")
    type_into(form, "conn-key", "pk_e2e_no_keychain_0123456789")
    consent = wait_for(form, "conn-consent")
    consent.click()
    click(form, "conn-save")
    banner = wait_for(driver, "error-banner")
    assert banner.get_attribute("data-code") == "keychain.unavailable"
    for needle in ("the system keychain is not available", "GNOME Keyring", "KWallet", "api_key_env"):
        assert needle in banner.text, banner.text
    assert "pk_e2e_no_keychain" not in banner.text
    # Nothing was saved half-way.
    click(driver, "nav-connections")
    wait_for(driver, "connections-empty")
