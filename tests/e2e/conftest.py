"""Fixtures for the end-to-end suite: the Klaviyo sandbox, the app under tauri-driver, CSV files.

Each test gets its own sandbox, its own empty data folder and its own tauri-driver (which passes
its environment on to the app: that is how SEGPORT_DATA_DIR, SEGPORT_TEST_PICK_FILE and
SEGPORT_TEST_SAVE_FILE reach it). A test may stop and start the sandbox (`sandbox.kill()`,
`sandbox.start()`) or the app (`app.kill()`, `app.start()`) on the same data folder.
Run the suite inside tests/with-keyring.sh under Xvfb — see `make e2e`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.remote.webdriver import WebDriver

REPO = Path(__file__).resolve().parents[2]
APP = Path(os.environ.get("SEGPORT_E2E_APP", REPO / "target/debug/segport"))
SANDBOX = Path(os.environ.get("SEGPORT_E2E_SANDBOX", REPO / "target/debug/segport-sandbox"))
ARTIFACTS = REPO / "target/e2e"
SCREENS = ARTIFACTS / "screens"

SANDBOX_KEY = "pk_e2e_0123456789abcdefghijklmnop"
KLAVIYO_REVISION = (REPO / "crates/klaviyo/src/spec.rs").read_text().split('SPEC_REVISION: &str = "', 1)[1].split('"', 1)[0]
BULK_IMPORT = "POST /api/profile-bulk-import-jobs"
WINDOW = (1280, 860)


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


class Sandbox:
    """One `segport-sandbox` process (restartable on the same port) and its test-only routes."""

    def __init__(self, tmp_path: Path, name: str = "sandbox", args: tuple[str, ...] = ()):
        self.key = SANDBOX_KEY
        self.args = list(args)
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._dir = tmp_path
        self._name = name

    # -- process --

    def start(self, port: int | None = None, timeout: float = 10) -> "Sandbox":
        """Start (again). Without `port`, the port it had before (or a free one the first time).
        The new process has an empty account: lists and profiles are gone."""
        assert self.proc is None or self.proc.poll() is not None, "the sandbox is running"
        want = self.port if port is None else port
        self.starts += 1
        out = self._dir / f"{self._name}-{self.starts}.out"
        log = self._dir / f"{self._name}-{self.starts}.log"
        deadline = time.monotonic() + timeout
        while True:
            with open(out, "wb") as stdout, open(log, "wb") as stderr:
                self.proc = subprocess.Popen(
                    [str(SANDBOX), "--port", str(want), "--key", self.key, "--job-processing-ms", "50", *self.args],
                    stdout=stdout,
                    stderr=stderr,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            url = None
            while url is None:
                first = out.read_text().partition("\n")
                if first[1] and first[0].startswith("listening on "):
                    url = first[0].removeprefix("listening on ").strip()
                elif self.proc.poll() is not None:
                    break
                elif time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start:\n{_tail(out)}\n{_tail(log)}")
                else:
                    time.sleep(0.02)
            if url is not None:
                break
            # The old socket may linger a moment after a kill: try the same port again.
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on port {want}:\n{_tail(out)}\n{_tail(log)}")
            time.sleep(0.1)
        self.url = url
        self.port = urllib.parse.urlsplit(url).port or 0
        return self

    def kill(self) -> None:
        """SIGKILL the process (Klaviyo unreachable from now on)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def close(self) -> None:
        if self.proc is not None:
            _stop(self.proc, timeout=5)

    # -- HTTP --

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> dict:
        headers = {"revision": KLAVIYO_REVISION, "Accept": "application/vnd.api+json"}
        if auth:
            headers["Authorization"] = f"Klaviyo-API-Key {self.key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/vnd.api+json"
        url = path if path.startswith("http") else self.url + path
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else {}

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

    def accepted(self, route: str = BULK_IMPORT) -> int:
        """Requests to `route` answered 2xx (for bulk imports: jobs created)."""
        statuses = self.stats()["route_statuses"].get(route, {})
        return sum(n for status, n in statuses.items() if status.startswith("2"))

    def set_faults(self, *specs: str) -> None:
        self._request("POST", "/__sandbox/faults", {"faults": list(specs)}, auth=False)

    def clear_faults(self) -> None:
        self._request("DELETE", "/__sandbox/faults", auth=False)

    def import_jobs(self) -> list[dict]:
        """Every bulk import job the account has (attributes plus id)."""
        jobs, url = [], "/api/profile-bulk-import-jobs?page%5Bsize%5D=100"
        while url:
            doc = self._request("GET", url)
            jobs += [{"id": j["id"], **j["attributes"]} for j in doc["data"]]
            url = (doc.get("links") or {}).get("next")
        return jobs

    def profiles_received(self) -> int:
        """Profiles in all bulk import jobs together: more than the rows sent = a batch sent twice."""
        return sum(j["total_count"] for j in self.import_jobs())


