"""/ws in the page: a server job's progress reaches the bus and draws a progress bar; another
session's job never reaches the page (jobs belong to the session cookie)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

pytestmark = pytest.mark.browser

OTHER = {"Cookie": "neloura_session=" + "z" * 43, "Content-Type": "application/json"}


def _other_session(url: str, body: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=body, headers=OTHER)
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def test_job_progress_reaches_the_page(page, live_server) -> None:
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#connection.up")
    page.evaluate(
        """() => {
          window.__jobs = [];
          window.neloura.ctx.bus.on('job:progress', (d) => window.__jobs.push(d));
        }"""
    )
    body = json.dumps({"path": "demo/cube.fits", "hdu": 0, "plane": 20, "threshold_sigma": 5})
    other = _other_session(live_server.url + "/api/detection", body.encode())["id"]
    # the page's own job: posted with the page's HttpOnly session cookie (the page never sees it)
    assert page.evaluate("() => document.cookie") == ""
    job = page.evaluate(
        """async (body) => (await fetch('/api/detection',
             {method: 'POST', headers: {'Content-Type': 'application/json'}, body})).json()""",
        body,
    )
    job_id = job["id"]
    page.wait_for_function(
        f"() => window.__jobs.some((j) => j.job_id === {json.dumps(job_id)} && j.state === 'done')", timeout=60_000
    )
    events = page.evaluate("() => window.__jobs")
    assert all(0 <= e["fraction"] <= 1 for e in events)
    assert [e for e in events if e["job_id"] == job_id][-1]["fraction"] == 1
    page.wait_for_function("() => !document.querySelector('#progress-area .progress')")  # removed when done
    end = time.monotonic() + 60
    while _other_session(f"{live_server.url}/api/jobs/{other}")["state"] in ("queued", "running"):
        assert time.monotonic() < end
        time.sleep(0.1)
    assert all(e["job_id"] != other for e in page.evaluate("() => window.__jobs"))  # not even to an admin's page
