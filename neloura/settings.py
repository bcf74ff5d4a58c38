"""One typed settings object, read from the environment (``NELOURA_`` prefix) once.

Every data folder derives from ``root``. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from neloura.core.hosts import WILDCARD_ADDRESSES, is_loopback_host

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Server configuration. Environment variables use the ``NELOURA_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="NELOURA_", extra="ignore")

    root: Path = Field(default=PROJECT_DIR, description="Folder holding files/ catalogs/ psf/ kernels/ images/")
    host: str = "127.0.0.1"
    port: int = 8000
    admin: bool = False
    admin_token: str = ""
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names (besides loopback and the bind address) the server answers to; comma-separated",
    )
    demo: bool = Field(default=True, description="Write the demo set when files/ has no FITS image")

    # image engine
    tile_size: int = 256
    tile_format: Literal["png", "jpg"] = "png"
    jpeg_quality: int = 90
    open_images_max: int = 32
    level_cache_mb: int = 1024
    tile_cache_mb: int = 256
    disk_cache: bool = True
    provisional_tiles: bool = Field(
        default=True, description="Overview tiles from a strided read until the levels exist"
    )
    disk_cache_max_mb: int = Field(default=20480, description="Disk budget of .cache/levels and .cache/catalogs")
    limits_sample_size: int = 1_000_000
    memory_mb: int = Field(
        default=4096,
        description="Memory budget of the server process: the open images and in-memory caches are "
        "emptied to stay within it, and work that cannot fit is refused with 507; 0: no budget",
    )
    decompressed_max_mb: int = Field(
        default=2048, description="Largest decompressed size of one tile-compressed image (413 beyond); 0: none"
    )

    # uploads and the temporary workspace
    upload_max_mb: int = 2048
    request_max_mb: int = Field(default=32, description="Largest body of any non-upload request")
    cleanup_interval_minutes: float = 60.0
    upload_hold_hours: float = Field(default=24.0, description="Longest a live view keeps an upload from cleanup")

    # bounded work: FITS/WCS parses in killable worker processes (neloura.runtime.bounded)
    parse_workers: int = Field(default=2, description="Worker processes for FITS/WCS parses")
    parse_timeout_s: float = Field(default=20.0, description="Deadline of one FITS/WCS parse")
    catalog_query_timeout_s: float = Field(default=30.0, description="Deadline of one catalog query")

    # server processes (neloura.runtime.broker relays events between them)
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes sharing the data root")

    # jobs
    job_workers: int = 2
    results_keep_hours: float = Field(
        default=168.0,
        gt=0,
        description="Job results (detections, photometry, completeness, cutouts, files/results) kept this long",
    )
    dask_scheduler: str = ""

    # sandboxed Python runs (/local-coding/*, admin only)
    coding_workers: int = Field(default=2, description="Sandboxed runs at a time (the rest queue per user)")
    coding_warm: int = Field(default=1, description="Sandboxed interpreters kept warm (numpy, astropy imported)")
    coding_timeout_s: float = Field(default=30.0, description="Default wall-clock limit of a run")
    coding_timeout_max_s: float = Field(default=600.0, description="Largest timeout a run may ask for")
    coding_memory_mb: int = Field(default=2048, description="Address space a run may add")
    coding_output_mb: float = Field(default=8.0, description="stdout + stderr a run may print")

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    @property
    def uploads_dir(self) -> Path:
        return self.files_dir / "uploads"

    @property
    def catalogs_dir(self) -> Path:
        return self.root / "catalogs"

    @property
    def psf_dir(self) -> Path:
        return self.root / "psf"

    @property
    def kernels_dir(self) -> Path:
        return self.root / "kernels"

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    @property
    def events_path(self) -> Path:
        """The event broker's SQLite file (several workers only)."""
        return self.cache_dir / "events.sqlite"

    @property
    def jobs_db(self) -> Path:
        """The durable job store (SQLite, WAL), shared by every server process on this root."""
        return self.cache_dir / "jobs.sqlite"

    @property
    def is_loopback(self) -> bool:
        """True when the server listens on loopback only, decided by address (a name such as
        ``127.evil.example`` is resolved, and counts only if every address it gives is loopback)."""
        return _resolves_to_loopback(self.host)

    def ensure_folders(self) -> None:
        """Create the data folders (idempotent)."""
        for folder in (
            self.files_dir,
            self.uploads_dir,
            self.catalogs_dir,
            self.psf_dir,
            self.kernels_dir,
            self.images_dir,
            self.cache_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)


def export_to_workers(overrides: dict[str, object]) -> None:
    """Put settings given on the command line into the environment, where the worker processes
    of ``uvicorn --workers`` (each building its app with ``create_app()``) read them."""
    for name, value in overrides.items():
        os.environ[f"NELOURA_{name.upper()}"] = str(value)


@functools.lru_cache(maxsize=32)
def _resolves_to_loopback(host: str) -> bool:
    if is_loopback_host(host):
        return True
    if host.strip() in WILDCARD_ADDRESSES:
        return False
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(is_loopback_host(str(a).split("%")[0]) for a in addresses)
