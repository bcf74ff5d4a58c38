"""Browser-test fixtures: one real server per session, Debian Chromium, fail on console errors.

- ``live_server``: the real app (``python main.py``) in a subprocess on a free loopback port, with a
  temporary ``NELOURA_ROOT``, demo data enabled and admin mode on (loopback: no token needed).
  Session-scoped: start-up (demo data, imports) is paid once. Yields a :class:`LiveServer`.
- ``browser``: Chromium for the tests/browser package, stopped when it ends (``/usr/bin/chromium``
  when present, Playwright's own otherwise).
- ``page``: a fresh page per test. Any console error or uncaught page error FAILS the test at teardown,
  unless its text matches a pattern the test added to ``console_allow`` (e.g. the browser logs
  ``Failed to load resource ... 415`` when a test deliberately uploads a bad file).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.browser.panel_steps import write_panel_fields

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    url: str  # e.g. http://127.0.0.1:43211 (no trailing slash)
    root: Path  # NELOURA_ROOT of the server: files/ catalogs/ ... live here
    log: Path  # the server's stdout+stderr

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            data: bytes = response.read()
            return data


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy in {timeout_s}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("neloura-live")
    port = _free_port()
    log = root / "server.log"
    env = dict(os.environ)
    env.update(
        NELOURA_ROOT=str(root),
        NELOURA_HOST="127.0.0.1",
        NELOURA_PORT=str(port),
        NELOURA_DEMO="true",
        NELOURA_ADMIN="true",
        NELOURA_DISK_CACHE="false",
        NELOURA_JOB_WORKERS="1",
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(PROJECT / "main.py")], cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield LiveServer(url=url, root=root, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def panel_fields(live_server: LiveServer) -> list[str]:
    """The panel tests' four overlapping star fields (tests/core/rgb_fields.py), written once
    under the live server's files/paneltest/: their paths."""
    return write_panel_fields(live_server)


# Package scope, not session: the sync Playwright driver keeps an asyncio loop running in the main
# thread, which breaks later tests that call asyncio.run(); it must stop when tests/browser ends.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        if CHROMIUM.exists():
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        elif shutil.which("chromium") or shutil.which("chromium-browser"):
            exe = shutil.which("chromium") or shutil.which("chromium-browser")
            chromium = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        else:  # Playwright's own browser (only where it was installed by the developer)
            chromium = pw.chromium.launch(args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class ConsoleLog:
    errors: list[str] = field(default_factory=list)
    allow: list[re.Pattern[str]] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allow)]


@pytest.fixture
def console_log() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def console_allow(console_log: ConsoleLog) -> list[re.Pattern[str]]:
    """Append compiled regexes of console errors this test expects (matched with ``search``)."""
    return console_log.allow


@pytest.fixture
def page(browser: object, live_server: LiveServer, console_log: ConsoleLog) -> Iterator[object]:
    """A new page (1400x900) that fails the test on any console error or page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    pg = context.new_page()

    def on_console(msg: object) -> None:
        if msg.type == "error":  # type: ignore[attr-defined]
            loc = msg.location or {}  # type: ignore[attr-defined]
            console_log.errors.append(f"console: {msg.text} @ {loc.get('url', '')}")  # type: ignore[attr-defined]

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: console_log.errors.append(f"pageerror: {exc}"))
    yield pg
    context.close()
    bad = console_log.unexpected()
    if bad:
        pytest.fail("browser console errors:\n" + "\n".join(bad), pytrace=False)