@pytest.fixture
def sandbox(tmp_path: Path, request):
    """A running sandbox. `@pytest.mark.sandbox_args("--fault", "…")` adds options."""
    marker = request.node.get_closest_marker("sandbox_args")
    box = Sandbox(tmp_path, args=tuple(marker.args) if marker else ())
    try:
        yield box.start()
    finally:
        box.close()


@pytest.fixture
def make_sandbox(tmp_path: Path):
    """Another sandbox (not started): `make_sandbox("second").start()`."""
    made: list[Sandbox] = []

    def make(name: str) -> Sandbox:
        box = Sandbox(tmp_path, name=name)
        made.append(box)
        return box

    yield make
    for box in made:
        box.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "sandbox_args(*args): extra segport-sandbox options")
    config.addinivalue_line("markers", "pick_file(name): the fixture whose file the open dialog returns")


# --- Customers files -------------------------------------------------------------------------

FIRST_NAMES = {
    "PL": ["Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł", "Agnieszka", "Michał"],
    "DE": ["Lena", "Jonas", "Sophie", "Lukas", "Mia", "Felix", "Hannah", "Paul"],
    "FR": ["Camille", "Louis", "Chloé", "Hugo", "Léa", "Arthur", "Manon", "Jules"],
    "GB": ["Olivia", "George", "Amelia", "Harry", "Isla", "Oliver", "Emily", "Jack"],
    "US": ["Emma", "Liam", "Ava", "Noah", "Sophia", "Ethan", "Mia", "Mason"],
}
LAST_NAMES = {
    "PL": ["Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski", "Zielińska", "Szymański"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"],
    "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Davies"],
    "US": ["Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Moore"],
}
CITIES = {
    "PL": ["Warszawa", "Kraków", "Gdańsk", "Wrocław", "Poznań"],
    "DE": ["Berlin", "Hamburg", "München", "Köln", "Leipzig"],
    "FR": ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes"],
    "GB": ["London", "Manchester", "Bristol", "Leeds", "Edinburgh"],
    "US": ["New York", "Chicago", "Austin", "Seattle", "Denver"],
}
COUNTRIES = ["PL", "DE", "FR", "GB", "US"]
COLUMNS = ["email", "first_name", "last_name", "city", "country", "orders"]
BAD_EMAILS = ["not-an-email", "two@@example.com", ""]


@dataclass
class Customer:
    line: int
    email: str
    first_name: str
    last_name: str
    city: str
    country: str
    orders: int

    def row(self) -> list[str]:
        return [self.email, self.first_name, self.last_name, self.city, self.country, str(self.orders)]


