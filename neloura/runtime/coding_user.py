"""The unprivileged user sandboxed runs become when the server runs as root.

Running as root, a sandbox's ``RLIMIT_NPROC`` is ignored (root has ``CAP_SYS_RESOURCE``), so only
the audit hook would stop a fork bomb, and the script could write any file the server can. So a
root server starts each sandbox through ``setpriv`` as ``nobody`` (its own uid/gid, no
supplementary groups, no capabilities, ``no_new_privs``): the kernel's process limit is real (0
processes: every ``fork``/``clone`` fails with EAGAIN), and files of the server (0600, or in
folders closed to others) can neither be read nor written. The audit hook stays as the second line.

Only what a run needs is handed over: its scratch folder and the interpreter's matplotlib
folder are given to that user (``chown``); the data root must be readable by others (the
isolation probe checks it, and keeps running as the server's user, logged, when it is not).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

SANDBOX_USER = "nobody"


@dataclass(frozen=True)
class SandboxUser:
    name: str
    uid: int
    gid: int

    def setpriv(self) -> tuple[str, ...]:
        """The command prefix that becomes this user (after any namespace set-up, before Python)."""
        setpriv = shutil.which("setpriv") or "setpriv"
        return (
            setpriv,
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        )

    def give(self, folder: Path, *, recursive: bool = False) -> None:
        """Make ``folder`` (and, ``recursive``, what it holds) this user's: the run writes there."""
        os.chown(folder, self.uid, self.gid, follow_symlinks=False)
        if recursive:
            for parent, dirs, files in os.walk(folder):
                for name in (*dirs, *files):
                    # a shared folder (coding.py's matplotlib cache in /tmp) may be in use by another
                    # sandbox: its temporary and lock files come and go while this walks
                    with contextlib.suppress(FileNotFoundError):
                        os.chown(os.path.join(parent, name), self.uid, self.gid, follow_symlinks=False)


def sandbox_user() -> SandboxUser | None:
    """``nobody`` when this process runs as root and ``setpriv`` exists; None otherwise (a
    non-root server's sandboxes already run under its own uid, where the process limit holds)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return None
    return SandboxUser(SANDBOX_USER, entry.pw_uid, entry.pw_gid)
