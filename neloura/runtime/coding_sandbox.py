"""Sandboxed Python processes: isolation probe, spawning, supervising one run.

Each interpreter is ``python -I -u neloura/runtime/coding_child.py`` started with a clean
environment (no server settings, no admin token), in a new session (its own process group,
which Stop kills as a whole), behind the strongest isolation prefix the machine allows, found by
:func:`probe_isolation` at start-up:

1. ``unshare --net --pid --fork --mount-proc --kill-child``: fresh network namespace (only a
   down loopback: no network at all) and PID namespace (the server's PID does not exist in it,
   ``/proc`` shows only the sandbox); needs root or
2. the same inside an unprivileged user namespace (``--map-root-user``);
3. nothing: sockets are then refused by the audit-hook guard only.

When the server runs as root, each of these is tried first with ``setpriv`` to ``nobody`` after
the namespaces (:mod:`neloura.runtime.coding_user`): the process limit then holds and the
server's files are out of reach; the probe checks that user can reach the data folders.

``setpriv --pdeathsig KILL`` in front ties the sandbox's life to the spawning server thread: if
the server dies, the kernel kills the sandbox. Resource limits (CPU, address space, file size,
open files, processes) are set by the child itself before the script starts.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neloura.runtime.coding_outcome import Outcome, outcome_of
from neloura.runtime.coding_user import SandboxUser, sandbox_user

__all__ = ["Isolation", "Limits", "Outcome", "SandboxProcess", "outcome_of", "probe_isolation", "run_once", "supervise"]

log = logging.getLogger("neloura.coding")

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
CHILD = Path(__file__).resolve().parent / "coding_child.py"

_PROBE = (
    "import json, os, socket, sys\n"
    "reach = all(os.access(p, os.R_OK | os.X_OK) for p in sys.argv[1:])\n"
    "print(json.dumps({'ifaces': [n for _, n in socket.if_nameindex()], 'pid': os.getpid(),"
    " 'uid': os.getuid(), 'reach': reach}))\n"
)
_NAMESPACES = ["--net", "--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc"]


@dataclass(frozen=True)
class Isolation:
    """How sandboxes are started on this machine (``name`` is reported by the API and the CLI)."""

    name: str
    prefix: tuple[str, ...]
    network_namespace: bool
    pid_namespace: bool
    user: SandboxUser | None = None

    def describe(self) -> str:
        net = "no network (empty network namespace)" if self.network_namespace else "sockets refused by the audit hook"
        pid = "own PID namespace" if self.pid_namespace else "shared PID space (signals refused by the audit hook)"
        who = f"; runs as {self.user.name} (uid {self.user.uid}: process limit enforced)" if self.user else ""
        return f"{self.name}: {net}; {pid}{who}"


@dataclass(frozen=True)
class Limits:
    """Limits of one run (wall clock, CPU, memory, written files, open files, processes, output)."""

    timeout_s: float = 30.0
    memory_mb: int = 2048
    file_mb: int = 256
    open_files: int = 256
    processes: int = 0
    output_mb: float = 8.0

    @property
    def cpu_s(self) -> int:
        return int(self.timeout_s) + 1


def _candidates() -> list[Isolation]:
    unshare = shutil.which("unshare")
    setpriv = shutil.which("setpriv")
    death: tuple[str, ...] = (setpriv, "--pdeathsig", "KILL", "--") if setpriv else ()
    base = []
    if unshare:
        base.append(Isolation("namespaces", (*death, unshare, *_NAMESPACES, "--"), True, True))
        base.append(Isolation("user-namespaces", (*death, unshare, "--map-root-user", *_NAMESPACES, "--"), True, True))
    base.append(Isolation("audit-hook-only", death, False, False))
    user = sandbox_user()
    if user is None:
        return base
    out = []
    for candidate in base:  # each one first as the unprivileged user, then as the server's
        dropped = (*candidate.prefix, *user.setpriv())
        out.append(Isolation(candidate.name, dropped, candidate.network_namespace, candidate.pid_namespace, user))
        out.append(candidate)
    return out


def clean_environment(mpl_dir: Path) -> dict[str, str]:
    """The whole environment of a sandbox: nothing inherited from the server."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(mpl_dir),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(mpl_dir),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def probe_isolation(python: str = sys.executable, reach: tuple[Path, ...] = ()) -> Isolation:
    """The first isolation prefix that starts Python here (network-isolated ones must show only
    ``lo``; one that runs as another user must reach the folders ``reach``: the data, the scratch)."""
    for candidate in _candidates():
        try:
            done = subprocess.run(  # noqa: S603 - our own fixed command line
                [*candidate.prefix, python, "-I", "-c", _PROBE, *map(str, reach)],
                capture_output=True,
                timeout=20,
                env={"PATH": "/usr/bin:/bin"},
                start_new_session=True,
            )
            seen = json.loads(done.stdout.decode() or "{}")
        except (OSError, subprocess.SubprocessError, ValueError):
            continue
        if done.returncode != 0:
            continue
        if candidate.network_namespace and seen.get("ifaces") != ["lo"]:
            continue
        if candidate.user is not None and (seen.get("uid") != candidate.user.uid or not seen.get("reach")):
            log.warning("coding sandbox: %s cannot reach %s; runs keep the server's user", candidate.user.name, reach)
            continue
        return candidate
    return Isolation("audit-hook-only", (), False, False)


