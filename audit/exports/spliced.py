"""One Stata or SPSS file joined from the chunks pyreadstat wrote, so memory stays flat.

pyreadstat writes a file from one whole frame. The statistical writer
(`audit.exports.statistical`) hands it one chunk of rows at a time instead, each chunk
led by a first row that fixes every variable's type and string width to the export's
(so all chunks share one dictionary), and joins them here: the first chunk's header and
dictionary, then every chunk's rows without that first row, then the value labels, with
the row count and the file's offsets written last. A chunk whose dictionary differs from
the first's in any byte is refused, never joined.

Stata (releases 118 and 119): long strings (strL) are kept after the rows, each under
the (variable, observation) of the row that first used it; their observation numbers are
moved to the joined file's rows. SPSS: the rows are uncompressed, a fixed number of bytes
each, after the dictionary's termination record.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from audit.errors import AuditError


class NotJoinable(AuditError):
    """A chunk's file cannot be joined to the others (its layout differs)."""


# ---------------------------------------------------------------------------- Stata

_DTA_FIXED = {65526: 8, 65527: 4, 65528: 4, 65529: 2, 65530: 1, 32768: 8}  # type -> bytes
_STRL = 32768
_DTA_MAP_ENTRIES = 14
_DTA_V_BYTES = {118: 2, 119: 3}  # bytes of a strL cell's variable number; the rest: row


def _expect(raw: bytes, at: int, tag: bytes) -> int:
    if raw[at:at + len(tag)] != tag:
        raise NotJoinable(f"not a Stata file as expected: {tag.decode()} missing at {at}")
    return at + len(tag)


@dataclass(frozen=True)
class DtaChunk:
    """A Stata file (release 118/119, little-endian) as the joiner reads it."""

    raw: bytes
    release: int
    rows: int
    n_at: int  # where the 8-byte row count is
    offsets: tuple[int, ...]  # the map: where each section starts
    row_bytes: int
    strl_cells: tuple[int, ...]  # byte offsets of strL cells within a row

    @classmethod
    def read(cls, raw: bytes) -> DtaChunk:
        """Parse the parts of a Stata file the join needs (header, map, variable types)."""
        try:
            return cls._read(raw)
        except (struct.error, ValueError):
            raise NotJoinable("not a Stata file as expected: cut short or malformed"
                              ) from None

    @classmethod
    def _read(cls, raw: bytes) -> DtaChunk:
        at = _expect(raw, 0, b"<stata_dta><header><release>")
        release = int(raw[at:at + 3])
        if release not in _DTA_V_BYTES:
            raise NotJoinable(f"Stata release {release} cannot be joined (118 or 119 only)")
        at = _expect(raw, at + 3, b"</release><byteorder>LSF</byteorder><K>")
        k_bytes = 2 if release == 118 else 4
        columns = int.from_bytes(raw[at:at + k_bytes], "little")
        at = _expect(raw, at + k_bytes, b"</K><N>")
        n_at = at
        rows = int.from_bytes(raw[at:at + 8], "little")
        at = _expect(raw, at + 8, b"</N><label>")
        at += 2 + int.from_bytes(raw[at:at + 2], "little")
        at = _expect(raw, at, b"</label><timestamp>")
        at += 1 + raw[at]
        at = _expect(raw, at, b"</timestamp></header><map>")
        offsets = struct.unpack_from(f"<{_DTA_MAP_ENTRIES}Q", raw, at)
        if offsets[1] != at - len(b"<map>") or offsets[13] != len(raw) or list(
                offsets[1:]) != sorted(offsets[1:]):
            raise NotJoinable("not a Stata file as expected: the map is not where it says")
        _expect(raw, offsets[12], b"</stata_dta>")
        types_at = _expect(raw, offsets[2], b"<variable_types>")
        types = struct.unpack_from(f"<{columns}H", raw, types_at)
        widths = [_DTA_FIXED.get(t, t) for t in types]
        if any(t not in _DTA_FIXED and not 1 <= t <= 2045 for t in types):
            raise NotJoinable("not a Stata file as expected: an unknown variable type")
        cells = tuple(int(sum(widths[:i])) for i, t in enumerate(types) if t == _STRL)
        chunk = cls(raw, release, rows, n_at, tuple(offsets), int(sum(widths)), cells)
        if len(chunk.data) != rows * chunk.row_bytes:
            raise NotJoinable("not a Stata file as expected: its rows do not fill its data")
        return chunk

    @property
    def dictionary(self) -> bytes:
        """Variable types, names, sort order, formats, label names, labels and
        characteristics: what every chunk of one file must share."""
        return self.raw[self.offsets[2]:self.offsets[9]]

    @property
    def value_labels(self) -> bytes:
        return self.raw[self.offsets[11]:self.offsets[12]]

    @property
    def data(self) -> bytes:
        return self.raw[self.offsets[9] + len(b"<data>"):self.offsets[10] - len(b"</data>")]

    @property
    def strls(self) -> bytes:
        return self.raw[self.offsets[10] + len(b"<strls>"):self.offsets[11] - len(b"</strls>")]


