"""A fast structural scan of a FITS file: every HDU's header cards and byte offsets.

astropy parses every card value through its configuration system (about 0.4 ms per HDU
unloaded, seconds for a 3,000-HDU file or a 100,000-card header). Listing HDUs and showing
header cards need far less: this module reads the 2880-byte header blocks, splits the
80-character cards and parses values with the FITS standard's fixed-format rules (strings,
logicals, integers, reals; anything unusual goes to astropy's own ``Card`` parser), and steps
over each HDU's data by the size its header announces (FITS 4.0, section 4.4.1.1):
``|BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 * ... * NAXISn)``.

Results equal astropy's for the cards they share (tests/core/test_fits_scan.py checks every
header of astropy's own test files). Long strings continued over ``CONTINUE`` cards and
``HIERARCH`` keywords are parsed by astropy (see :func:`parse_cards`).
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BLOCK = 2880
CARD = 80
_INT = re.compile(r"^[+-]?\d+$")
_REAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$")
# record-valued keyword cards (the distortion paper's DPj = 'AXIS.1: 1'): astropy names them KEY.field
_RVKC = re.compile(r"^\s*([a-zA-Z_]\w*(?:\.\w+)*)\s*:\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$")
Value = str | int | float | bool | None


class ScanError(ValueError):
    """The bytes are not a FITS structure (no SIMPLE/XTENSION, a header without END...)."""


class OverBudget(Exception):
    """The file holds more HDUs or cards than the caller's budget (see :func:`scan`)."""


@dataclass(frozen=True)
class ScannedHdu:
    """One HDU: its header cards ``(key, value, comment)`` in order, where its header and data
    start (bytes from the start of the file) and how many data bytes its header announces."""

    index: int
    cards: tuple[tuple[str, Value, str], ...]
    header_offset: int
    data_offset: int
    data_size: int

    @property
    def data_end(self) -> int:
        return self.data_offset + self.data_size

    def header(self) -> dict[str, Value]:
        """Keyword -> value (first occurrence; commentary cards left out)."""
        out: dict[str, Value] = {}
        for key, value, _ in self.cards:
            if key and key not in ("HISTORY", "COMMENT") and key not in out:
                out[key] = value
        return out


def _string(text: str) -> tuple[str, str] | None:
    """A quoted FITS string starting ``text`` -> (value, rest after it); None when unclosed."""
    out, i = [], 1
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out).rstrip(), text[i + 1 :]
        out.append(text[i])
        i += 1
    return None


def _comment(rest: str) -> str | None:
    rest = rest.strip()
    if not rest:
        return ""
    return rest[1:].strip() if rest.startswith("/") else None


def parse_card(raw: str) -> tuple[str, Value, str] | None:
    """``(key, value, comment)`` of one 80-character card, None when it needs astropy."""
    key = raw[:8].rstrip()
    if key in ("HISTORY", "COMMENT", "") or raw[8:10] != "= ":
        if key in ("HIERARCH", "CONTINUE") or (key not in ("HISTORY", "COMMENT", "") and "=" in raw[8:10]):
            return None
        return key, raw[8:].rstrip(), ""
    if key == "HIERARCH":
        return None
    text = raw[10:]
    body = text.lstrip()
    if body.startswith("'"):
        parsed = _string(body)
        if parsed is None:
            return None
        comment = _comment(parsed[1])
        if comment is None:
            return None
        record = _RVKC.match(parsed[0])
        if record:
            return f"{key}.{record.group(1)}", float(record.group(2)), comment
        return key, parsed[0], comment
    value_text, _, comment = body.partition("/")
    word = value_text.strip()
    value: Value
    if word in ("T", "F"):
        value = word == "T"
    elif not word:
        value = None
    elif _INT.match(word):
        value = int(word)
    elif _REAL.match(word):
        value = float(word.replace("D", "E").replace("d", "e"))
    else:
        return None  # complex numbers and malformed values: astropy decides
    return key, value, comment.strip()


def _astropy_card(raw: str) -> tuple[str, Value, str]:
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            card = fits.Card.fromstring(raw)
            value: Any = card.value
            comment = str(card.comment or "")
            keyword = str(card.keyword)
        except Exception:  # noqa: BLE001 - an unparsable card is shown as its text
            return raw[:8].rstrip(), raw[8:].rstrip(), ""
    if isinstance(value, complex) or (value is not None and not isinstance(value, str | int | float | bool)):
        value = None if type(value).__name__ == "Undefined" else str(value)
    return keyword, value, comment