def customer(i: int, bad: bool = False) -> Customer:
    """Row i (0-based) of every generated file: realistic, deterministic, unique emails."""
    country = COUNTRIES[i % len(COUNTRIES)]
    first = FIRST_NAMES[country][(i // 5) % 8]
    last = LAST_NAMES[country][(i // 40) % 8]
    ascii_name = f"{first}.{last}".lower()
    for a, b in zip("łśćńóźżąęäöüéèç", "lscnozzaeaoueec"):
        ascii_name = ascii_name.replace(a, b)
    email = BAD_EMAILS[i % len(BAD_EMAILS)] if bad else f"{ascii_name}{i}@example.com"
    return Customer(
        line=i + 2,
        email=email,
        first_name=first,
        last_name=last,
        city=CITIES[country][(i // 3) % 5],
        country=country,
        orders=(i * 7) % 13,
    )


@dataclass
class CsvFile:
    path: Path
    rows: int
    valid_emails: list[str]
    # line number (1-based, the header is line 1) -> the bad email on it
    invalid: dict[int, str] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    header: list[str] = field(default_factory=lambda: list(COLUMNS))

    def valid_where(self, pred) -> list[str]:
        return sorted(c.email for c in self.customers if c.line not in self.invalid and pred(c))

    def count_where(self, pred) -> int:
        return sum(1 for c in self.customers if pred(c))


def write_customers(path: Path, rows: int, bad_lines: set[int] = frozenset(), terminator: str = "\n",
                    keep: bool = True) -> CsvFile:
    """`rows` customers; the rows at `bad_lines` (file line numbers) have a broken email."""
    data = CsvFile(path=path, rows=rows, valid_emails=[])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator=terminator)
        writer.writerow(COLUMNS)
        for i in range(rows):
            c = customer(i, bad=(i + 2) in bad_lines)
            if c.line in bad_lines:
                data.invalid[c.line] = c.email
            else:
                data.valid_emails.append(c.email)
            if keep:
                data.customers.append(c)
            writer.writerow(c.row())
    data.valid_emails.sort()
    return data


BAD_LINES = {5, 17, 99, 150, 151, 400, 777, 1000, 1234, 1500, 1777, 2000, 2222, 2345, 2500, 2718, 2800, 2900, 2999, 3001}


@pytest.fixture
def csv_file(request, tmp_path: Path) -> CsvFile:
    """3,000 customers; 20 of them have a broken email at known lines (one among the first
    five rows). The line terminator is "\\n" unless the test parametrizes this fixture
    indirectly with another one."""
    terminator = getattr(request, "param", "\n")
    data = write_customers(tmp_path / "customers-spring.csv", 3000, BAD_LINES, terminator)
    assert len(data.invalid) == len(BAD_LINES)
    return data


# --- The app under tauri-driver ----------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def checkpoints(data_dir: Path) -> dict[str, int]:
    """The bulk import jobs the app recorded as acknowledged by Klaviyo (its run checkpoints):
    job id -> profiles. Read from its database, read-only."""
    db = sqlite3.connect(f"file:{data_dir / 'segport.db'}?mode=ro", uri=True, timeout=5)
    try:
        return dict(db.execute("SELECT job_id, profiles FROM run_jobs").fetchall())
    finally:
        db.close()


class App:
    """The app on one data folder; each `start()` is a new tauri-driver and WebDriver session."""

    def __init__(self, tmp_path: Path, data_dir: Path, env: dict[str, str]):
        self.tmp_path = tmp_path
        self.data_dir = data_dir
        self.env = env
        self.session: WebDriver | None = None
        self.proc: subprocess.Popen | None = None
        self.log: Path | None = None
        self.starts = 0

    def start(self) -> WebDriver:
        assert self.session is None, "stop the running session first"
        env = dict(os.environ)
        for name in ("SEGPORT_TEST_PICK_FILE", "SEGPORT_TEST_SAVE_FILE", "SEGPORT_DATA_DIR"):
            env.pop(name, None)
        env["SEGPORT_DATA_DIR"] = str(self.data_dir)
        env.update(self.env)
        self.starts += 1
        port, native_port = _free_port(), _free_port()
        self.log = self.tmp_path / f"tauri-driver-{self.starts}.log"
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(
                [_tauri_driver(), "--port", str(port), "--native-port", str(native_port)],
                env=env,
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        # tauri-driver listens at once but proxies to WebKitWebDriver, which starts a moment
        # later: a session request before then gets its connection dropped.
        _wait_for_port(port, self.proc)
        _wait_for_port(native_port, self.proc)
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {"application": str(APP)})
        # A command that gets no answer in 2 minutes fails instead of hanging the suite.
        connection = RemoteConnection(
            client_config=ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}", timeout=120)
        )
        self.session = webdriver.Remote(command_executor=connection, options=options)
        self.session.implicitly_wait(0)
        try:
            self.session.set_window_rect(x=0, y=0, width=WINDOW[0], height=WINDOW[1])
        except Exception:  # noqa: BLE001 - the screen is that size anyway under `make e2e`
            pass
        return self.session

    def app_pids(self) -> list[int]:
        """The app processes (not the drivers, not WebKit's helpers) on this data folder."""
        marker = f"SEGPORT_DATA_DIR={self.data_dir}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if Path(os.readlink(entry / "exe")).resolve() != APP.resolve():
                    continue
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def kill(self) -> int:
        """SIGKILL the app process (as a crash would); then end the session and its drivers."""
        pids = self.app_pids()
        assert len(pids) == 1, f"expected one app process on {self.data_dir}, found {pids}"
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pids[0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop(quit_session=False)
        return pids[0]

    def stop(self, quit_session: bool = True) -> None:
        if self.session is not None and quit_session:
            try:
                self.session.quit()
            except Exception:  # noqa: BLE001 - the process group is cleaned up below anyway
                pass
        self.session = None
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@pytest.fixture
def app(request, tmp_path: Path, data_dir: Path):
    """The app launcher for this test's data folder (not started). The open dialog returns
    `csv_file` when the test uses that fixture (or the fixture named by `pick_file`)."""
    env: dict[str, str] = {}
    marker = request.node.get_closest_marker("pick_file")
    if marker is not None:
        env["SEGPORT_TEST_PICK_FILE"] = str(request.getfixturevalue(marker.args[0]).path)
    elif "csv_file" in request.fixturenames:
        env["SEGPORT_TEST_PICK_FILE"] = str(request.getfixturevalue("csv_file").path)
    env["SEGPORT_TEST_SAVE_FILE"] = str(tmp_path / "saved-rejects.csv")
    launcher = App(tmp_path, data_dir, env)
    try:
        yield launcher
    finally:
        failed = getattr(request.node, "rep_call", None)
        failed = failed is not None and failed.failed
        if launcher.session is not None and failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            try:
                launcher.session.save_screenshot(str(ARTIFACTS / f"{request.node.name}-failure.png"))
            except Exception:  # noqa: BLE001 - the screenshot is only a help
                pass
        launcher.stop()
        if failed and launcher.log is not None:
            print(f"--- tauri-driver / app log ({launcher.log}) ---\n{_tail(launcher.log)}")


@pytest.fixture
def driver(app: App) -> WebDriver:
    """A WebDriver session on a fresh app (empty data folder)."""
    return app.start()
