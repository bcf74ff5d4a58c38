"""Positional queries on the sky: cone search, box search and cross-match of two catalogs.

Every position becomes a 3-D unit vector, so the geometry has no singularity at the poles and
no seam at RA 0/360. A :class:`SkyIndex` holds a ``scipy.spatial.cKDTree`` over those vectors
(built once per catalog) and answers radius queries with the chord distance
``2 sin(theta / 2)``; the returned separations are then computed exactly on the great circle
(``atan2(|a x b|, a . b)``, accurate at every angle) and the radius is applied again to them.

Inputs are ICRS right ascension and declination in degrees (float64); rows whose position is
NaN are never matched. Row indices are 0-based positions in the arrays given (file order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree

from neloura.errors import InvalidParameter

MatchMode = Literal["best", "all"]
JoinMode = Literal["matched", "left", "full"]
ARCSEC_PER_RAD = 180.0 / np.pi * 3600.0
# Chord radii are widened by this relative amount so that rounding in the chord never drops a
# pair that is inside the radius on the great circle; the exact separation decides afterwards.
_CHORD_SLACK = 1e-9


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """(n, 3) float64 unit vectors of ``ra_deg``/``dec_deg`` (degrees)."""
    ra = np.radians(np.asarray(ra_deg, dtype=np.float64))
    dec = np.radians(np.asarray(dec_deg, dtype=np.float64))
    cos_dec = np.cos(dec)
    return np.stack((cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)), axis=-1)


def chord_for_arcsec(radius_arcsec: float) -> float:
    """Chord length of unit vectors ``radius_arcsec`` apart (slightly widened, see module doc)."""
    theta = min(float(radius_arcsec), 180.0 * 3600.0) / ARCSEC_PER_RAD
    return 2.0 * np.sin(theta / 2.0) * (1.0 + _CHORD_SLACK) + 1e-15


def vector_separation_arcsec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle separation in arcsec between rows of two (n, 3) unit-vector arrays.

    ``2 atan2(|a - b|, |a + b|)`` is well conditioned at every angle (0 to 180 degrees).
    """
    d = a - b
    t = a + b
    # column sums: numpy's einsum/sum over a length-3 last axis are several times slower
    diff = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
    summ = np.sqrt(t[:, 0] * t[:, 0] + t[:, 1] * t[:, 1] + t[:, 2] * t[:, 2])
    return np.asarray(2.0 * np.arctan2(diff, summ) * ARCSEC_PER_RAD)


def separation_arcsec(
    ra1_deg: np.ndarray | float, dec1_deg: np.ndarray | float, ra2_deg: np.ndarray | float, dec2_deg: np.ndarray | float
) -> np.ndarray:
    """Great-circle separation in arcsec (broadcasting like numpy)."""
    a = unit_vectors(*np.broadcast_arrays(np.asarray(ra1_deg, float), np.asarray(dec1_deg, float)))
    b = unit_vectors(*np.broadcast_arrays(np.asarray(ra2_deg, float), np.asarray(dec2_deg, float)))
    a, b = np.broadcast_arrays(a, b)
    shape = a.shape[:-1]
    return vector_separation_arcsec(a.reshape(-1, 3), b.reshape(-1, 3)).reshape(shape)


def _check_position(ra_deg: float, dec_deg: float) -> None:
    if not (np.isfinite(ra_deg) and np.isfinite(dec_deg)):
        raise InvalidParameter("ra and dec must be finite numbers (degrees)")
    if not -90.0 <= dec_deg <= 90.0:
        raise InvalidParameter(f"dec must be within -90..90 degrees, got {dec_deg}")


def _check_radius(radius_arcsec: float) -> None:
    if not (np.isfinite(radius_arcsec) and radius_arcsec >= 0):
        raise InvalidParameter(f"radius_arcsec must be a non-negative number, got {radius_arcsec}")


@dataclass(frozen=True)
class MatchResult:
    """Pairs of a cross-match: ``rows_a[i]`` matches ``rows_b[i]`` at ``separation_arcsec[i]``.

    Sorted by ``rows_a`` then by separation.
    """

    rows_a: np.ndarray
    rows_b: np.ndarray
    separation_arcsec: np.ndarray

    def __len__(self) -> int:
        return int(self.rows_a.size)


