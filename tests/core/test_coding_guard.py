"""The sandbox's audit policy, event by event (the end-to-end refusals: tests/api/test_coding.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neloura.core.coding_guard import Guard


@pytest.fixture
def guard(tmp_path: Path) -> Guard:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "outside").mkdir()
    return Guard(scratch, os.getpid())


def test_writes_only_inside_scratch(guard: Guard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(guard.scratch)
    assert guard.check("open", ("out.txt", "w", 0)) is None
    assert guard.check("open", (str(guard.scratch / "a" / "b.png"), "wb", 0)) is None
    assert guard.check("open", ("/etc/passwd", "r", os.O_RDONLY)) is None  # reading is fine
    assert guard.check("open", (os.devnull, "w", 0)) is None
    for args in (
        ("/etc/passwd", "a", 0),
        ("../outside/x", "w", 0),
        (str(tmp_path / "outside" / "x"), None, os.O_WRONLY | os.O_CREAT),
        (str(tmp_path / "outside" / "x"), "r+", 0),
    ):
        message = guard.check("open", args)
        assert message is not None and "writing outside the scratch folder" in message
    (guard.scratch / "link").symlink_to(tmp_path / "outside")
    assert guard.check("open", ("link/x", "w", 0)) is not None  # symlinks are resolved
    assert guard.check("open", (str(tmp_path / "outside"), None, os.O_RDONLY)) is not None  # a dir_fd elsewhere
    assert guard.check("open", (str(guard.scratch), None, os.O_RDONLY)) is None
    assert guard.check("open", (3, "w", 0)) is None  # an already open descriptor


def test_file_operations(guard: Guard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(guard.scratch)
    assert guard.check("os.rename", ("a", "b", None, None)) is None
    assert guard.check("os.rename", ("a", str(tmp_path / "outside" / "b"), None, None)) is not None
    assert guard.check("os.remove", (str(tmp_path / "outside" / "x"), None)) is not None
    assert guard.check("shutil.rmtree", (str(tmp_path),)) is not None
    assert guard.check("os.mkdir", ("sub", 0o777, None)) is None
    assert guard.check("os.symlink", ("/etc", "etc_link", None)) is None  # creating it is fine, following it is not
    assert guard.check("os.chmod", ("/etc/passwd", 0o777, None)) is not None


def test_processes_signals_network_ctypes(guard: Guard) -> None:
    for event in ("os.fork", "os.system", "subprocess.Popen", "os.posix_spawn", "os.exec"):
        assert "another process" in (guard.check(event, ()) or "")
    assert guard.check("os.kill", (os.getpid(), 15)) is None
    assert "signal" in (guard.check("os.kill", (1, 9)) or "")
    assert "signal" in (guard.check("os.killpg", (os.getpgrp(), 9)) or "")
    for event in ("socket.__new__", "socket.connect", "socket.getaddrinfo", "urllib.Request"):
        assert "network" in (guard.check(event, ()) or "")
    assert "ctypes" in (guard.check("ctypes.dlopen", (None,)) or "")
    assert guard.check("gc.get_objects", ()) is not None
    assert guard.check("import", ("_posixsubprocess", None, [], [], [])) is not None
    assert guard.check("import", ("json", None, [], [], [])) is None


def test_proc_of_other_processes(guard: Guard) -> None:
    assert guard.check("open", ("/proc/self/status", "r", 0)) is None
    assert guard.check("open", ("/proc/meminfo", "r", 0)) is None
    assert "another process" in (guard.check("open", (f"/proc/{os.getppid()}/environ", "r", 0)) or "")


def test_hook_reports_and_does_not_reenter(guard: Guard) -> None:
    seen: list[str] = []

    def refuse(message: str) -> None:
        seen.append(message)
        hook("os.fork", ())  # a refusal's own reporting must not recurse
        raise PermissionError(message)

    hook = guard.hook(refuse)
    hook("open", ("x", "r", 0))
    with pytest.raises(PermissionError):
        hook("os.system", (b"ls",))
    assert seen == ["starting another process is not allowed (process limit)"]
