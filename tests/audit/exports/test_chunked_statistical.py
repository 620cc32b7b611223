"""Stata and SPSS files written chunk by chunk and joined read back as one whole frame would.

Every file is read by pyreadstat and, for Stata, also by pandas' own reader (which shares
no code with the writer). The same rows written in one chunk and in many must read back
alike; with no long strings the two files must be equal byte for byte (timestamps aside).
"""

from __future__ import annotations

import struct
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest

from audit.exports import spliced
from audit.exports.codebook import Variable
from audit.exports.spliced import DtaJoiner, NotJoinable, SavJoiner
from audit.exports.statistical import StatisticalWriter
from tests.audit.imports.helpers import cli, populated

CODES = {"yes": "Yes", "no": "No", "na": "Not applicable"}
VARIABLES = [Variable("case_ref", "Case reference", "text"),
             Variable("note", "A note", "text"),
             Variable("start", "Start date", "date"),
             Variable("q", "A question", "yes_no_na", CODES, answers=True)]
LONG_A = "á" * 1100  # 2,200 bytes in UTF-8: a Stata strL
LONG_B = "b" * 3000
# Batches whose widths grow chunk by chunk: the last is the widest, holds the long
# strings (repeated within the batch and in another column), and has no date at all.
BATCHES: list[dict[str, list[Any]]] = [
    {"case_ref": ["A", "B"], "note": ["", "short"], "start": [date(2020, 1, 2), None],
     "q": ["yes", "na"]},
    {"case_ref": ["C"], "note": ["x" * 40], "start": [date(2021, 5, 6)], "q": ["notasked"]},
    {"case_ref": ["D-longest-ref", LONG_B, "F"], "note": [LONG_A, LONG_B, LONG_A],
     "start": [None, None, None], "q": ["no", "noanswer", "yes"]},
]


def _write(path: Path, fmt: str, chunk_cells: int | None, batches: list[dict[str, list[Any]]]
           = BATCHES) -> None:
    writer = StatisticalWriter(path, VARIABLES, fmt, lambda limit: "label",
                               chunk_cells=chunk_cells)
    for batch in batches:
        writer.write("i", pd.DataFrame(batch, dtype=object))
    writer.close()


def _read(path: Path, fmt: str) -> pd.DataFrame:
    reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
    frame, _ = reader(str(path), user_missing=True)
    return frame


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_many_chunks_read_back_as_one(tmp_path: Path, fmt: str) -> None:
    _write(tmp_path / "one", fmt, None)
    _write(tmp_path / "many", fmt, 1)  # every batch its own chunk
    one, many = _read(tmp_path / "one", fmt), _read(tmp_path / "many", fmt)
    pd.testing.assert_frame_equal(one, many)
    assert many["case_ref"].tolist() == ["A", "B", "C", "D-longest-ref", LONG_B, "F"]
    assert many["note"].tolist() == ["", "short", "x" * 40, LONG_A, LONG_B, LONG_A]
    assert [d if isinstance(d, date) else None for d in many["start"]] == [
        date(2020, 1, 2), None, date(2021, 5, 6), None, None, None]
    want = [1, "a", "b", 0, "c", 1] if fmt == "stata" else [1.0, -1.0, -2.0, 0.0, -3.0, 1.0]
    assert many["q"].tolist() == want
    if fmt == "stata":  # pandas' reader: no code shared with ReadStat
        plain = pd.read_stata(tmp_path / "many", convert_categoricals=False)
        assert plain["note"].tolist() == many["note"].tolist()
        assert plain["case_ref"].tolist() == many["case_ref"].tolist()
        assert len(plain) == 6