class DtaJoiner:
    """Writes one Stata file to `out` from chunk files added in order (see the module).

    `strls` is a scratch file for the long strings, which come after all the rows.
    """

    def __init__(self, out: BinaryIO, strls: BinaryIO) -> None:
        self.out = out
        self.strls = strls
        # From the first chunk, only what the others are checked against and what
        # `finish` writes: its whole file need not stay in memory.
        self.layout: tuple[int, bytes, bytes] | None = None  # release, dictionary, labels
        self.n_at = self.map_at = 0
        self.rows = 0

    def add(self, raw: bytes) -> None:
        """Append a chunk's rows, all but its first (the row that fixed the layout)."""
        chunk = DtaChunk.read(raw)
        layout = (chunk.release, chunk.dictionary, chunk.value_labels)
        if self.layout is None:
            self.layout, self.n_at, self.map_at = layout, chunk.n_at, chunk.offsets[1]
            self.out.write(raw[:chunk.offsets[9] + len(b"<data>")])
        elif layout != self.layout:
            raise NotJoinable("a chunk of the Stata file has another layout than the first")
        if chunk.rows < 1:
            raise NotJoinable("a chunk of the Stata file lacks its first row")
        # The chunk's row r (1-based, its first row included) becomes row rows + r - 1.
        shift = self.rows - 1
        rows = np.frombuffer(chunk.data, dtype=np.uint8).reshape(chunk.rows, chunk.row_bytes)
        rows = rows[1:]
        if chunk.strl_cells and len(rows):
            rows = rows.copy()
            v_bits = np.uint64(8 * _DTA_V_BYTES[chunk.release])
            for cell in chunk.strl_cells:
                refs = rows[:, cell:cell + 8].copy().view("<u8")[:, 0]
                o = (refs >> v_bits).astype(np.int64) + shift
                moved = (refs & ((np.uint64(1) << v_bits) - np.uint64(1))) | (
                    o.astype(np.uint64) << v_bits)
                moved[refs == 0] = 0  # (0, 0): an empty strL refers to no string
                rows[:, cell:cell + 8] = moved.astype("<u8").view(np.uint8).reshape(-1, 8)
        self.out.write(rows.tobytes())
        self._strls(chunk.strls, shift)
        self.rows += chunk.rows - 1

    def _strls(self, strls: bytes, shift: int) -> None:
        at, end = 0, len(strls)
        while at < end:
            if strls[at:at + 3] != b"GSO":
                raise NotJoinable("not a Stata file as expected: a long string is malformed")
            v, o, _t, length = struct.unpack_from("<IQBI", strls, at + 3)
            size = 3 + 17 + length
            if o != 1:  # the first row's strings are the layout's, not data
                self.strls.write(strls[at:at + 3] + struct.pack("<IQ", v, o + shift)
                                 + strls[at + 15:at + size])
            at += size

    def finish(self) -> int:
        """Write the long strings and value labels, then the counts and offsets; rows."""
        if self.layout is None:
            raise NotJoinable("a Stata file needs at least one chunk")
        out = self.out
        out.write(b"</data>")
        strls_at = out.tell()
        out.write(b"<strls>")
        self.strls.seek(0)
        shutil.copyfileobj(self.strls, out)
        out.write(b"</strls>")
        labels_at = out.tell()
        out.write(self.layout[2])
        end_at = out.tell()
        out.write(b"</stata_dta>")
        eof = out.tell()
        out.seek(self.n_at)
        out.write(struct.pack("<Q", self.rows))
        out.seek(self.map_at + len(b"<map>") + 8 * 10)
        out.write(struct.pack("<4Q", strls_at, labels_at, end_at, eof))
        out.seek(eof)
        return self.rows


# ----------------------------------------------------------------------------- SPSS

_SAV_HEADER = 176
_SAV_CASES_AT = 80