class SkyIndex:
    """A KD-tree over the valid positions of one catalog, plus a Dec-sorted order for boxes.

    Build it once (seconds for ten million rows) and query it many times (microseconds to
    milliseconds).
    """

    def __init__(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> None:
        ra = np.asarray(ra_deg, dtype=np.float64)
        dec = np.asarray(dec_deg, dtype=np.float64)
        if ra.shape != dec.shape or ra.ndim != 1:
            raise InvalidParameter("ra and dec must be 1-D arrays of the same length")
        valid = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0)
        self.size = int(ra.size)
        self.rows = np.flatnonzero(valid).astype(np.int64)
        self.xyz = unit_vectors(ra[valid], dec[valid])
        self.tree = cKDTree(self.xyz, leafsize=32, balanced_tree=False, compact_nodes=False)
        self._dec_index: tuple[np.ndarray, np.ndarray] | None = None  # built by the first box search

    @property
    def nbytes(self) -> int:
        """Approximate memory held (for cache accounting)."""
        per_row = 8 * 3 + 8 + 8 + 8 + 16  # xyz, rows, Dec order, sorted Dec, tree nodes and indices
        return int(self.rows.size * per_row)

    def cone(self, ra_deg: float, dec_deg: float, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray]:
        """Rows within ``radius_arcsec`` of a position, nearest first, with their separations."""
        _check_position(ra_deg, dec_deg)
        _check_radius(radius_arcsec)
        centre = unit_vectors(np.array([ra_deg]), np.array([dec_deg]))[0]
        chord = chord_for_arcsec(radius_arcsec)
        count = int(self.tree.query_ball_point(centre, chord, return_length=True))
        if count * 50 > self.rows.size:  # a good part of the catalog: one dot product per row beats the tree's lists
            found = np.flatnonzero(self.xyz @ centre >= 1.0 - chord * chord / 2.0).astype(np.int64)
        else:
            found = np.asarray(self.tree.query_ball_point(centre, chord), dtype=np.int64)
        if found.size == 0:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        sep = vector_separation_arcsec(self.xyz[found], np.broadcast_to(centre, (found.size, 3)))
        keep = sep <= radius_arcsec
        found, sep = found[keep], sep[keep]
        order = np.lexsort((self.rows[found], sep))
        return self.rows[found[order]], sep[order]

    def within_cap(self, ra_deg: float, dec_deg: float, radius_arcsec: float) -> np.ndarray:
        """Rows within ``radius_arcsec`` of a position, in file order, by one dot product per row.

        For large radii holding a good part of the catalog (an image footprint) this is faster
        than the tree, whose cost grows with the number of rows it returns.
        """
        _check_position(ra_deg, dec_deg)
        _check_radius(radius_arcsec)
        centre = unit_vectors(np.array([ra_deg]), np.array([dec_deg]))[0]
        cos_r = np.cos(min(radius_arcsec / ARCSEC_PER_RAD, np.pi))
        return self.rows[self.xyz @ centre >= cos_r]

    def box(self, ra_min_deg: float, ra_max_deg: float, dec_min_deg: float, dec_max_deg: float) -> np.ndarray:
        """Rows with ``dec_min <= dec <= dec_max`` and RA in the range, in file order.

        The RA range runs east from ``ra_min`` to ``ra_max``; when ``ra_min > ra_max`` it
        crosses RA 0 (e.g. 350..10). ``ra_min == ra_max - 360`` or a span of 360 means every RA.
        """
        for value in (ra_min_deg, ra_max_deg, dec_min_deg, dec_max_deg):
            if not np.isfinite(value):
                raise InvalidParameter("box limits must be finite numbers (degrees)")
        if not (-90.0 <= dec_min_deg <= dec_max_deg <= 90.0):
            raise InvalidParameter("box needs -90 <= dec_min <= dec_max <= 90")
        if self._dec_index is None:
            sin_dec = self.xyz[:, 2]
            order = np.argsort(sin_dec, kind="stable")
            self._dec_index = (order, sin_dec[order])
        order, sorted_sin = self._dec_index
        lo = int(np.searchsorted(sorted_sin, np.sin(np.radians(dec_min_deg)), side="left"))
        hi = int(np.searchsorted(sorted_sin, np.sin(np.radians(dec_max_deg)), side="right"))
        candidates = order[lo:hi]
        xyz = self.xyz[candidates]
        ra = np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0]))
        mask = ra_range_mask(ra, ra_min_deg, ra_max_deg)
        return np.sort(self.rows[candidates[mask]])

    def nearest(self, xyz: np.ndarray, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each vector, the nearest indexed row within the radius: (which, rows, sep_arcsec)."""
        if self.rows.size == 0 or xyz.shape[0] == 0:
            empty = np.empty(0, np.int64)
            return empty, empty, np.empty(0, np.float64)
        _, found = self.tree.query(xyz, k=1, distance_upper_bound=chord_for_arcsec(radius_arcsec), workers=-1)
        which = np.flatnonzero(found < self.rows.size)
        hit = found[which]
        sep = vector_separation_arcsec(xyz[which], self.xyz[hit])
        keep = sep <= radius_arcsec
        return which[keep], self.rows[hit[keep]], sep[keep]


def ra_range_mask(ra_deg: np.ndarray, ra_min_deg: float, ra_max_deg: float) -> np.ndarray:
    """True where ``ra_deg`` lies in the RA range running east from ``ra_min`` to ``ra_max``."""
    span = ra_max_deg - ra_min_deg
    if span >= 360.0:
        return np.ones(ra_deg.shape, dtype=bool)
    start = np.mod(ra_min_deg, 360.0)
    width = np.mod(span, 360.0)
    return np.asarray(np.mod(np.mod(ra_deg, 360.0) - start, 360.0) <= width)


def cone_search(
    ra_deg: np.ndarray, dec_deg: np.ndarray, centre_ra_deg: float, centre_dec_deg: float, radius_arcsec: float
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force cone search (no index): rows within the radius, nearest first, and separations."""
    _check_position(centre_ra_deg, centre_dec_deg)
    _check_radius(radius_arcsec)
    sep = separation_arcsec(ra_deg, dec_deg, centre_ra_deg, centre_dec_deg)
    rows = np.flatnonzero(sep <= radius_arcsec)
    order = np.lexsort((rows, sep[rows]))
    return rows[order].astype(np.int64), sep[rows][order]


def crossmatch(index_a: SkyIndex, index_b: SkyIndex, radius_arcsec: float, mode: MatchMode = "best") -> MatchResult:
    """Cross-match catalog A against catalog B within ``radius_arcsec``.

    ``mode="best"`` keeps, for each row of A with at least one B within the radius, the nearest
    B (like astropy's ``match_to_catalog_sky`` cut at the radius). ``mode="all"`` returns every
    pair within the radius (like ``search_around_sky``). Pairs are sorted by row of A, then by
    separation.
    """
    _check_radius(radius_arcsec)
    if mode == "best":
        which, rows_b, sep = index_b.nearest(index_a.xyz, radius_arcsec)
        rows_a = index_a.rows[which]
    elif mode == "all":
        rows_a, rows_b, sep = _all_pairs(index_a, index_b, radius_arcsec)
    else:
        raise InvalidParameter(f"mode must be 'best' or 'all', got {mode!r}")
    order = np.lexsort((rows_b, sep, rows_a))
    return MatchResult(rows_a[order], rows_b[order], sep[order])


def _all_pairs(index_a: SkyIndex, index_b: SkyIndex, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (a, b) within the radius: k-nearest queries on B's tree (parallel, vectorised), with k
    raised for the rows of A whose k-th neighbour is still inside the radius."""
    empty = np.empty(0, np.int64)
    if index_a.rows.size == 0 or index_b.rows.size == 0:
        return empty, empty, np.empty(0, np.float64)
    chord = chord_for_arcsec(radius_arcsec)
    todo = np.arange(index_a.rows.size)
    k = 4
    found_a, found_b = [], []
    while todo.size:
        k = min(k, index_b.rows.size)
        dist, near = index_b.tree.query(index_a.xyz[todo], k=k, distance_upper_bound=chord, workers=-1)
        dist, near = dist.reshape(todo.size, k), near.reshape(todo.size, k)
        full = np.isfinite(dist[:, -1]) & (k < index_b.rows.size)
        done = ~full
        hit = np.isfinite(dist[done])
        found_a.append(np.broadcast_to(todo[done][:, None], hit.shape)[hit])
        found_b.append(near[done][hit])
        todo = todo[full]
        k *= 4
    ia = np.concatenate(found_a).astype(np.int64)
    ib = np.concatenate(found_b).astype(np.int64)
    sep = vector_separation_arcsec(index_a.xyz[ia], index_b.xyz[ib])
    keep = sep <= radius_arcsec
    return index_a.rows[ia[keep]], index_b.rows[ib[keep]], sep[keep]


def join_indices(
    result: MatchResult, n_a: int, n_b: int, how: JoinMode = "matched"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the joined table of a cross-match, TOPCAT-style: ``(rows_a, rows_b, separation)``
    with -1 (and NaN separation) where a side has no row.

    ``matched``: one joined row per pair (TOPCAT "1 and 2"); ``left``: every row of A in file order,
    each followed by its matches, unmatched ones once with no B ("all from 1"); ``full``: ``left``
    then the rows of B that matched nothing ("1 or 2"). Pairs keep their order (nearest first)."""
    ia, ib, sep = result.rows_a, result.rows_b, result.separation_arcsec
    if how == "matched":
        return ia.astype(np.int64), ib.astype(np.int64), sep.astype(np.float64)
    lonely_a = np.setdiff1d(np.arange(n_a, dtype=np.int64), ia)
    rows_a = np.concatenate([ia.astype(np.int64), lonely_a])
    rows_b = np.concatenate([ib.astype(np.int64), np.full(lonely_a.size, -1, dtype=np.int64)])
    seps = np.concatenate([sep.astype(np.float64), np.full(lonely_a.size, np.nan)])
    rank = np.concatenate([np.arange(ia.size), np.full(lonely_a.size, ia.size)])  # pairs keep their order
    order = np.lexsort((rank, rows_a))
    rows_a, rows_b, seps = rows_a[order], rows_b[order], seps[order]
    if how == "full":
        lonely_b = np.setdiff1d(np.arange(n_b, dtype=np.int64), ib)
        rows_a = np.concatenate([rows_a, np.full(lonely_b.size, -1, dtype=np.int64)])
        rows_b = np.concatenate([rows_b, lonely_b])
        seps = np.concatenate([seps, np.full(lonely_b.size, np.nan)])
    elif how != "left":
        raise InvalidParameter(f"join: {how!r} is not one of matched, left, full")
    return rows_a, rows_b, seps


def parse_ra_deg(text: str) -> float:
    """Right ascension from degrees (``150.1``) or sexagesimal hours (``10:00:24``, ``10h00m24s``)."""
    return _parse_angle(text, hours=True)


def parse_dec_deg(text: str) -> float:
    """Declination from degrees (``-2.5``) or sexagesimal degrees (``-02:30:00``, ``-2d30m``)."""
    value = _parse_angle(text, hours=False)
    if not -90.0 <= value <= 90.0:
        raise InvalidParameter(f"dec must be within -90..90 degrees, got {text!r}")
    return value


def _parse_angle(text: str, *, hours: bool) -> float:
    from astropy import units as u
    from astropy.coordinates import Angle

    raw = str(text).strip()
    try:
        value = float(raw)
    except ValueError:
        sexagesimal = ":" in raw or " " in raw or any(c in raw.lower() for c in "hdms")
        if not raw or not sexagesimal or len(raw) > 40:
            raise InvalidParameter(f"not an angle: {text!r} (degrees, or sexagesimal like 10:00:24)") from None
        try:
            unit = u.hourangle if hours and "d" not in raw.lower() else u.deg
            value = float(Angle(raw.replace(" ", ":") if ":" in raw or " " in raw else raw, unit=unit).deg)
        except (ValueError, u.UnitsError) as exc:
            raise InvalidParameter(f"not an angle: {text!r} ({exc})") from None
    if not np.isfinite(value):
        raise InvalidParameter(f"not a finite angle: {text!r}")
    return value
