"""Start the Neloura server: ``python main.py [--root DIR] [--host H] [--port P]``."""

from __future__ import annotations

import argparse
import logging


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the Neloura web server.")
    parser.add_argument("--root", help="folder holding files/ catalogs/ psf/ kernels/ images/ (NELOURA_ROOT)")
    parser.add_argument("--host", help="address to listen on (NELOURA_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (NELOURA_PORT, default 8000)")
    args = parser.parse_args()

    import uvicorn

    from neloura.app import create_app
    from neloura.settings import Settings

    overrides = {k: v for k, v in {"root": args.root, "host": args.host, "port": args.port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    # our own loggers (cleanup removals, job and parse failures) at INFO beside uvicorn's
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logging.getLogger("neloura").addHandler(handler)
    logging.getLogger("neloura").setLevel(logging.INFO)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
