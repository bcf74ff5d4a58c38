"""The sandbox's audit-hook policy: which operations a user script may perform.

:class:`Guard` decides, for one ``sys.audit`` event (PEP 578), whether it is allowed; the
sandboxed interpreter (``neloura.runtime.coding_child``) installs it with ``sys.addaudithook``
just before the user's code runs. Audit hooks are one layer, not the whole sandbox: the runner
also uses a clean environment, resource limits, its own process group and, where the kernel
allows, network and PID namespaces (``neloura.runtime.coding_sandbox``).

Policy:

- writes (``open`` for writing, rename, remove, mkdir, chmod, links, truncate, utime, xattrs,
  ``shutil`` helpers) only inside the run's scratch folder (symlinks resolved); ``os.open`` of a
  folder outside it is refused too (a folder descriptor would allow ``dir_fd`` writes elsewhere);
- reads anywhere except other processes' ``/proc/<pid>`` entries (their environment);
- no new processes (fork, exec, spawn, system, subprocess), no signals to other processes;
- no network (sockets, name resolution), no ``ctypes`` foreign calls, no walking the garbage
  collector's object graph (it would reach unaudited internals).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

# event -> indices of the path arguments that must stay inside the scratch folder
_WRITE_PATHS: dict[str, tuple[int, ...]] = {
    "os.rename": (0, 1),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.link": (1,),
    "os.symlink": (1,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copymode": (1,),
    "shutil.copystat": (1,),
    "shutil.move": (1,),
    "shutil.make_archive": (0,),
    "shutil.unpack_archive": (1,),
}

_PROCESS_EVENTS = frozenset(
    {
        "os.fork",
        "os.forkpty",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.startfile",
        "subprocess.Popen",
        "pty.spawn",
    }
)
_SIGNAL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill", "os.pidfd_open"})
_NETWORK_PREFIXES = ("socket.", "urllib.Request", "http.client.", "ftplib.", "smtplib.", "poplib.", "imaplib.")
_CTYPES_EVENTS = frozenset(
    {"ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function", "ctypes.cdata"}
)
_GC_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents"})
# modules that start processes without an audit event (CPython 3.11)
BLOCKED_IMPORTS = frozenset({"_posixsubprocess", "_xxsubinterpreters", "_ctypes"})


class SandboxViolation(BaseException):
    """Raised (and reported) when a script does something the sandbox refuses.

    A ``BaseException``, so that ``except Exception`` in a script does not swallow it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _resolved(path: Any, cwd: Path) -> Path | None:
    if isinstance(path, int):
        return None  # an already open descriptor: checked when it was opened
    try:
        raw = os.fsdecode(path)
    except TypeError:
        return None
    candidate = Path(raw) if os.path.isabs(raw) else cwd / raw
    return Path(os.path.realpath(candidate))


class Guard:
    """Decide sandbox audit events for a run whose writable folder is ``scratch``.

    ``own_pid`` is the sandboxed process itself (signals to it are allowed; reads of its own
    ``/proc`` entries too)."""

    def __init__(self, scratch: Path, own_pid: int, *, extra_writable: tuple[Path, ...] = ()) -> None:
        self.scratch = Path(os.path.realpath(scratch))
        self.writable = (self.scratch, *(Path(os.path.realpath(p)) for p in extra_writable))
        self.own_pid = own_pid

    def inside(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.writable)

    def check(self, event: str, args: tuple[Any, ...]) -> str | None:
        """None when ``event`` is allowed, else the refusal message (one line)."""
        if event == "open":
            return self._open(args)
        if event in _WRITE_PATHS:
            return self._writes(event, args)
        if event in _PROCESS_EVENTS:
            return "starting another process is not allowed (process limit)"
        if event in _SIGNAL_EVENTS:
            pid = args[0] if args else None
            if event == "os.kill" and pid in (self.own_pid, os.getpid()):
                return None
            return f"sending a signal to process {pid} is not allowed"
        if event.startswith(_NETWORK_PREFIXES):
            return "network access is not allowed (sockets are refused)"
        if event in _CTYPES_EVENTS:
            return "calling C functions through ctypes is not allowed"
        if event in _GC_EVENTS:
            return f"{event}() is not allowed in the sandbox"
        if event == "import" and args and args[0] in BLOCKED_IMPORTS:
            return f"importing {args[0]} is not allowed in the sandbox"
        return None

    def _open(self, args: tuple[Any, ...]) -> str | None:
        path, mode, flags = (*args, None, None, None)[:3]
        cwd = Path(os.getcwd())
        target = _resolved(path, cwd)
        if target is None:
            return None
        text = os.fsdecode(path) if not isinstance(path, int) else ""
        denied = self._proc(text, target)
        if denied:
            return denied
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing and not (self.inside(target) or str(target) == os.devnull):
            return f"writing outside the scratch folder is not allowed: {text}"
        if mode is None and not self.inside(target) and target.is_dir():
            return f"opening a folder outside the scratch folder is not allowed: {text}"
        return None

    def _proc(self, text: str, target: Path) -> str | None:
        parts = target.parts
        if len(parts) >= 3 and parts[1] == "proc" and parts[2].isdigit():
            if int(parts[2]) in (self.own_pid, os.getpid()):
                return None
            return f"reading another process's {target} is not allowed"
        return None

    def _writes(self, event: str, args: tuple[Any, ...]) -> str | None:
        cwd = Path(os.getcwd())
        for index in _WRITE_PATHS[event]:
            if index >= len(args):
                continue
            target = _resolved(args[index], cwd)
            if target is not None and not self.inside(target):
                return f"{event.split('.', 1)[1]} outside the scratch folder is not allowed: {os.fsdecode(args[index])}"
        return None

    def hook(self, refuse: Callable[[str], None]) -> Callable[[str, tuple[Any, ...]], None]:
        """An audit hook calling ``refuse(message)`` for every refused event (which must raise or exit)."""
        check = self.check
        active = [True]

        def audit(event: str, args: tuple[Any, ...]) -> None:
            if not active[0]:
                return
            message = check(event, args)
            if message is not None:
                active[0] = False  # the refusal's own reporting must not re-enter the guard
                try:
                    refuse(message)
                finally:
                    active[0] = True

        return audit
