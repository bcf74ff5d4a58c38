"""Command line for the sandboxed Python runner::

    python coding.py SCRIPT.py [--timeout S] [--image PATH --hdu N [--plane P]]

Runs SCRIPT in the same sandbox as the page's code panel (``python -I``, clean environment,
resource limits, no network, writes only in a scratch folder) with the same ``neloura_session``
helper (``--image`` is what ``neloura_session.image()`` returns). Streams the script's
stdout/stderr and exits with its exit code; when the sandbox stops it (time, memory, processes,
a refused write, socket or signal) it exits non-zero with a one-line reason on stderr.
Only parses arguments; the work is done by :func:`neloura.runtime.coding_sandbox.run_once`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coding.py",
        description="Run a Python script in Neloura's sandbox (the code panel's runner), streaming its output.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("script", type=Path, help="the Python script to run")
    parser.add_argument("--timeout", type=float, default=30.0, help="wall-clock limit, seconds")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address space the script may add, MB")
    parser.add_argument("--output-mb", type=float, default=64.0, help="stdout + stderr the script may print, MB")
    parser.add_argument("--image", type=Path, default=None, help="FITS image given to neloura_session.image()")
    parser.add_argument("--hdu", type=int, default=None, help="HDU of --image (default: the largest image HDU)")
    parser.add_argument("--plane", type=int, default=0, help="plane of a cube (0-based)")
    parser.add_argument(
        "--scratch", type=Path, default=None, help="folder the script may write in (default: a new temporary folder)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from neloura.core.fitsio import list_hdus
    from neloura.errors import NelouraError
    from neloura.runtime.coding_sandbox import Limits, run_once

    try:
        code = args.script.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"coding.py: cannot read {args.script}: {exc}", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print("coding.py: --timeout must be positive", file=sys.stderr)
        return 2
    context: dict[str, object] = {}
    if args.image is not None:
        try:
            hdu = args.hdu if args.hdu is not None else list_hdus(args.image)[1]
        except (OSError, NelouraError) as exc:
            print(f"coding.py: cannot open {args.image}: {exc}", file=sys.stderr)
            return 2
        if hdu is None:
            print(f"coding.py: {args.image} holds no image HDU", file=sys.stderr)
            return 2
        context["image"] = {"file": str(args.image.resolve()), "path": str(args.image), "hdu": hdu, "plane": args.plane}
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="neloura-coding-"))

    def output(stream: str, text: str) -> None:
        out = sys.stdout if stream == "stdout" else sys.stderr
        out.write(text)
        out.flush()

    def control(message: dict[str, object]) -> None:
        for kind in ("figure", "image", "table"):
            if isinstance(message.get(kind), str):
                print(f"[{kind}] {scratch / str(message[kind])}", file=sys.stderr)

    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory_mb, output_mb=args.output_mb)
    outcome = run_once(code, limits, scratch, context=context, on_output=output, on_control=control)
    if outcome.state == "done":
        return 0
    if outcome.reason and outcome.reason.startswith("sandbox:"):
        print(outcome.reason, file=sys.stderr)
    return outcome.exit_code or 1


if __name__ == "__main__":
    sys.exit(main())
