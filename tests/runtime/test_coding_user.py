"""A root server's sandboxes run as ``nobody``: the process limit is the kernel's, not only the
audit hook's, and the server's own files are out of reach."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from neloura.runtime.coding_sandbox import Limits, probe_isolation, run_once
from neloura.runtime.coding_user import sandbox_user

pytestmark = pytest.mark.skipif(sandbox_user() is None, reason="only a root server drops to nobody")


@pytest.fixture
def root() -> Iterator[Path]:
    """A data root others may traverse (pytest's own temporary folders are closed to them)."""
    folder = Path(tempfile.mkdtemp(prefix="neloura-nobody-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(root: Path, code: str) -> tuple[str, str, object]:
    out: dict[str, str] = {"stdout": "", "stderr": ""}

    def collect(stream: str, text: str) -> None:
        out[stream] += text

    outcome = run_once(code, Limits(timeout_s=60, memory_mb=1024), root / "scratch", on_output=collect)
    return out["stdout"], out["stderr"], outcome


def test_the_probe_picks_the_unprivileged_user_when_it_reaches_the_data(root: Path) -> None:
    isolation = probe_isolation(reach=(root,))
    assert isolation.user is not None and isolation.user.name == "nobody"
    assert "runs as nobody" in isolation.describe()
    closed = Path(tempfile.mkdtemp(dir=root))  # 0700, root's: nobody cannot reach it
    assert probe_isolation(reach=(closed,)).user is None  # then runs keep the server's user (logged)


def test_the_kernel_process_limit_holds_for_the_sandbox_user(root: Path) -> None:
    """Without the audit hook at all: the prefix alone makes RLIMIT_NPROC real (root ignores it)."""
    isolation = probe_isolation(reach=(root,))
    code = "import os, resource\nresource.setrlimit(resource.RLIMIT_NPROC, (0, 0))\nos.fork()\nprint('forked')"
    done = subprocess.run(
        [*isolation.prefix, sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode != 0 and "forked" not in done.stdout
    assert "BlockingIOError" in done.stderr or "Resource temporarily unavailable" in done.stderr


def test_a_run_is_nobody_with_no_processes_and_cannot_read_the_servers_files(root: Path) -> None:
    secret = root / "server-secret.txt"
    secret.write_text("admin token")
    secret.chmod(0o600)
    code = (
        "import os, resource\n"
        "print(os.getuid(), resource.getrlimit(resource.RLIMIT_NPROC))\n"
        "open('mine.txt', 'w').write('ok')\n"
        f"try:\n    print(open({str(secret)!r}).read())\nexcept PermissionError:\n    print('refused')\n"
    )
    stdout, stderr, outcome = _run(root, code)
    assert outcome.state == "done", stderr  # type: ignore[attr-defined]
    assert stdout.splitlines() == [f"{sandbox_user().uid} (0, 0)", "refused"]  # type: ignore[union-attr]
    assert (root / "scratch" / "mine.txt").read_text() == "ok"


def test_a_fork_bomb_as_nobody_is_stopped_with_a_clear_reason(root: Path) -> None:
    _, _, outcome = _run(root, "import os\nwhile True:\n    os.fork()\n")
    assert outcome.state == "failed"  # type: ignore[attr-defined]
    assert "starting another process is not allowed" in outcome.reason  # type: ignore[attr-defined]


def test_the_runner_survives_a_fork_bomb_as_nobody(root: Path) -> None:
    from neloura.runtime.coding import CodingRunner

    files = root / "files"
    (files / "uploads").mkdir(parents=True)
    runner = CodingRunner(
        None,
        uploads_dir=files / "uploads",
        catalog_uploads_dir=root / "catalogs" / "uploads",
        files_dir=files,
        cache_dir=root / ".cache",
        workers=1,
        warm=1,
    )
    runner.start()
    try:
        bomb = runner.wait(
            runner.submit("u", "import os\nwhile True:\n    os.fork()\n", Limits(timeout_s=30)).id, "u", 120
        )
        assert bomb.state == "failed" and "starting another process is not allowed" in (bomb.reason or "")
        assert bomb.isolation is not None and "runs as nobody" in bomb.isolation
        after = runner.wait(runner.submit("u", "print(6 * 7)", Limits(timeout_s=30)).id, "u", 120)
        assert after.state == "done" and after.stdout == "42\n"
    finally:
        runner.stop()