@dataclass(frozen=True)
class SavChunk:
    """An uncompressed, little-endian SPSS file as the joiner reads it."""

    raw: bytes
    rows: int
    row_bytes: int
    data_at: int
    cases64_at: int | None  # the 64-bit row count of extension record 7.16, if any

    @classmethod
    def read(cls, raw: bytes) -> SavChunk:
        """Parse the header and walk the dictionary's records to the rows."""
        if raw[:4] != b"$FL2" or len(raw) < _SAV_HEADER:
            raise NotJoinable("not an SPSS file as expected (an uncompressed .sav)")
        layout, case_size, compression, _weight, rows = struct.unpack_from("<5i", raw, 64)
        if layout not in (2, 3) or compression != 0 or rows < 0:
            raise NotJoinable("not an SPSS file as expected: compressed, big-endian or "
                              "without its row count")
        try:
            data_at, cases64_at = _sav_records(raw)
        except struct.error:
            raise NotJoinable("not an SPSS file as expected: its dictionary is cut short"
                              ) from None
        row_bytes = 8 * case_size
        if len(raw) - data_at != rows * row_bytes:
            raise NotJoinable("not an SPSS file as expected: its rows do not end the file")
        if cases64_at is not None and struct.unpack_from("<q", raw, cases64_at)[0] != rows:
            raise NotJoinable("not an SPSS file as expected: its two row counts differ")
        return cls(raw, rows, row_bytes, data_at, cases64_at)

    @property
    def dictionary(self) -> bytes:
        """The layout fields of the header and every record before the rows, row counts
        left out: what every chunk of one file must share."""
        records = bytearray(self.raw[_SAV_HEADER:self.data_at])
        if self.cases64_at is not None:
            at = self.cases64_at - _SAV_HEADER
            records[at:at + 8] = bytes(8)
        return self.raw[64:_SAV_CASES_AT] + self.raw[84:92] + bytes(records)


def _sav_records(raw: bytes) -> tuple[int, int | None]:
    """Where the rows start, and where extension record 7.16 keeps the row count."""
    at, cases64_at = _SAV_HEADER, None
    while True:
        (kind,) = struct.unpack_from("<i", raw, at)
        at += 4
        if kind == 2:  # a variable: its label and missing values follow
            _type, has_label, missing, _p, _w = struct.unpack_from("<5i", raw, at)
            at += 20 + 8
            if has_label:
                (length,) = struct.unpack_from("<i", raw, at)
                at += 4 + (length + 3) // 4 * 4
            at += 8 * abs(missing)
        elif kind == 3:  # value labels, then the variables they belong to (record 4)
            (count,) = struct.unpack_from("<i", raw, at)
            at += 4
            for _ in range(count):
                at += 8 + (1 + raw[at + 8] + 7) // 8 * 8
            kind4, variables = struct.unpack_from("<2i", raw, at)
            if kind4 != 4:
                raise NotJoinable("not an SPSS file as expected: value labels without "
                                  "their variables")
            at += 8 + 4 * variables
        elif kind == 6:  # document lines
            (lines,) = struct.unpack_from("<i", raw, at)
            at += 4 + 80 * lines
        elif kind == 7:  # an extension record
            subtype, size, count = struct.unpack_from("<3i", raw, at)
            at += 12
            if subtype == 16 and size == 8 and count == 2:
                cases64_at = at + 8
            at += size * count
        elif kind == 999:
            return at + 4, cases64_at
        else:
            raise NotJoinable(f"not an SPSS file as expected: a record of type {kind}")
        if at > len(raw):
            raise struct.error("past the end")


class SavJoiner:
    """Writes one SPSS file to `out` from chunk files added in order (see the module)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.dictionary: bytes | None = None  # the first chunk's, to check the others by
        self.cases64_at: int | None = None
        self.rows = 0

    def add(self, raw: bytes) -> None:
        """Append a chunk's rows, all but its first (the row that fixed the layout)."""
        chunk = SavChunk.read(raw)
        if self.dictionary is None:
            self.dictionary, self.cases64_at = chunk.dictionary, chunk.cases64_at
            self.out.write(raw[:chunk.data_at])
        elif chunk.dictionary != self.dictionary:
            raise NotJoinable("a chunk of the SPSS file has another layout than the first")
        if chunk.rows < 1:
            raise NotJoinable("a chunk of the SPSS file lacks its first row")
        self.out.write(memoryview(raw)[chunk.data_at + chunk.row_bytes:])
        self.rows += chunk.rows - 1

    def finish(self) -> int:
        """Write the row count into the header (-1, 'unknown', past 2^31 - 1); rows."""
        if self.dictionary is None:
            raise NotJoinable("an SPSS file needs at least one chunk")
        eof = self.out.tell()
        self.out.seek(_SAV_CASES_AT)
        self.out.write(struct.pack("<i", self.rows if self.rows < 2**31 else -1))
        if self.cases64_at is not None:
            self.out.seek(self.cases64_at)
            self.out.write(struct.pack("<q", self.rows))
        self.out.seek(eof)
        return self.rows
