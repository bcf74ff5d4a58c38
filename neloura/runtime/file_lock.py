"""Cross-process locks on the shared data root (several server workers, Dask workers, job processes).

Two processes may build the same cache entry (block-mean levels of one plane, one RGB composite,
the demo set) at the same moment. Results already appear atomically (temporary name, then
``os.replace``); a lock on a file beside the entry additionally makes the second builder wait
for the first and then reuse its result instead of doing the work twice. ``fcntl.flock`` locks
are released by the kernel when their holder dies, so a crashed builder never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created if needed) for the ``with`` body."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def is_locked(lock_file: Path) -> bool:
    """True while some process (this one included) holds the lock on ``lock_file``."""
    try:
        fd = os.open(lock_file, os.O_RDWR)
    except OSError:  # no lock file: nobody ever locked it
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the lock this probe may have taken
    return False


def private_name(stem: str, suffix: str) -> str:
    """A temporary file name no other process or thread can choose (pid + random token)."""
    return f"{stem}.{os.getpid()}-{secrets.token_hex(4)}{suffix}"
