"""Start the Neloura server: ``python main.py [--root DIR] [--host H] [--port P] [--workers N]``."""

from __future__ import annotations

import argparse
import logging


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the Neloura web server.")
    parser.add_argument("--root", help="folder holding files/ catalogs/ psf/ kernels/ images/ (NELOURA_ROOT)")
    parser.add_argument("--host", help="address to listen on (NELOURA_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (NELOURA_PORT, default 8000)")
    parser.add_argument("--workers", type=int, help="server worker processes (NELOURA_WORKERS, default 1)")
    args = parser.parse_args()

    import uvicorn

    from neloura.app import create_app
    from neloura.settings import Settings, export_to_workers

    given = {"root": args.root, "host": args.host, "port": args.port, "workers": args.workers}
    overrides = {k: v for k, v in given.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    # our own loggers (cleanup removals, job and parse failures) at INFO beside uvicorn's
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logging.getLogger("neloura").addHandler(handler)
    logging.getLogger("neloura").setLevel(logging.INFO)
    if settings.workers == 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
        return
    # several processes: each worker builds its own app from the environment (create_app() reads
    # Settings), so the command-line overrides travel to them as NELOURA_* variables
    export_to_workers(overrides)
    settings.ensure_folders()  # once, before the workers race to create them
    uvicorn.run(
        "neloura.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
    )


if __name__ == "__main__":
    main()
