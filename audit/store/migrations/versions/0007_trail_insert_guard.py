"""PostgreSQL: an ordinary login writes trail events only unsealed, in its own name, now.

A red-team trial of migration 0003 found that a login could insert an unsealed event
under another person's name or dated in the past, which the next write then sealed into
the chain. Now, for a session that is not the owner's or a superuser's, every event names
the login that writes it (`who = session_user`) and its time is within an hour of the
server's clock (a long import is fine: `now()` is its transaction's start).
SQLite has no logins: whoever holds the file can write anything (docs/security.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 14:00:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _check_insert(schema: str, guarded: bool) -> str:
    owner = (f"(SELECT pg_get_userbyid(relowner) FROM pg_class "
             f"WHERE oid = '{schema}.audit_event'::regclass)")
    guard = f"""
            -- An ordinary login (not the owner, not a superuser) writes in its own name,
            -- at the server's time.
            IF session_user <> {owner}
               AND NOT COALESCE((SELECT rolsuper FROM pg_roles
                                 WHERE rolname = session_user), false) THEN
                IF EXISTS (SELECT 1 FROM new_events
                           WHERE who IS DISTINCT FROM session_user::text
                              OR at < now() - interval '1 hour'
                              OR at > clock_timestamp() + interval '1 hour') THEN
                    RAISE EXCEPTION 'audit_event: an event names the login that writes it, '
                                    'at the time it is written'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
            END IF;""" if guarded else ""
    return f"""CREATE OR REPLACE FUNCTION audit_event_check_insert() RETURNS trigger AS $$
        DECLARE
            n bigint;
            seqs bigint;
            hashes bigint;
            digests bigint;
            lo bigint;
            hi bigint;
            bad boolean;
        BEGIN
            -- One pass over the inserted rows: this runs for every insert of an import.
            SELECT count(*), count(seq), count(hash), count(value_digest), min(seq), max(seq),
                   COALESCE(bool_or(length(hash) <> 64), false)
              INTO n, seqs, hashes, digests, lo, hi, bad FROM new_events;{guard}
            IF seqs = 0 AND hashes = 0 AND digests = 0 THEN
                RETURN NULL;
            END IF;
            -- Bulk writes arrive sealed: only as the next links of the chain, no gap.
            IF seqs <> n OR hashes <> n OR digests <> 0 OR bad OR hi - lo + 1 <> n
               OR (SELECT max(seq) FROM audit_event) <> hi
               OR (lo > 1 AND NOT EXISTS (SELECT 1 FROM audit_event WHERE seq = lo - 1)) THEN
                RAISE EXCEPTION 'audit_event: events are written unsealed, or sealed as '
                                'the next links'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql"""


def _apply(guarded: bool) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        return
    schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    conn.exec_driver_sql(_check_insert(f'"{schema}"', guarded))


def upgrade() -> None:
    _apply(True)


def downgrade() -> None:
    _apply(False)