class SandboxProcess:
    """One sandboxed interpreter: started warm, then given exactly one run."""

    def __init__(self, isolation: Isolation, mpl_dir: Path, python: str = sys.executable) -> None:
        mpl_dir.mkdir(parents=True, exist_ok=True)
        if isolation.user is not None:  # matplotlib's caches: written by the unprivileged user
            isolation.user.give(mpl_dir, recursive=True)
        read_fd, write_fd = os.pipe()
        try:
            self.popen = subprocess.Popen(  # noqa: S603 - our own fixed command line
                [*isolation.prefix, python, "-I", "-u", str(CHILD), str(PROJECT_DIR), str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
                env=clean_environment(mpl_dir),
                cwd=str(mpl_dir),
                start_new_session=True,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.control_fd = read_fd
        self.isolation = isolation
        self.started = time.monotonic()
        self._control_buffer = b""
        self.ready = False

    def read_control(self, data: bytes) -> list[dict[str, Any]]:
        """Split control-pipe bytes into JSON messages (malformed lines are dropped)."""
        self._control_buffer += data
        *lines, self._control_buffer = self._control_buffer.split(b"\n")
        messages = []
        for line in lines[:1000]:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                messages.append(message)
        self._control_buffer = self._control_buffer[-65536:]
        return messages

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until the interpreter has imported its modules (False if it died or took too long)."""
        end = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.control_fd, selectors.EVENT_READ)
            while not self.ready and time.monotonic() < end:
                if not sel.select(max(0.0, end - time.monotonic())):
                    break
                data = os.read(self.control_fd, 65536)
                if not data:
                    return False
                self.ready = any(m.get("ready") for m in self.read_control(data))
        return self.ready

    def alive(self) -> bool:
        return self.popen.poll() is None

    def start(self, spec: dict[str, Any]) -> None:
        """Hand the run to the interpreter (one JSON line on stdin, then stdin is closed)."""
        assert self.popen.stdin is not None
        try:
            self.popen.stdin.write((json.dumps(spec) + "\n").encode())
            self.popen.stdin.close()
        except (BrokenPipeError, OSError):  # it died while warm: its exit status tells why
            pass

    def kill(self) -> None:
        """SIGKILL the whole process group (the sandbox and anything it started)."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        self.kill()
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        try:
            os.close(self.control_fd)
        except OSError:
            pass


OnOutput = Callable[[str, str], None]
OnControl = Callable[[dict[str, Any]], None]


def supervise(
    proc: SandboxProcess,
    spec: dict[str, Any],
    limits: Limits,
    on_output: OnOutput,
    on_control: OnControl,
    stop_requested: Callable[[], bool] = lambda: False,
    flush_s: float = 0.05,
) -> Outcome:
    """Run ``spec`` in ``proc``: stream output (batched every ``flush_s``), enforce the wall clock
    and output limits, honour Stop, and return the outcome. Blocks until the process is gone."""
    import codecs

    start = time.monotonic()
    if proc.isolation.user is not None:  # the only folder the run may write in
        proc.isolation.user.give(Path(spec["scratch"]))
    proc.start(spec)
    assert proc.popen.stdout is not None and proc.popen.stderr is not None
    decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
    pending = {"stdout": "", "stderr": ""}
    fds = {proc.popen.stdout.fileno(): "stdout", proc.popen.stderr.fileno(): "stderr", proc.control_fd: "control"}
    total, limit = 0, int(limits.output_mb * 2**20)
    stopped = timed_out = over = False
    refused: str | None = None
    last_flush = start - flush_s  # the first output goes out at once; later ones are batched
    killed_at: float | None = None

    tail = [""]

    def flush() -> None:
        for name, text in pending.items():
            if text:
                if name == "stderr":
                    tail[0] = (tail[0] + text)[-2000:]
                on_output(name, text)
                pending[name] = ""

    with selectors.DefaultSelector() as sel:
        for fd in fds:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            if killed_at is None and (stopped or timed_out or over):
                killed_at = time.monotonic()
            if killed_at is not None and time.monotonic() - killed_at > 2.0:
                break  # killed, but something escaped the group and holds a pipe open
            for key, _ in sel.select(flush_s):
                data = os.read(key.fd, 65536)
                name = fds[key.fd]
                if not data:
                    sel.unregister(key.fd)
                elif name == "control":
                    for message in proc.read_control(data):
                        if isinstance(message.get("violation"), str):
                            refused = refused or message["violation"][:500]
                        on_control(message)
                elif not over:
                    total += len(data)
                    if total > limit:
                        data, over = data[: max(0, len(data) - (total - limit))], True
                        proc.kill()
                    pending[name] += decoders[name].decode(data)
            now = time.monotonic()
            if not (stopped or timed_out) and stop_requested():
                stopped = True
                proc.kill()
            if not (stopped or timed_out) and now - start > limits.timeout_s:
                timed_out = True
                proc.kill()
            if now - last_flush >= flush_s:
                flush()
                last_flush = now
    for name, decoder in decoders.items():
        pending[name] += decoder.decode(b"", final=True)
    flush()
    proc.kill()  # anything the script left behind in its group
    returncode = proc.popen.wait()
    proc.close()
    lines = [line for line in tail[0].splitlines() if line.strip()]
    outcome = outcome_of(
        returncode,
        limits=limits,
        stopped=stopped,
        timed_out=timed_out,
        over_output=over,
        refused=refused,
        elapsed_s=time.monotonic() - start,
        last_error=lines[-1].strip() if lines else "",
    )
    outcome.output_bytes = total
    return outcome


def run_once(
    code: str,
    limits: Limits,
    scratch: Path,
    *,
    context: dict[str, Any] | None = None,
    on_output: OnOutput,
    on_control: OnControl = lambda message: None,
    isolation: Isolation | None = None,
    mpl_dir: Path | None = None,
) -> Outcome:
    """One run in a fresh sandbox, start to end (command line, benchmarks): no pool, no server."""
    scratch.mkdir(parents=True, exist_ok=True)
    if isolation is None and (user := sandbox_user()) is not None:
        user.give(scratch)  # before the probe: it checks that user reaches the scratch folder
    image = (context or {}).get("image") or {}
    reach = (scratch, *([Path(image["file"]).parent] if image.get("file") else []))
    isolation = isolation or probe_isolation(reach=reach)
    proc = SandboxProcess(isolation, mpl_dir or Path(tempfile.gettempdir()) / "neloura-coding-mpl")
    if not proc.wait_ready(timeout=120):
        proc.close()
        return Outcome("failed", None, "sandbox: the interpreter did not start", 0.0)
    return supervise(proc, run_spec(code, limits, scratch, context or {}), limits, on_output, on_control)


def run_spec(code: str, limits: Limits, scratch: Path, context: dict[str, Any]) -> dict[str, Any]:
    """The JSON line a sandbox receives for one run."""
    return {
        "code": code,
        "scratch": str(scratch.resolve()),
        "cpu_s": limits.cpu_s,
        "memory_mb": limits.memory_mb,
        "file_mb": limits.file_mb,
        "open_files": limits.open_files,
        "processes": limits.processes,
        "context": context,
    }
