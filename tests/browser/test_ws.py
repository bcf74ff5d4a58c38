"""/ws in the page: a server job's progress reaches the bus and draws a progress bar."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.browser


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
    body = json.dumps({"path": "demo/cube.fits", "hdu": 0, "plane": 20, "threshold_sigma": 5}).encode()
    request = urllib.request.Request(
        live_server.url + "/api/detection", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        job = json.loads(r.read())
    job_id = job.get("id") or job.get("job", {}).get("id")
    page.wait_for_function(
        f"() => window.__jobs.some((j) => j.job_id === {json.dumps(job_id)} && j.state === 'done')", timeout=60_000
    )
    events = page.evaluate("() => window.__jobs")
    assert all(0 <= e["fraction"] <= 1 for e in events)
    assert events[-1]["fraction"] == 1
    page.wait_for_function("() => !document.querySelector('#progress-area .progress')")  # removed when done
