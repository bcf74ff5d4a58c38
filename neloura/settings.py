"""One typed settings object, read from the environment (``NELOURA_`` prefix) once.

Every data folder derives from ``root``. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Server configuration. Environment variables use the ``NELOURA_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="NELOURA_", extra="ignore")

    root: Path = Field(default=PROJECT_DIR, description="Folder holding files/ catalogs/ psf/ kernels/ images/")
    host: str = "127.0.0.1"
    port: int = 8000
    admin: bool = False
    admin_token: str = ""
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

    # uploads and the temporary workspace
    upload_max_mb: int = 2048
    request_max_mb: int = Field(default=32, description="Largest body of any non-upload request")
    cleanup_interval_minutes: float = 60.0

    # jobs
    job_workers: int = 2
    dask_scheduler: str = ""

    # sandboxed Python runs (/local-coding/*, admin only)
    coding_workers: int = Field(default=2, description="Sandboxed runs at a time (the rest queue per user)")
    coding_warm: int = Field(default=1, description="Sandboxed interpreters kept warm (numpy, astropy imported)")
    coding_timeout_s: float = Field(default=30.0, description="Default wall-clock limit of a run")
    coding_timeout_max_s: float = Field(default=600.0, description="Largest timeout a run may ask for")
    coding_memory_mb: int = Field(default=2048, description="Address space a run may add")
    coding_output_mb: float = Field(default=8.0, description="stdout + stderr a run may print")

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
    def is_loopback(self) -> bool:
        return self.host in {"127.0.0.1", "localhost", "::1"} or self.host.startswith("127.")

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
