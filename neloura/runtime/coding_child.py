"""The sandboxed interpreter's entry point: ``python -I -u coding_child.py PROJECT_DIR``.

Started (by ``neloura.runtime.coding_sandbox``) with a clean environment, in its own process
group and, where available, in fresh network and PID namespaces. It imports the usual science
stack once (so that a warm interpreter answers at once), reports ``{"ready": true}`` on the
control pipe (fd 3), then waits for ONE run spec (a JSON line on stdin). For that run it moves
into the scratch folder, lowers its own resource limits, installs the audit-hook guard
(``neloura.core.coding_guard``) and executes the script. It never runs a second script.

The control pipe's descriptor number is the second argument (3 by default).

Exit codes: the script's own (``sys.exit``), 1 for an uncaught exception, :data:`EXIT_MEMORY`
when the memory limit was hit, :data:`EXIT_VIOLATION` when the guard refused an operation.
"""

from __future__ import annotations

import builtins
import json
import os
import resource
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

EXIT_MEMORY = 87
EXIT_VIOLATION = 86
SCRIPT_NAME = "<script>"
CONTROL_FD = 3


WARM_MODULES = (
    "numpy",
    "astropy.units",
    "astropy.coordinates",
    "astropy.io.fits",
    "astropy.wcs",
    "astropy.table",
    "matplotlib.pyplot",
    "neloura.core.coding_guard",
    "neloura.core.coding_session",
)


def _warm_imports(project_dir: str) -> None:
    import importlib

    sys.path.insert(0, project_dir)
    import matplotlib

    matplotlib.use("Agg")
    for name in WARM_MODULES:
        importlib.import_module(name)
    from astropy.utils import data, iers

    iers.conf.auto_download = False  # no network: astropy must not try to fetch IERS tables
    data.conf.allow_internet = False


class _Control:
    def __init__(self, fd: int) -> None:
        self.stream = os.fdopen(fd, "wb", buffering=0)

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.stream.write((json.dumps(message) + "\n").encode())
        except OSError:
            pass


def _vm_size_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(which: int, value: int) -> None:
    """Soft and hard limit both: the script cannot raise it back (an unprivileged process never can)."""
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _apply_limits(spec: dict[str, Any]) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    cpu = used + int(spec["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    _limit(resource.RLIMIT_AS, _vm_size_bytes() + int(spec["memory_mb"]) * 2**20)
    _limit(resource.RLIMIT_FSIZE, int(spec["file_mb"]) * 2**20)
    _limit(resource.RLIMIT_NOFILE, int(spec["open_files"]))
    _limit(resource.RLIMIT_NPROC, int(spec["processes"]))
    _limit(resource.RLIMIT_CORE, 0)


def _forget_unaudited_modules(blocked: frozenset[str]) -> None:
    """Drop every reference to modules that act without audit events (``_posixsubprocess``)."""
    for name in blocked & set(sys.modules):
        if name == "_ctypes":
            continue  # ctypes itself is audited per call (refused by the guard)
        module = sys.modules.pop(name)
        for other in list(sys.modules.values()):
            namespace = getattr(other, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for key, value in list(namespace.items()):
                if value is module:
                    del namespace[key]


def _script_line() -> str:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == SCRIPT_NAME:
            return f" (line {frame.f_lineno})"
        frame = frame.f_back  # type: ignore[assignment]
    return ""


def _user_traceback(exc: BaseException) -> None:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != SCRIPT_NAME:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)


def _run(spec: dict[str, Any], control: _Control) -> int:
    from neloura.core import coding_session
    from neloura.core.coding_guard import BLOCKED_IMPORTS, Guard

    scratch = Path(spec["scratch"])
    os.chdir(scratch)
    tempfile.tempdir = str(scratch)
    coding_session.configure(spec.get("context") or {}, scratch, control.send)
    sys.modules["neloura_session"] = coding_session
    import matplotlib.pyplot as plt

    plt.show = lambda *args, **kwargs: coding_session.show_figures()  # type: ignore[assignment]
    try:
        code = compile(spec["code"], SCRIPT_NAME, "exec")
    except (SyntaxError, ValueError) as exc:
        traceback.print_exception(type(exc), exc, None, file=sys.stderr)
        return 1
    _apply_limits(spec)
    _forget_unaudited_modules(BLOCKED_IMPORTS)

    def refuse(message: str) -> None:
        text = f"sandbox: {message}{_script_line()}"
        control.send({"violation": text})
        try:
            sys.stdout.flush()
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_VIOLATION)

    sys.addaudithook(Guard(scratch, os.getpid()).hook(refuse))
    namespace = {"__name__": "__main__", "__file__": spec.get("filename", SCRIPT_NAME), "__builtins__": builtins}
    status = 0
    try:
        exec(code, namespace)  # noqa: S102 - running the user's script is this module's purpose
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except MemoryError:
        text = f"sandbox: memory limit of {spec['memory_mb']} MB reached"
        control.send({"limit": text})
        print(text, file=sys.stderr)
        return EXIT_MEMORY
    except BaseException as exc:  # noqa: BLE001 - the script's error is printed like Python would
        _user_traceback(exc)
        status = 1
    try:
        coding_session.show_figures()
    except Exception as exc:  # noqa: BLE001 - a broken figure must not hide the script's status
        print(f"figure not saved: {exc}", file=sys.stderr)
    return status


def main() -> None:
    project_dir = sys.argv[1]
    control = _Control(int(sys.argv[2]) if len(sys.argv) > 2 else CONTROL_FD)
    _warm_imports(project_dir)
    control.send({"ready": True, "pid": os.getpid()})
    line = sys.stdin.readline()
    if not line.strip():
        os._exit(0)
    status = _run(json.loads(line), control)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


if __name__ == "__main__":
    main()
