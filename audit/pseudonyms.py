"""Pseudonyms of case references, keyed by a secret that the lead's database holds.

A pseudonym is HMAC-SHA256(key, case_ref), its first 16 hex digits. The key is 32 random
bytes in the `pseudonym_key` table, made by the migration that created the table (for
databases that existed before, and for every database `init` creates). It is never
created, chosen or named by the person running an export: no environment variable, no
file in anyone's config folder, and the output never says where it is. Someone who
holds an export, its codebook, their own config folder and environment therefore
cannot test guesses of case references (a case reference such as DEMO-T-0042 has only
10,000 candidates: anyone with the key re-identifies every case at once).

On PostgreSQL the application's group role may not read the table (docs/security.md);
the function `iom_audit_pseudonyms(inspection_ids)`, SECURITY DEFINER, returns the
pseudonyms of the cases of those inspections, and never of a string it is given.
On SQLite the key is read from the file, as everything else in it is: whoever holds the
database file holds the case references too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

import sqlalchemy as sa

from audit.errors import UsageError

PSEUDONYM_HEX = 16
KEY_BYTES = 32
#: No longer read: a researcher could set it and choose the key. Set, it refuses exports.
RETIRED_ENV_KEY = "IOM_AUDIT_PSEUDO_KEY"
PG_FUNCTION = "iom_audit_pseudonyms"


def refuse_retired_key() -> None:
    """Refuse to export while IOM_AUDIT_PSEUDO_KEY is set (it would not be used)."""
    if RETIRED_ENV_KEY in os.environ:
        raise UsageError(f"{RETIRED_ENV_KEY} is no longer used and must not be set: the "
                         "pseudonym key is held in the database by the lead, never chosen "
                         "by the person exporting (unset it and export again)")


def check_key(key: bytes | None) -> bytes:
    """The key, or UsageError when it is missing, empty or shorter than 32 bytes."""
    if key is None:
        raise UsageError("this database has no pseudonym key: a lead must restore it (from "
                         "a backup) before pseudonymised data can be exported")
    if len(key) < KEY_BYTES:
        raise UsageError(f"the pseudonym key is {len(key)} bytes long; at least {KEY_BYTES} "
                         "are needed: a short key can be guessed (ask a lead)")
    return key


def pseudonym(key: bytes, ref: str) -> str:
    """One case reference's pseudonym (HMAC-SHA256, the first 16 hex digits)."""
    return hmac.new(check_key(key), ref.encode("utf-8"),
                    hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def case_pseudonyms(conn: sa.Connection, inspection_ids: Sequence[int]) -> dict[int, str]:
    """case id -> pseudonym, for every case of these inspections."""
    ids = [int(i) for i in inspection_ids]
    if not ids:
        return {}
    if conn.dialect.name == "postgresql":
        rows = conn.execute(sa.text(f"SELECT case_id, pseudonym FROM "
                                    f"{PG_FUNCTION}(CAST(:ids AS integer[]))"),
                            {"ids": ids}).all()
        return {int(case_id): str(p) for case_id, p in rows}
    key = check_key(conn.execute(sa.text("SELECT key FROM pseudonym_key WHERE id = 1"))
                    .scalar())
    refs = conn.execute(sa.text('SELECT id, case_ref FROM "case" WHERE inspection_id IN :ids')
                        .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}).all()
    return {int(case_id): pseudonym(key, ref) for case_id, ref in refs}