def _masked(raw: bytes, fmt: str) -> bytes:
    """The file without its timestamp (written to the minute or second)."""
    if fmt == "stata":
        at = raw.index(b"<timestamp>") + len(b"<timestamp>")
        return raw[:at] + raw[at + 1 + raw[at]:]
    return raw[:92] + raw[109:]  # SPSS: creation date and time


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_without_long_strings_the_join_is_byte_identical(tmp_path: Path, fmt: str) -> None:
    short = [{k: v for k, v in b.items()} for b in BATCHES[:2]]
    _write(tmp_path / "one", fmt, None, short)
    _write(tmp_path / "many", fmt, 1, short)
    assert _masked((tmp_path / "one").read_bytes(), fmt) == _masked(
        (tmp_path / "many").read_bytes(), fmt)


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_no_rows_still_give_a_readable_file(tmp_path: Path, fmt: str) -> None:
    _write(tmp_path / "empty", fmt, 1, [{k: [] for k in BATCHES[0]}])
    frame = _read(tmp_path / "empty", fmt)
    assert len(frame) == 0 and list(frame.columns) == [v.name for v in VARIABLES]


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_a_filler_equal_to_data_is_not_used(tmp_path: Path, fmt: str) -> None:
    """The first row's long string is left out of the join: a value equal to it would lose
    its text. A value written as the first filler would be gets another filler."""
    planted = "<0>".ljust(3000, "x")
    batches = [{"case_ref": ["A", "B"], "note": [planted, "b" * 3000], "start": [None, None],
                "q": ["yes", "no"]}]
    _write(tmp_path / "f", fmt, 1, batches)
    assert _read(tmp_path / "f", fmt)["note"].tolist() == [planted, "b" * 3000]


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_export_in_many_chunks_equals_one(sqlite_db: Any, tmp_path: Path, fmt: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    populated(sqlite_db, tmp_path)
    name = "cases.dta" if fmt == "stata" else "cases.sav"
    assert cli(sqlite_db, "export", "--format", fmt, "--out", str(tmp_path / "one")) == 0
    monkeypatch.setattr("audit.exports.statistical.CHUNK_CELLS", 1)
    assert cli(sqlite_db, "export", "--format", fmt, "--out", str(tmp_path / "many")) == 0
    one, many = (tmp_path / "one" / name).read_bytes(), (tmp_path / "many" / name).read_bytes()
    assert _masked(one, fmt) == _masked(many, fmt)
    assert len(_read(tmp_path / "many" / name, fmt)) == 3


# ------------------------------------------------------------------ hostile chunks


def _chunk_file(tmp_path: Path, fmt: str, frame: pd.DataFrame) -> bytes:
    path = tmp_path / f"c.{fmt}"
    (pyreadstat.write_dta if fmt == "stata" else pyreadstat.write_sav)(frame, str(path))
    return path.read_bytes()


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_a_chunk_of_another_layout_is_refused(tmp_path: Path, fmt: str) -> None:
    first = _chunk_file(tmp_path, fmt, pd.DataFrame({"s": ["x", "ab"]}))
    wider = _chunk_file(tmp_path, fmt, pd.DataFrame({"s": ["x", "abc"]}))
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "strls", "w+b") as strls:
        joiner = DtaJoiner(out, strls) if fmt == "stata" else SavJoiner(out)
        joiner.add(first)
        with pytest.raises(NotJoinable, match="another layout"):
            joiner.add(wider)


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_a_truncated_or_foreign_chunk_is_refused(tmp_path: Path, fmt: str) -> None:
    raw = _chunk_file(tmp_path, fmt, pd.DataFrame({"n": [1.0, 2.0, 3.0]}))
    read = spliced.DtaChunk.read if fmt == "stata" else spliced.SavChunk.read
    read(raw)  # whole: accepted
    for bad in (raw[:-9], b"PK\x03\x04" + raw[4:], raw[:40]):
        with pytest.raises(NotJoinable):
            read(bad)


def test_a_stata_map_that_lies_is_refused(tmp_path: Path) -> None:
    raw = bytearray(_chunk_file(tmp_path, "stata", pd.DataFrame({"n": [1.0]})))
    at = raw.index(b"<map>") + len(b"<map>")
    struct.pack_into("<Q", raw, at + 8, 7)  # the map's own offset, moved
    with pytest.raises(NotJoinable, match="map"):
        spliced.DtaChunk.read(bytes(raw))


@pytest.mark.parametrize("fmt", ["stata", "spss"])
def test_texts_that_look_like_the_files_own_tags_are_only_data(tmp_path: Path, fmt: str
                                                              ) -> None:
    """The join finds sections by the file's offsets and lengths, never by searching: a
    label or a value holding Stata's tags or SPSS's magic moves nothing. (SPSS's
    end-of-dictionary record holds NUL bytes, which no stored text holds: `audit.text_rules`
    refuses them.)"""
    tags = "</label><timestamp></header><map></data><strls>GSO</strls>"
    notes = [tags, "GSO" + "y" * 2100 + "</data>", "$FL2 ç\x03 999", tags]
    batches = [{"case_ref": [f"R{i}"], "note": [n], "start": [None], "q": ["yes"]}
               for i, n in enumerate(notes)]
    path = tmp_path / "t"
    writer = StatisticalWriter(path, VARIABLES, fmt, lambda limit: tags[:limit or 80],
                               chunk_cells=1)
    for batch in batches:
        writer.write("i", pd.DataFrame(batch, dtype=object))
    writer.close()
    frame = _read(path, fmt)
    assert frame["note"].tolist() == notes
    assert frame["case_ref"].tolist() == ["R0", "R1", "R2", "R3"]
    if fmt == "stata":
        assert pd.read_stata(path, convert_categoricals=False)["note"].tolist() == notes