def parse_cards(text: str) -> list[tuple[str, Value, str]]:
    """Every card of a header's text (END excluded). A header with CONTINUE cards is parsed
    whole by astropy (it joins long strings); single odd cards go to astropy one by one."""
    raws = [text[i : i + CARD] for i in range(0, len(text), CARD)]
    if any(r.startswith("CONTINUE") for r in raws):
        from astropy.io import fits

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = fits.Header.fromstring(text)
        return [_astropy_card(card.image) if len(card.image) == CARD else _long(card) for card in header.cards]
    out = []
    for raw in raws:
        parsed = parse_card(raw)
        out.append(parsed if parsed is not None else _astropy_card(raw))
    return out


def _long(card: Any) -> tuple[str, Value, str]:
    value = card.value
    return str(card.keyword), value if isinstance(value, str | int | float | bool) else str(value), str(card.comment)


def _data_size(header: dict[str, Value]) -> int:
    naxis = header.get("NAXIS", 0)
    if not isinstance(naxis, int) or isinstance(naxis, bool) or not 0 <= naxis <= 999:
        raise ScanError(f"NAXIS = {naxis!r} is not an axis count")
    if naxis == 0:
        return 0
    axes = []
    for i in range(1, naxis + 1):
        n = header.get(f"NAXIS{i}", 0)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ScanError(f"NAXIS{i} = {n!r} is not a length")
        axes.append(n)
    if header.get("SIMPLE") is True and header.get("GROUPS") is True and axes[0] == 0:
        axes = axes[1:]  # random groups: NAXIS1 = 0 means "no axis"
    bitpix, pcount, gcount = header.get("BITPIX"), header.get("PCOUNT", 0), header.get("GCOUNT", 1)
    if bitpix not in (8, 16, 32, 64, -32, -64):
        raise ScanError(f"BITPIX = {bitpix!r} is not a FITS BITPIX")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (pcount, gcount)):
        raise ScanError("PCOUNT/GCOUNT are not counts")
    count = 1
    for n in axes:
        count *= n
    return abs(int(bitpix)) // 8 * int(gcount) * (int(pcount) + count)  # type: ignore[arg-type]


def _open(path: Path) -> IO[bytes]:
    f = path.open("rb")
    if f.read(2) == b"\x1f\x8b":
        f.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    f.seek(0)
    return f


def _read_header(f: IO[bytes], first: bool) -> str | None:
    """The text of one header (through its END card), None at a clean end of file."""
    blocks: list[str] = []
    while True:
        block = f.read(BLOCK)
        if not block:
            if blocks:
                raise ScanError("the file ends inside a header (no END card)")
            return None
        if len(block) < BLOCK:
            if not blocks and not block.strip(b"\0 "):
                return None  # trailing padding
            raise ScanError("the file ends inside a header")
        text = block.decode("ascii", "replace")
        if not blocks:
            start = text[:8]
            if (first and start != "SIMPLE  ") or (not first and start != "XTENSION"):
                if not first and not block.strip(b"\0 "):
                    return None  # zero padding after the last HDU
                raise ScanError(f"a header must start with {'SIMPLE' if first else 'XTENSION'}, not {start!r}")
        blocks.append(text)
        for i in range(0, BLOCK, CARD):
            if text[i : i + 8] == "END     " and not text[i + 8 : i + CARD].strip():
                return "".join(blocks)[: (len(blocks) - 1) * BLOCK + i]


def scan(path: Path, *, max_hdus: int = 100_000, budget: tuple[int, int] | None = None) -> Iterator[ScannedHdu]:
    """Yield every HDU of ``path`` in order (gzip-compressed files are read as a stream).

    Raises :class:`ScanError` where the structure breaks; the HDUs before it were yielded.
    ``budget`` = ``(hdus, cards)``: raise :class:`OverBudget` past that many HDUs or header
    cards in all (callers scan small files at once and send the others to a bounded worker)."""
    total_cards = 0
    with _open(path) as f:
        offset = 0
        for index in range(max_hdus):
            text = _read_header(f, index == 0)
            if text is None:
                return
            total_cards += len(text) // CARD
            if budget is not None and (index >= budget[0] or total_cards > budget[1]):
                raise OverBudget(f"more than {budget[0]} HDUs or {budget[1]} cards")
            cards = tuple(parse_cards(text))
            header = {k: v for k, v, _ in reversed(cards) if k}
            size = _data_size(header)
            data_offset = offset + -(-(len(text) + CARD) // BLOCK) * BLOCK
            yield ScannedHdu(index, cards, offset, data_offset, size)
            offset = data_offset + -(-size // BLOCK) * BLOCK
            f.seek(offset)
        raise ScanError(f"more than {max_hdus} HDUs")


def header_text(path: Path, hdu: ScannedHdu) -> str:
    """The raw header text of one scanned HDU (for astropy, when a full ``Header`` is needed)."""
    with _open(path) as f:
        f.seek(hdu.header_offset)
        raw = f.read(hdu.data_offset - hdu.header_offset)
    return raw.decode("ascii", "replace")
