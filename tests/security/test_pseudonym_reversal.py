"""Pseudonyms cannot be reversed by the person who receives the export.

Why (issue 15): "The pseudonym key is created in the researcher's own config folder, and
the output names it. A researcher may also set IOM_AUDIT_PSEUDO_KEY herself, and an empty
key file is accepted. Trying all DEMO-T-0000…9999 with the key re-identified 60 of 60."

The attack is repeated here as a researcher would: she runs (or receives) a pseudonymised
export, then tries HMAC-SHA256 over all 10,000 possible references with every key she
could find in anything she can read: the export, the codebook, the command's output, her
home and config folders, and her environment.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from audit.store.engine import Database
from tests.cli_launcher import CliLauncher
from tests.helpers import make_inspection, set_role

CANDIDATE_REFS = [f"DEMO-T-{i:04d}".encode() for i in range(10_000)]


def _pseudonyms_for(key: bytes) -> set[bytes]:
    """The first 8 bytes (16 hex digits) of HMAC-SHA256(key, ref) for all 10,000 refs.

    HMAC written out (RFC 2104) so the keyed states are computed once per key: the same
    value as `hmac.new(key, ref, sha256)`, checked below, about twice as fast.
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    out = set()
    for ref in CANDIDATE_REFS:
        i = inner.copy()
        i.update(ref)
        o = outer.copy()
        o.update(i.digest())
        out.add(o.digest()[:8])
    return out


def brute_force(exported: set[str], keys: Iterable[bytes]) -> dict[bytes, int]:
    """Each candidate key -> how many exported pseudonyms it re-identifies (non-zero only)."""
    wanted = {bytes.fromhex(p) for p in exported}
    hits = {}
    for key in keys:
        found = len(wanted & _pseudonyms_for(key))
        if found:
            hits[key] = found
    return hits


def test_the_brute_force_computes_hmac_sha256() -> None:
    key = b"k" * 70
    assert hmac.new(key, b"DEMO-T-0042", hashlib.sha256).digest()[:8] in _pseudonyms_for(key)


def _candidates_from_text(text: str) -> set[bytes]:
    """Every way a key could be written in a text: whole, lines, cells, tokens, hex."""
    pieces = {text, text.strip()}
    for line in text.splitlines():
        pieces |= {line, line.strip()}
        # Words too, when long enough to hold a key (the tool refuses keys under 32 bytes:
        # 32 characters raw, 44 in base64, 64 in hex); lines and cells of any length.
        pieces |= {w for w in (*line.split(), *line.split(os.pathsep)) if len(w) >= 16}
        with contextlib.suppress(csv.Error):
            pieces |= {c for row in csv.reader([line]) for c in row}
    out: set[bytes] = set()
    for piece in pieces:
        out.add(piece.encode("utf-8", "surrogateescape"))
        if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", piece):
            out.add(bytes.fromhex(piece))  # a key written in hex
    return out


def everything_she_can_read(folders: Iterable[Path], env: dict[str, str],
                            output: str) -> set[bytes]:
    """Candidate keys from every file under her folders, her environment and the output."""
    keys: set[bytes] = {b""}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                raw = path.read_bytes()
                keys |= {raw, raw.strip()}
                keys |= _candidates_from_text(raw.decode("utf-8", "replace"))
    for name, value in env.items():
        keys |= {name.encode(), *_candidates_from_text(value)}
    keys |= _candidates_from_text(output)
    return keys


@pytest.fixture
def thematic(sqlite_db: Database) -> Database:
    """60 cases DEMO-T-0001..0060, a lead and a researcher (as in the demo)."""
    make_inspection(sqlite_db, "thematic", cases=60, prefix="DEMO-T")
    set_role(sqlite_db, "Lee Lead", "lead")
    set_role(sqlite_db, "Rita Researcher", "researcher")
    return sqlite_db


@pytest.fixture(scope="module")
def cli() -> Iterator[CliLauncher]:
    """The command, run as a new process each time in the environment it is given, from
    one interpreter that imported it once (tests/cli_launcher.py)."""
    launcher = CliLauncher({k: v for k, v in os.environ.items()
                            if not k.startswith("IOM_AUDIT")},
                           preload=["audit.exports.exporters"])
    yield launcher
    launcher.close()


def _researcher_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOM_AUDIT")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"),
               IOM_AUDIT_INSPECTOR="Rita Researcher", **extra)
    return env


def _export_as_researcher(cli: CliLauncher, db: Database, home: Path, env: dict[str, str]
                          ) -> subprocess.CompletedProcess[str]:
    return cli.run(["--db", str(db.location.path), "export", "--out", str(home / "export"),
                    "--format", "csv"], env=env)


def test_a_researcher_cannot_recompute_the_pseudonyms(cli: CliLauncher, thematic: Database,
                                                     tmp_path: Path) -> None:
    home = tmp_path / "rita"
    (home / ".config").mkdir(parents=True)
    env = _researcher_env(home)
    done = _export_as_researcher(cli, thematic, home, env)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "Pseudonymised: only a lead may export case references" in output
    assert "key" not in output.lower()  # the output names no key and no key location
    assert not (home / ".config" / "iom-audit").exists()  # nothing made in her config
    with open(home / "export" / "cases.csv", newline="") as f:
        exported = {r["case_ref"] for r in csv.DictReader(f)}
    assert len(exported) == 60 and not any(r.startswith("DEMO") for r in exported)

    keys = everything_she_can_read([home], env, output)
    assert len(keys) > 100  # a real search: files, cells, lines, tokens, environment
    assert brute_force(exported, keys) == {}  # 0 of 60 re-identified

    # The test can fail: with the key the database holds, all 60 fall at once.
    assert thematic.location.path is not None
    conn = sqlite3.connect(thematic.location.path)
    (held,) = conn.execute("SELECT key FROM pseudonym_key").fetchone()
    conn.close()
    assert brute_force(exported, [held]) == {held: 60}


def test_a_researcher_cannot_choose_the_key(cli: CliLauncher, thematic: Database,
                                           tmp_path: Path) -> None:
    """Setting IOM_AUDIT_PSEUDO_KEY (the old way to choose the key) is refused."""
    home = tmp_path / "rita"
    home.mkdir()
    for chosen in ("my-own-key-that-I-will-use-to-reverse-it!", ""):
        done = _export_as_researcher(cli, thematic, home, _researcher_env(
            home, IOM_AUDIT_PSEUDO_KEY=chosen))
        assert done.returncode == 1
        assert "IOM_AUDIT_PSEUDO_KEY is no longer used" in done.stderr
        assert done.stderr.count("\n") == 1  # one line
        assert not (home / "export").exists()


def test_the_old_key_file_in_her_config_folder_is_not_used(cli: CliLauncher,
                                                           thematic: Database,
                                                           tmp_path: Path) -> None:
    """A key file planted where the old version looked has no effect on the pseudonyms."""
    home = tmp_path / "rita"
    planted = home / ".config" / "iom-audit" / "pseudonym.key"
    planted.parent.mkdir(parents=True)
    planted.write_text("00" * 32 + "\n")
    done = _export_as_researcher(cli, thematic, home, _researcher_env(home))
    assert done.returncode == 0, done.stderr
    with open(home / "export" / "cases.csv", newline="") as f:
        exported = {r["case_ref"] for r in csv.DictReader(f)}
    assert brute_force(exported, [planted.read_bytes().strip(), bytes(32)]) == {}
