"""/local-coding/*: sandboxed runs end to end (admin mode on, loopback), through the real sandbox.

Every hostile script must end with a clear reason while the server (this very process: the
TestClient runs the app in-process) keeps answering."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.core.demo import GalaxyField, write_demo
from neloura.settings import Settings

SESSION = "a" * 32
HEADERS = {"Cookie": f"neloura_session={SESSION}"}  # the page's HttpOnly session cookie
OTHER = {"Cookie": "neloura_session=" + "b" * 32}
TOKEN = "coding-test-admin-token-5d1e"
IMAGE = "demo/galaxy.fits"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings, Path]]:
    base = tmp_path_factory.mktemp("coding")
    outside = base / "outside"
    outside.mkdir()
    settings = Settings(
        root=base / "root",
        demo=False,
        disk_cache=False,
        admin=True,
        admin_token=TOKEN,  # in this process's settings: a script must never see it
        coding_warm=2,
        coding_workers=2,
        coding_memory_mb=512,
        coding_output_mb=2,
    )
    settings.ensure_folders()
    write_demo(settings.files_dir, settings.catalogs_dir, field=GalaxyField(shape=(128, 128), n_stars=20))
    os.environ["NELOURA_TEST_SECRET"] = TOKEN  # the server's environment holds a secret too
    try:
        with TestClient(create_app(settings)) as client:
            yield client, settings, outside
    finally:
        os.environ.pop("NELOURA_TEST_SECRET", None)


def start(client: TestClient, code: str, headers: dict[str, str] = HEADERS, **body: Any) -> str:
    r = client.post("/local-coding/run", json={"code": code, **body}, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["run_id"])


def finish(client: TestClient, run_id: str, headers: dict[str, str] = HEADERS) -> dict[str, Any]:
    end = time.monotonic() + 180
    while time.monotonic() < end:
        body: dict[str, Any] = client.get(f"/local-coding/runs/{run_id}", headers=headers).json()
        if body["state"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


def run(client: TestClient, code: str, **body: Any) -> dict[str, Any]:
    return finish(client, start(client, code, **body))


def assert_server_fine(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    assert run(client, "print(6 * 7)")["stdout"] == "42\n"


def test_output_streams_over_ws_before_the_run_ends(env: tuple[TestClient, Settings, Path]) -> None:
    client, settings, _ = env
    code = (
        "import os, time\nprint('first line')\nwhile not os.path.exists('go'):\n    time.sleep(0.02)\nprint('second')\n"
    )
    with client.websocket_connect("/ws", headers=HEADERS) as ws:
        assert ws.receive_json()["type"] == "hello"
        run_id = start(client, code)
        seen = ""
        while "first line" not in seen:
            event = ws.receive_json()
            if event.get("type") == "coding:output" and event["run_id"] == run_id:
                seen += event["text"]
        # the first line arrived while the script is still blocked waiting for us
        assert client.get(f"/local-coding/runs/{run_id}", headers=HEADERS).json()["state"] == "running"
        (settings.uploads_dir / f"coding-{run_id[:12]}" / "go").write_text("")
        states = []
        while not states or states[-1] == "running":
            event = ws.receive_json()
            if event.get("type") == "coding:state" and event["run_id"] == run_id:
                states.append(event["state"])
    body = finish(client, run_id)
    assert states[-1] == "done" and body["exit_code"] == 0
    assert body["stdout"] == "first line\nsecond\n"


def test_figure_comes_back(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('test')\nplt.show()\nprint('shown')\n"
    body = run(client, code)
    assert body["state"] == "done", body
    assert len(body["figures"]) == 1
    png = client.get(body["figures"][0], headers=HEADERS)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get(body["figures"][0], headers=OTHER).status_code == 404


def test_helper_values_equal_the_pixel_endpoint(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    points = [(10, 20), (64, 64), (127, 0), (3, 111)]
    code = (
        "import json, neloura_session as ns\nimg = ns.image()\nout = []\n"
        f"for x, y in {points!r}:\n"
        "    ra, dec = img.pixel_to_world(x, y)\n"
        "    v = img.data[y, x]\n"
        "    out.append([None if v != v else float(v), float(ra[0]), float(dec[0]), img.value(x, y)])\n"
        "print(json.dumps({'rows': out, 'unit': img.unit, 'shape': list(img.data.shape)}))\n"
    )
    body = run(client, code, image={"path": IMAGE, "hdu": 1})
    assert body["state"] == "done", body
    got = json.loads(body["stdout"])
    assert got["shape"] == [128, 128]
    for (x, y), (value, ra, dec, value2) in zip(points, got["rows"], strict=True):
        ref = client.get("/api/images/pixel", params={"path": IMAGE, "hdu": 1, "x": x, "y": y}).json()
        assert value == ref["value"] == value2  # float32 physical values, bit for bit
        assert ra == pytest.approx(ref["ra_deg"], abs=1e-12) and dec == pytest.approx(ref["dec_deg"], abs=1e-12)
        assert got["unit"] == ref["unit"]


def test_helper_gives_the_pages_regions_and_selection(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    ds9 = (  # what the page's regions feature sends: DS9 text, image frame, 1-based pixels
        "# Region file format: DS9 version 4.1\nimage\ncircle(65,65,10)\nbox(20.5,30,8,4,30) # color=red\n"
    )
    code = (
        "import json, numpy as np, neloura_session as ns\nimg = ns.image()\nregs = ns.regions()\n"
        "circle = regs[0]\nsel = ns.selection()\n"
        "values = circle.to_mask(mode='center').get_values(img.data)\n"
        "print(json.dumps({'n': len(regs), 'kinds': [type(r).__name__ for r in regs],\n"
        "    'centre': [circle.center.x, circle.center.y], 'r': circle.radius, 'count': int(values.size),\n"
        "    'sum': float(np.nansum(values)), 'text': ns.regions_text() == EXPECTED,\n"
        "    'catalog': sel['catalog'], 'rows': sel['rows'].tolist(), 'dtype': str(sel['rows'].dtype)}))\n"
    ).replace("EXPECTED", repr(ds9))
    body = run(
        client,
        code,
        image={"path": IMAGE, "hdu": 1},
        regions=ds9,
        selection={"catalog": "demo_sources.csv", "rows": [3, 1, 4, 159]},
    )
    assert body["state"] == "done", body
    got = json.loads(body["stdout"])
    assert got["n"] == 2 and got["kinds"] == ["CirclePixelRegion", "RectanglePixelRegion"] and got["text"]
    assert got["centre"] == [64.0, 64.0] and got["r"] == 10.0  # 1-based DS9 -> 0-based pixels
    assert 300 < got["count"] < 330  # pi r^2 pixels of the image inside the circle (r = 10)
    assert got["catalog"] == "demo_sources.csv" and got["rows"] == [3, 1, 4, 159] and got["dtype"] == "int64"
    empty = run(client, "import neloura_session as ns\nprint(len(ns.regions()), ns.selection()['catalog'])")
    assert empty["stdout"] == "0 None\n"


def test_images_and_tables_come_back(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    rows = client.get("/api/catalogs/rows", params={"name": "demo_sources.csv", "filter": "mag_ab < 24"}).json()
    code = (
        "import numpy as np, neloura_session as ns\nimg = ns.image()\ncat = ns.catalog()\n"
        "print(len(cat), cat.meta['filter'])\n"
        "ns.show_image(img.data * 2, wcs=img.celestial_wcs, name='doubled')\n"
        "ns.show_table(cat[:5], name='five')\n"
    )
    body = run(
        client,
        code,
        image={"path": IMAGE, "hdu": 1},
        catalog={"name": "demo_sources.csv", "filter": "mag_ab < 24"},
    )
    assert body["state"] == "done", body
    assert body["stdout"] == f"{rows['total']} mag_ab < 24\n"
    (image,) = body["images"]
    info = client.get("/api/images/info", params={"path": image}).json()
    assert info["width"] == 128 and info["wcs"]["has_celestial"]
    doubled = client.get("/api/images/pixel", params={"path": image, "x": 64, "y": 64}).json()["value"]
    original = client.get("/api/images/pixel", params={"path": IMAGE, "hdu": 1, "x": 64, "y": 64}).json()["value"]
    assert doubled == pytest.approx(2 * original, rel=1e-6)
    (table,) = body["tables"]
    assert client.get("/api/catalogs/columns", params={"name": table}).json()["rows"] == 5


HOSTILE = {
    "infinite loop": ("while True:\n    pass\n", {"timeout_s": 1.5}, "time limit of 1.5 s"),
    "memory hog": ("import numpy as np\na = np.ones(1 << 33)\nprint(a.sum())\n", {}, "memory limit of 512 MB"),
    "memory hog (list)": ("x = []\nwhile True:\n    x.append(bytearray(1 << 24))\n", {}, "memory limit of 512 MB"),
    "fork bomb": ("import os\nwhile True:\n    os.fork()\n", {}, "starting another process is not allowed"),
    "subprocess": ("import subprocess\nsubprocess.run(['kill', '-9', '1'])\n", {}, "another process"),
    "socket": ("import socket\nsocket.create_connection(('127.0.0.1', 80))\n", {}, "network access is not allowed"),
    "urllib": ("import urllib.request\nurllib.request.urlopen('http://example.org')\n", {}, "network"),
    "1 GB print": (
        "import sys\nc = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(c)\n",
        {},
        "output limit",
    ),
    "ctypes": ("import ctypes\nctypes.CDLL(None).kill(1, 9)\n", {}, "ctypes is not allowed"),
}


@pytest.mark.parametrize("label", list(HOSTILE))
def test_hostile_scripts_are_stopped(env: tuple[TestClient, Settings, Path], label: str) -> None:
    client, _, _ = env
    code, body, reason = HOSTILE[label]
    result = run(client, code, **body)
    assert result["state"] == "failed", result
    assert result["exit_code"] != 0
    assert reason in result["reason"], result["reason"]
    assert_server_fine(client)


def test_os_kill_of_the_server_is_refused(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    result = run(client, f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\n")
    assert result["state"] == "failed"
    assert f"sending a signal to process {os.getpid()} is not allowed" in result["reason"]
    assert_server_fine(client)


def test_writing_outside_the_scratch_folder_is_refused(env: tuple[TestClient, Settings, Path]) -> None:
    client, settings, outside = env
    for code in (
        f"open({str(outside / 'evil.txt')!r}, 'w').write('x')",
        f"import os\nos.rename('a', {str(outside / 'moved')!r})",
        f"import os\nfd = os.open({str(outside)!r}, os.O_RDONLY)",
        f"import shutil\nshutil.rmtree({str(settings.files_dir / 'demo')!r})",
        "open('../escape.txt', 'w')",
    ):
        result = run(client, code)
        assert result["state"] == "failed" and "outside the scratch folder" in result["reason"], (code, result)
    assert list(outside.iterdir()) == []
    assert (settings.files_dir / IMAGE).is_file()
    assert not (settings.uploads_dir / "escape.txt").exists()
    # writing inside its own scratch folder is fine
    ok = run(client, "open('notes.txt', 'w').write('fine')\nprint(open('notes.txt').read())")
    assert ok["state"] == "done" and ok["stdout"] == "fine\n"
    assert_server_fine(client)


def test_the_server_environment_is_out_of_reach(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    dump = run(client, "import os\nprint(sorted(os.environ.items()))\n")
    assert dump["state"] == "done"
    assert TOKEN not in dump["stdout"] and "NELOURA" not in dump["stdout"]
    spy = run(client, f"print(open('/proc/{os.getpid()}/environ').read())\n")
    assert spy["state"] == "failed" and TOKEN not in spy["stdout"] + spy["stderr"]
    assert "is not allowed" in spy["reason"]
    parent = run(client, "import os\nprint(open(f'/proc/{os.getppid()}/environ', 'rb').read())\n")
    assert parent["state"] == "failed" and TOKEN not in parent["stdout"]


def test_stop_and_ownership(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    run_id = start(
        client, "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.01)\n", timeout_s=120
    )
    end = time.monotonic() + 120
    while "started" not in client.get(f"/local-coding/runs/{run_id}", headers=HEADERS).json()["stdout"]:
        assert time.monotonic() < end
        time.sleep(0.05)
    # another user neither sees nor stops it
    assert client.get(f"/local-coding/runs/{run_id}", headers=OTHER).status_code == 404
    assert client.delete(f"/local-coding/runs/{run_id}", headers=OTHER).status_code == 404
    assert client.get(f"/local-coding/runs/{run_id}", headers=HEADERS).json()["state"] == "running"
    assert client.delete(f"/local-coding/runs/{run_id}", headers=HEADERS).status_code == 200
    body = finish(client, run_id)
    assert body["state"] == "stopped" and body["reason"] == "stopped by the user"


def test_script_errors_and_exit_codes(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    error = run(client, "x = 1\n1 / 0\n")
    assert error["state"] == "failed" and error["exit_code"] == 1
    assert 'File "<script>", line 2' in error["stderr"] and "coding_child" not in error["stderr"]
    assert error["reason"] == "the script failed: ZeroDivisionError: division by zero"
    syntax = run(client, "def (:\n")
    assert syntax["state"] == "failed" and "SyntaxError" in syntax["stderr"]
    assert run(client, "import sys\nsys.exit(3)")["exit_code"] == 3
    assert run(client, "import numpy as np\nprint(np.arange(3).sum())")["stdout"] == "3\n"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"code": "print(1)", "timeout_s": 10_000}, 422),
        ({"code": "print(1)", "timeout_s": -1}, 422),
        ({"code": "x" * 200_001}, 422),
        ({"code": "print(1)", "image": {"path": "../../etc/passwd"}}, 403),
        ({"code": "print(1)", "image": {"path": "missing.fits"}}, 404),
        ({"code": "print(1)", "image": {"path": IMAGE, "hdu": 1, "plane": 5}}, 422),
        ({"code": "catalog", "catalog": {"name": "demo_sources.csv", "filter": "nope >"}}, 422),
        ({"code": "catalog", "catalog": {"name": "../secret.csv"}}, 403),
        ({"code": "print(1)", "selection": {"catalog": "demo_sources.csv", "rows": [-1]}}, 422),
        ({"code": "print(1)", "regions": "x" * 2_000_001}, 422),
    ],
)
def test_bad_requests(env: tuple[TestClient, Settings, Path], body: dict[str, Any], status: int) -> None:
    client, _, _ = env
    r = client.post("/local-coding/run", json=body, headers=HEADERS)
    assert r.status_code == status, r.text
    assert isinstance(r.json()["detail"], str)


def test_unknown_runs_are_404(env: tuple[TestClient, Settings, Path]) -> None:
    client, _, _ = env
    assert client.get("/local-coding/runs/0123abcd", headers=HEADERS).status_code == 404
    assert client.delete("/local-coding/runs/0123abcd", headers=HEADERS).status_code == 404
    assert client.get("/local-coding/runs/not-hex", headers=HEADERS).status_code == 422


def test_gating_unchanged(tmp_path: Path) -> None:
    closed = Settings(root=tmp_path / "a", demo=False, disk_cache=False, admin=False)
    with TestClient(create_app(closed)) as c:
        assert c.post("/local-coding/run", json={"code": "print(1)"}).status_code == 403
        assert c.get("/local-coding/runs/ab").status_code == 403
        assert c.delete("/local-coding/runs/ab").status_code == 403
    remote = Settings(
        root=tmp_path / "b", demo=False, disk_cache=False, admin=True, host="0.0.0.0", admin_token="t", coding_warm=0
    )
    with TestClient(create_app(remote)) as c:
        assert c.post("/local-coding/run", json={"code": "print(1)"}).status_code == 403
        assert c.get("/local-coding/runs/ab", headers={"X-Admin-Token": "wrong"}).status_code == 403
        assert c.get("/local-coding/runs/ab", headers={"X-Admin-Token": "t"}).status_code == 404
