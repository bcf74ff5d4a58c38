"""file_lock: an exclusive lock is exclusive across processes, and dies with its holder."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from neloura.runtime.file_lock import exclusive, is_locked, private_name


def _hold_and_die(lock_file: str, ready: multiprocessing.synchronize.Event) -> None:
    with exclusive(Path(lock_file)):
        ready.set()
        os._exit(0)  # killed while holding it: the kernel releases the lock


def test_the_lock_excludes_other_holders_and_is_released(tmp_path: Path) -> None:
    lock_file = tmp_path / "sub" / ".build.lock"
    assert not is_locked(lock_file)  # never created
    with exclusive(lock_file):
        assert is_locked(lock_file)
    assert not is_locked(lock_file)


def test_a_dead_holder_leaves_no_lock(tmp_path: Path) -> None:
    lock_file = tmp_path / ".build.lock"
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_hold_and_die, args=(str(lock_file), ready))
    child.start()
    child.join(60)
    assert ready.is_set() and child.exitcode == 0
    with exclusive(lock_file):  # would block forever if the dead holder kept it
        pass


def test_private_names_differ() -> None:
    names = {private_name(".key", ".tmp") for _ in range(50)}
    assert len(names) == 50 and all(n.startswith(f".key.{os.getpid()}-") and n.endswith(".tmp") for n in names)
