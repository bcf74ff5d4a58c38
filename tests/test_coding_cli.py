"""coding.py runs as a real subprocess: streamed output, the script's exit code, one-line reasons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neloura.core.demo import GalaxyField, write_demo
from neloura.core.fitsio import FitsImage

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, "coding.py", str(script), "--scratch", str(tmp_path / "scratch"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_runs_with_an_image_and_keeps_the_exit_code(tmp_path: Path) -> None:
    write_demo(tmp_path / "files", tmp_path / "catalogs", field=GalaxyField(shape=(96, 96), n_stars=5))
    image = tmp_path / "files" / "demo" / "galaxy.fits"
    code = (
        "import sys, neloura_session as ns, matplotlib.pyplot as plt\n"
        "img = ns.image()\nprint(repr(img.value(40, 50)))\nprint('to stderr', file=sys.stderr)\n"
        "plt.plot([1, 2]); plt.show()\nsys.exit(4)\n"
    )
    done = _run(tmp_path, code, "--image", str(image), "--hdu", "1")
    assert done.returncode == 4, done.stderr
    with FitsImage(image, 1) as fits_image:
        assert done.stdout == f"{fits_image.plane(0).value(40, 50)!r}\n"
    assert "to stderr" in done.stderr
    assert (tmp_path / "scratch" / "figure-001.png").is_file()


def test_cli_sandbox_stops_give_one_line_reasons(tmp_path: Path) -> None:
    for code, args, reason in (
        ("while True:\n    pass\n", ("--timeout", "1"), "sandbox: time limit of 1 s exceeded"),
        ("open('/tmp/neloura-cli-evil', 'w')\n", (), "sandbox: writing outside the scratch folder is not allowed"),
        ("import socket\nsocket.socket()\n", (), "sandbox: network access is not allowed"),
    ):
        done = _run(tmp_path, code, *args)
        assert done.returncode != 0
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(reason), done.stderr
        assert "Traceback" not in done.stderr
    assert not Path("/tmp/neloura-cli-evil").exists()
