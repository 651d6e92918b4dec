"""Fixtures for the end-to-end suite: the Klaviyo sandbox, the app under tauri-driver, a CSV file.

Each test gets its own sandbox, its own empty data folder and its own tauri-driver (which passes
its environment on to the app: that is how SEGPORT_DATA_DIR and SEGPORT_TEST_PICK_FILE reach it).
Run the suite inside tests/with-keyring.sh under Xvfb — see `make e2e`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection

REPO = Path(__file__).resolve().parents[2]
APP = Path(os.environ.get("SEGPORT_E2E_APP", REPO / "target/debug/segport"))
SANDBOX = Path(os.environ.get("SEGPORT_E2E_SANDBOX", REPO / "target/debug/segport-sandbox"))
ARTIFACTS = REPO / "target/e2e"

SANDBOX_KEY = "pk_e2e_0123456789abcdefghijklmnop"
KLAVIYO_REVISION = "2026-07-15"


def _tauri_driver() -> str:
    explicit = os.environ.get("TAURI_DRIVER")
    if explicit:
        return explicit
    found = shutil.which("tauri-driver")
    if found:
        return found
    # tests/with-keyring.sh moves HOME but keeps CARGO_HOME.
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    candidate = cargo_home / "bin/tauri-driver"
    if candidate.exists():
        return str(candidate)
    pytest.exit("tauri-driver not found: run `cargo install tauri-driver --locked`", returncode=2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def _stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM (tauri-driver then stops WebKitWebDriver and the app), then clean up the group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # The process was started in its own session: whatever is left of its group is ours.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def pytest_sessionstart(session):
    missing = [str(p) for p in (APP, SANDBOX) if not p.exists()]
    if missing:
        pytest.exit(
            f"missing {', '.join(missing)}: run `cargo build -p segport -p segport-sandbox`", returncode=2
        )


# --- The sandbox -----------------------------------------------------------------------------


@dataclass
class Sandbox:
    url: str
    key: str

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> dict:
        headers = {"revision": KLAVIYO_REVISION, "Accept": "application/vnd.api+json"}
        if auth:
            headers["Authorization"] = f"Klaviyo-API-Key {self.key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/vnd.api+json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def create_list(self, name: str = "E2E") -> str:
        body = {"data": {"type": "list", "attributes": {"name": name}}}
        return self._request("POST", "/api/lists", body)["data"]["id"]

    def members(self, list_id: str) -> list[str]:
        return self._request("GET", f"/__sandbox/lists/{list_id}/members", auth=False)["emails"]

    def stats(self) -> dict:
        """{"routes": {route: n}, "statuses": {status: n}, "route_statuses": {...}}"""
        return self._request("GET", "/__sandbox/stats", auth=False)

    def count(self, route: str) -> int:
        return self.stats()["routes"].get(route, 0)


@pytest.fixture
def sandbox(tmp_path: Path):
    log = tmp_path / "sandbox.log"
    out = tmp_path / "sandbox.out"
    with open(out, "wb") as stdout, open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [str(SANDBOX), "--port", "0", "--key", SANDBOX_KEY, "--job-processing-ms", "50"],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 10
        url = None
        while url is None:
            first = out.read_text().partition("\n")
            if first[1] and first[0].startswith("listening on "):
                url = first[0].removeprefix("listening on ").strip()
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start:\n{_tail(out)}\n{_tail(log)}")
            else:
                time.sleep(0.02)
        yield Sandbox(url=url, key=SANDBOX_KEY)
    finally:
        _stop(proc, timeout=5)


# --- A CSV file ------------------------------------------------------------------------------


@dataclass
class CsvFile:
    path: Path
    rows: int
    valid_emails: list[str]
    # line number (1-based, the header is line 1) -> the bad email on it
    invalid: dict[int, str] = field(default_factory=dict)


@pytest.fixture
def csv_file(request, tmp_path: Path) -> CsvFile:
    """3,000 customers; 20 of them have a broken email at known lines. The line terminator is
    "\n" unless the test parametrizes this fixture indirectly with another one."""
    terminator = getattr(request, "param", "\n")
    rows = 3000
    bad_values = ["not-an-email", "two@@x.com", ""]
    bad_lines = [5, 17, 99, 150, 151, 400, 777, 1000, 1234, 1500, 1777, 2000, 2222, 2345, 2500, 2718, 2800, 2900, 2999, 3001]
    path = tmp_path / "customers-e2e.csv"
    csv_data = CsvFile(path=path, rows=rows, valid_emails=[])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator=terminator)
        writer.writerow(["email", "first_name", "last_name"])
        for i in range(rows):
            line = i + 2
            if line in bad_lines:
                email = bad_values[bad_lines.index(line) % len(bad_values)]
                csv_data.invalid[line] = email
            else:
                email = f"customer{i:05d}@example.com"
                csv_data.valid_emails.append(email)
            writer.writerow([email, f"First{i}", f"Last{i}"])
    assert len(csv_data.invalid) == len(bad_lines)
    return csv_data


# --- The app under tauri-driver ----------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def driver(request, tmp_path: Path, data_dir: Path):
    """A WebDriver session on a fresh app (empty data folder). Uses `csv_file` as the file the
    "Choose CSV file…" button returns when the test asks for that fixture."""
    env = dict(os.environ)
    env["SEGPORT_DATA_DIR"] = str(data_dir)
    env.pop("SEGPORT_TEST_PICK_FILE", None)
    if "csv_file" in request.fixturenames:
        env["SEGPORT_TEST_PICK_FILE"] = str(request.getfixturevalue("csv_file").path)

    port, native_port = _free_port(), _free_port()
    log = tmp_path / "tauri-driver.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [_tauri_driver(), "--port", str(port), "--native-port", str(native_port)],
            env=env,
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    session = None
    try:
        # tauri-driver listens at once but proxies to WebKitWebDriver, which starts a moment later:
        # a session request before then gets its connection dropped.
        _wait_for_port(port, proc)
        _wait_for_port(native_port, proc)
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {"application": str(APP)})
        connection = RemoteConnection(client_config=ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}"))
        session = webdriver.Remote(command_executor=connection, options=options)
        session.implicitly_wait(0)
        yield session
    finally:
        failed = getattr(request.node, "rep_call", None)
        if session is not None and failed is not None and failed.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            try:
                session.save_screenshot(str(ARTIFACTS / f"{request.node.name}-failure.png"))
            except Exception:  # noqa: BLE001 - the screenshot is only a help
                pass
        if session is not None:
            try:
                session.quit()
            except Exception:  # noqa: BLE001 - the process group is cleaned up below anyway
                pass
        _stop(proc)
        if failed is not None and failed.failed:
            print(f"--- tauri-driver / app log ({log}) ---\n{_tail(log)}")
