"""Domain exceptions and the one table that maps them to HTTP status codes.

Core and runtime raise these; ``neloura.app`` installs one handler that turns them into
``{"detail": message}`` JSON with the status below. Routes hold no try/except-to-HTTP code.
"""

from __future__ import annotations


class NelouraError(Exception):
    """Base class of every error a user can cause."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(NelouraError):
    """Something named by the request does not exist."""


class ImageNotFound(NotFound):
    pass


class CatalogNotFound(NotFound):
    pass


class JobNotFound(NotFound):
    pass


class RgbNotFound(NotFound):
    """No composite of that id (never built, or its cache folder was removed)."""


class PathOutsideRoot(NelouraError):
    """A path escapes its data folder (``..``, absolute, symlink leading out)."""


class NotAFitsImage(NelouraError):
    """The file is not FITS, is corrupt or truncated, or the HDU holds no image."""


class UnsupportedFormat(NelouraError):
    """A file of a format we cannot read (catalogs, uploads)."""


class InvalidParameter(NelouraError):
    """A parameter is out of range or malformed."""


class InvalidFilter(InvalidParameter):
    """A filter expression does not parse or names unknown columns."""

    def __init__(self, message: str, position: int | None = None, columns: list[str] | None = None) -> None:
        super().__init__(message)
        self.position = position
        self.columns = columns or []


class NotASegmentationMap(InvalidParameter):
    """An image opened as a segmentation map holds non-integer or negative values (422)."""


class InvalidRegions(InvalidParameter):
    """Region text (DS9 / CRTF) that does not parse; the message names the line and the reason."""


class PayloadTooLarge(NelouraError):
    pass


class ImageTooLarge(PayloadTooLarge):
    """A compressed image decompresses beyond the server's per-image ceiling (413)."""


class MemoryBudgetExceeded(NelouraError):
    """The work would take the server past its memory budget even with its caches emptied (507)."""


class Forbidden(NelouraError):
    pass


class Conflict(NelouraError):
    pass


class DeadlineExceeded(NelouraError):
    """Bounded work (a FITS/WCS parse, a catalog query) ran past its deadline and was stopped."""


class ServerBusy(NelouraError):
    """Every worker for bounded work is busy past the deadline; the client may retry."""


STATUS_BY_ERROR: dict[type[NelouraError], int] = {
    NotFound: 404,
    PathOutsideRoot: 403,
    NotAFitsImage: 415,
    UnsupportedFormat: 415,
    InvalidParameter: 422,
    PayloadTooLarge: 413,
    Forbidden: 403,
    Conflict: 409,
    DeadlineExceeded: 422,
    ServerBusy: 503,
    MemoryBudgetExceeded: 507,
}


def status_for(error: NelouraError) -> int:
    """HTTP status for a domain error: the most specific class in the table wins."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]  # type: ignore[index]
    return 400
