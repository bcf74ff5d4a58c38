"""The Python code panel: admin page (type, run, streamed output, figure, stop) and its absence
for a non-admin page (a second server with admin mode off)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import PROJECT, LiveServer, _free_port, _wait_healthy

pytestmark = pytest.mark.browser

SCRIPT = [
    "import os, time",
    "import matplotlib.pyplot as plt",
    "print('first line', flush=True)",
    "while not os.path.exists('go'): time.sleep(0.05)",
    "plt.plot([1, 4, 9, 16])",
    "plt.title('squares')",
    "plt.show()",
    "print('after the figure')",
]


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("neloura-plain")
    port, log = _free_port(), root / "server.log"
    env = dict(os.environ, NELOURA_ROOT=str(root), NELOURA_PORT=str(port), NELOURA_ADMIN="false", NELOURA_DEMO="true")
    with log.open("wb") as out:
        command = [sys.executable, str(PROJECT / "main.py")]
        proc = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield LiveServer(url=url, root=root, log=log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _type_script(page, lines: list[str]) -> None:
    page.click(".code-editor .CodeMirror")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    for line in lines:
        page.keyboard.type(line)
        page.keyboard.press("Enter")
        page.keyboard.press("Home")  # CodeMirror keeps no indentation after these lines, but be sure


def _shot(page, name: str) -> None:
    shots = os.environ.get("NELOURA_SHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / name))


def test_code_panel_runs_streams_plots_and_stops(page, live_server) -> None:
    page.goto(live_server.url + "/?path=demo/galaxy.fits&hdu=1")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#viewer[data-image-ready='1']")
    page.click('.menu-button[data-menu="Analysis"]')
    page.click("#menu-coding")
    page.wait_for_selector(".code-panel .CodeMirror")
    assert page.locator(".code-editor .CodeMirror-linenumber").count() > 0
    assert page.locator(".code-editor .cm-keyword").count() > 0  # Python highlighting of the welcome script
    _type_script(page, SCRIPT)
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => (document.querySelector('.code-stdout') || {}).textContent?.includes('first line')")
    # the line is on the page while the script still waits for us: it streamed
    assert page.get_attribute(".code-panel", "data-state") == "running"
    run_id = page.get_attribute(".code-panel", "data-run")
    (live_server.files_dir / "uploads" / f"coding-{run_id[:12]}" / "go").write_text("")
    page.wait_for_selector(".code-ok")
    page.wait_for_function("() => document.querySelector('.code-figure')?.naturalWidth > 100")
    assert "after the figure" in page.text_content(".code-output")
    _shot(page, "coding-1600.png")

    _type_script(page, ["print('looping', flush=True)", "while True: pass"])
    page.fill(".code-timeout", "120")
    page.click(".code-run")
    page.wait_for_function("() => (document.querySelector('.code-stdout') || {}).textContent?.includes('looping')")
    assert page.get_attribute(".code-panel", "data-state") == "running"
    page.click(".code-stop")
    page.wait_for_selector(".code-error")
    assert "stopped by the user" in page.text_content(".code-error")
    assert page.get_attribute(".code-panel", "data-state") == "idle"
    # the last scripts are kept in this browser
    assert page.locator(".code-history option").count() >= 3
    page.set_viewport_size({"width": 900, "height": 1000})
    _shot(page, "coding-900.png")


def test_no_code_panel_without_admin(page, plain_server) -> None:
    page.goto(plain_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator(".code-panel").count() == 0
    page.click('.menu-button[data-menu="Analysis"]')
    assert page.locator("#menu-coding").count() == 0
    assert page.evaluate("() => !!window.CodeMirror") is False
