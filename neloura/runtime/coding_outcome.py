"""How a sandboxed run ended: the state, the shell-style exit code and a one-line reason (pure)."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neloura.runtime.coding_child import EXIT_MEMORY, EXIT_VIOLATION

if TYPE_CHECKING:
    from neloura.runtime.coding_sandbox import Limits


@dataclass
class Outcome:
    """How a run ended: ``state`` done/failed/stopped, the shell-style exit code, the one-line reason."""

    state: str
    exit_code: int | None
    reason: str | None
    elapsed_s: float
    output_bytes: int = 0


def _signal_reason(signum: int, limits: Limits) -> str:
    if signum == signal.SIGXCPU:
        return f"sandbox: CPU time limit of {limits.cpu_s} s exceeded"
    if signum == signal.SIGXFSZ:
        return f"sandbox: file size limit of {limits.file_mb} MB exceeded"
    if signum == signal.SIGSEGV:
        return "sandbox: the interpreter crashed (segmentation fault; memory limit?)"
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = str(signum)
    return f"sandbox: the interpreter was killed ({name})"


def outcome_of(
    returncode: int,
    *,
    limits: Limits,
    stopped: bool = False,
    timed_out: bool = False,
    over_output: bool = False,
    refused: str | None = None,
    elapsed_s: float = 0.0,
    last_error: str = "",
) -> Outcome:
    """Turn what the supervisor saw into an :class:`Outcome` (pure: unit-tested)."""
    code = 128 - returncode if returncode < 0 else returncode
    if stopped:
        return Outcome("stopped", code, "stopped by the user", elapsed_s)
    if timed_out:
        return Outcome("failed", code, f"sandbox: time limit of {limits.timeout_s:g} s exceeded", elapsed_s)
    if over_output:
        return Outcome("failed", code, f"sandbox: output limit of {limits.output_mb:g} MB exceeded", elapsed_s)
    if refused:
        return Outcome("failed", code, refused, elapsed_s)
    if returncode < 0:
        return Outcome("failed", code, _signal_reason(-returncode, limits), elapsed_s)
    if returncode == EXIT_MEMORY:
        return Outcome("failed", code, f"sandbox: memory limit of {limits.memory_mb} MB reached", elapsed_s)
    if returncode == EXIT_VIOLATION:
        return Outcome("failed", code, "sandbox: a refused operation stopped the script", elapsed_s)
    if returncode == 1 and last_error:
        return Outcome("failed", code, f"the script failed: {last_error[:300]}", elapsed_s)
    if returncode != 0:
        return Outcome("failed", code, f"the script exited with code {returncode}", elapsed_s)
    return Outcome("done", 0, None, elapsed_s)
