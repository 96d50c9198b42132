"""The real service in a subprocess and Debian's Chromium driven through Playwright's async API.

The async API runs on pytest-asyncio's session loop. The sync API would not do here: while a sync
Playwright instance is alive it marks its own event loop as running in the main thread, so every async
test or fixture that pytest-asyncio ran in the meantime would fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Error, Page, async_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Read at import: the root conftest strips KOKOUS_* variables from every test's environment.
REQUIRE_BROWSER = os.environ.get("KOKOUS_REQUIRE_BROWSER") == "1"

PASSWORD = "kolme sanaa riittää"
START_SECONDS = 30
STOP_SECONDS = 10
ACTION_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    password: str
    role: str


MEMBER = Account("liisa", "Liisa Laine", PASSWORD, "member")
SECRETARY = Account("sakari", "Sakari Sihteeri", PASSWORD, "secretary")


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    log: Path


def _cli(*args: str, env: dict[str, str], stdin: str | None = None) -> None:
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "web.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"kokous {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310 - http://127.0.0.1
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed browser test shows the end of the server's log next to its traceback."""
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(server, Server):
        report.sections.append(("kokous serve log (last lines)", _tail(server.log)))
    return report


@pytest.fixture(scope="session", autouse=True)
def chromium_executable() -> Path:
    """Debian's Chromium; never a downloaded build (`playwright install` is not used)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's 'chromium' package (make browser-deps)"
        if REQUIRE_BROWSER:
            pytest.fail(f"KOKOUS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


def server_env(data_dir: Path, url: str) -> dict[str, str]:
    """The environment of a test server: this one's, without stray KOKOUS_* settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("KOKOUS_")}
    env.update(KOKOUS_DATA_DIR=str(data_dir), KOKOUS_BASE_URL=url, KOKOUS_PASSWORD_PROFILE="test")
    return env


@contextmanager
def serving(data_dir: Path, port: int, env: dict[str, str]) -> Iterator[Server]:
    """`kokous serve` on `port` until the block ends; fails the test if it does not answer /health in time."""
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"kokous serve exited with {process.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"kokous serve did not answer /health within {START_SECONDS} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield Server(url=url, data_dir=data_dir, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A migrated SQLite database with two users, served by `kokous serve` on a free port."""
    data_dir = tmp_path_factory.mktemp("kokous-browser")
    port = _free_port()
    env = server_env(data_dir, f"http://127.0.0.1:{port}")
    _cli("db", "upgrade", env=env)
    for account in (MEMBER, SECRETARY):
        _cli(
            "user",
            "create",
            account.username,
            "--name",
            account.display_name,
            "--password-stdin",
            "--role",
            account.role,
            env=env,
            stdin=account.password + "\n",
        )
    with serving(data_dir, port, env) as running:
        yield running


@pytest.fixture(scope="module")
async def browser(chromium_executable: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_executable), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser, server: Server) -> AsyncIterator[BrowserContext]:
    """A fresh cookie jar per test, in a browser whose user prefers Finnish."""
    context = await browser.new_context(base_url=server.url, locale="fi-FI")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    await context.close()


@dataclass
class Console:
    """What the page reported about itself: script errors and refused resources (a CSP violation, say)."""

    problems: list[str]

    def record(self, message: ConsoleMessage) -> None:
        # The browser also logs every 4xx response here; a wrong password answers 401 on purpose.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(message.text)

    def record_error(self, error: Error) -> None:
        self.problems.append(f"uncaught: {error}")


@pytest.fixture
def console() -> Console:
    return Console([])


@pytest.fixture
async def page(context: BrowserContext, console: Console) -> AsyncIterator[Page]:
    page = await context.new_page()
    page.on("console", console.record)
    page.on("pageerror", console.record_error)
    yield page
    await page.close()
