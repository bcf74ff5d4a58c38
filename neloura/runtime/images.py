"""Open images kept in a bounded LRU, keyed by (path, hdu); paths confined to files/."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from neloura.core.fitsio import FitsImage
from neloura.core.paths import confine
from neloura.errors import ImageNotFound, NotFound
from neloura.settings import Settings


class ImageStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._open: OrderedDict[tuple[Path, int, float], FitsImage] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, relative: str) -> Path:
        """Absolute path of a file under files/ (403 outside it, 404 when missing)."""
        try:
            path = confine(self.settings.files_dir, relative)
        except NotFound as exc:
            raise ImageNotFound(f"no such image: {relative}") from exc
        if not path.is_file():
            raise ImageNotFound(f"not a file: {relative}")
        return path

    def get(self, relative: str, hdu: int) -> FitsImage:
        """The open image for (path, hdu), reopened when the file changed on disk."""
        path = self.resolve(relative)
        key = (path, hdu, path.stat().st_mtime)
        with self._lock:
            image = self._open.get(key)
            if image is not None:
                self._open.move_to_end(key)
                return image
        image = FitsImage(path, hdu)
        with self._lock:
            self._open[key] = image
            while len(self._open) > self.settings.open_images_max:
                _, old = self._open.popitem(last=False)
                old.close()
        return image

    def close(self) -> None:
        with self._lock:
            for image in self._open.values():
                image.close()
            self._open.clear()
