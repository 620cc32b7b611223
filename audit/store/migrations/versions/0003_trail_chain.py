"""A tamper-evident trail: each event chained by hash to the one before it.

Adds `seq`, `hash` and `value_digest` to audit_event and the per-inspection `trail_key`
(see audit/store/chain.py for the canonical form), replaces the append-only triggers
and seals every existing event in id order.

SQLite: the no-update trigger now lets one UPDATE through, the one that seals an event
(seq and hash from NULL, nothing else changed); a new BEFORE INSERT trigger refuses an
event whose id or seq exists, which stops `REPLACE INTO` / `INSERT OR REPLACE` from
deleting one without firing the delete trigger.

PostgreSQL: row triggers refuse UPDATE (but sealing) and DELETE, statement triggers
refuse TRUNCATE and events inserted already sealed unless they are the chain's next
links (how bulk imports arrive), for every role. The database computes the chain itself
(the canonical form in SQL: iom_audit_line, iom_audit_values, the aggregate
iom_audit_chain), and two functions owned by the migration's role (SECURITY DEFINER) are
the only ways to change an event: `iom_audit_seal()` seals the unsealed events (the
application role holds no UPDATE grant on the trail and supplies no hash), and
`iom_audit_redact` is a purge's redaction, for a lead only. The trigger recognises the
redaction by the function on the call stack *and* the owner as current user, which no
session setting can fake.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

PG_LOCK = 0x10_A0D17_7A11  # audit.store.chain.PG_LOCK

# An UPDATE that only seals an unsealed event (both backends' no-update trigger lets
# it through): seq and hash from NULL to a value, every other column unchanged.
_SAME = ("id", "at", "who", "entity", "case_id", "key", "field", "old_value", "new_value",
         "value_digest")
SQLITE_SEALING = ("OLD.seq IS NULL AND OLD.hash IS NULL AND NEW.seq IS NOT NULL "
                  "AND NEW.hash IS NOT NULL AND "
                  + " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _SAME))
PG_SEALING = ("OLD.seq IS NULL AND OLD.hash IS NULL AND NEW.seq IS NOT NULL "
              "AND NEW.hash IS NOT NULL AND "
              + " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _SAME))

SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    f"WHEN NOT ({SQLITE_SEALING}) "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event "
    "WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id) OR (NEW.seq IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.seq)) "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: an event with this id or "
    "position exists'); END",
]

# The redaction a purge makes: values to '[purged]' (NULL stays NULL), their digest
# stored once, nothing else touched.
_REDACTION = """
    NEW.id = OLD.id AND NEW.seq IS NOT DISTINCT FROM OLD.seq
    AND NEW.hash IS NOT DISTINCT FROM OLD.hash AND NEW.at = OLD.at AND NEW.who = OLD.who
    AND NEW.entity = OLD.entity AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id
    AND NEW.key = OLD.key AND NEW.field IS NOT DISTINCT FROM OLD.field
    AND OLD.value_digest IS NULL AND NEW.value_digest IS NOT NULL
    AND (NEW.old_value IS NULL) = (OLD.old_value IS NULL)
    AND (NEW.new_value IS NULL) = (OLD.new_value IS NULL)
    AND COALESCE(NEW.old_value, '[purged]') = '[purged]'
    AND COALESCE(NEW.new_value, '[purged]') = '[purged]'"""

# t(text) of audit/store/chain.py: its length in code points, ':', the text; NULL -> ''.
def _t(expr: str) -> str:
    return f"COALESCE(length({expr})::text || ':' || {expr}, '')"


def postgres_ddl(schema: str) -> list[str]:
    """The PostgreSQL functions and triggers (`schema`: quoted, where they are made)."""
    path = f"SET search_path = pg_catalog, {schema}, pg_temp"
    owner = f"(SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = '{schema}.audit_event'::regclass)"
    return [
        f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
        DECLARE
            stack text;
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                -- Only inside iom_audit_redact, which runs as the owner: a session setting,
                -- a function of another role or a direct UPDATE never gets here.
                GET DIAGNOSTICS stack = PG_CONTEXT;
                IF current_user = {owner}
                   AND position('function iom_audit_redact(' in stack) > 0
                   AND {_REDACTION} THEN
                    RETURN NEW;
                END IF;
            END IF;
            RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$ LANGUAGE plpgsql""",
        """CREATE OR REPLACE FUNCTION audit_event_check_insert() RETURNS trigger AS $$
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
              INTO n, seqs, hashes, digests, lo, hi, bad FROM new_events;
            IF seqs = 0 AND hashes = 0 AND digests = 0 THEN
                RETURN NULL;
            END IF;
            -- Bulk writes arrive sealed: only as the next links of the chain, no gap.
            IF seqs <> n OR hashes <> n OR digests <> 0 OR bad OR hi - lo + 1 <> n
               OR (SELECT max(seq) FROM audit_event) <> hi
               OR (lo > 1 AND NOT EXISTS (SELECT 1 FROM audit_event WHERE seq = lo - 1)) THEN
                RAISE EXCEPTION 'audit_event: events are written unsealed, or sealed as the next links'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
        "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
        "CREATE TRIGGER audit_event_sealed_insert AFTER INSERT ON audit_event "
        "REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT "
        "EXECUTE FUNCTION audit_event_check_insert()",
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event FOR EACH ROW "
        f"WHEN (NOT ({PG_SEALING})) EXECUTE FUNCTION audit_event_append_only()",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event FOR EACH ROW "
        "EXECUTE FUNCTION audit_event_append_only()",
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
        # The canonical form of audit/store/chain.py in SQL, for sealing in the database.
        f"""CREATE OR REPLACE FUNCTION iom_audit_t(x text) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$ SELECT {_t('x')} $$""",
        # STABLE like convert_to, so that PostgreSQL inlines them into the sealing query.
        f"""CREATE OR REPLACE FUNCTION iom_audit_values(secret text, old text, new text)
        RETURNS text LANGUAGE sql STABLE AS $$
            SELECT encode(sha256(convert_to('v1|' || {schema}.iom_audit_t(secret) || '|'
                || {schema}.iom_audit_t(old) || '|' || {schema}.iom_audit_t(new), 'UTF8')), 'hex')
        $$""",
        f"""CREATE OR REPLACE FUNCTION iom_audit_line(seq bigint, at timestamptz, who text,
            entity text, case_id bigint, key text, field text, vals text)
        RETURNS text LANGUAGE sql STABLE AS $$
            SELECT '|v1|' || seq || '|'
                || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|'
                || {schema}.iom_audit_t(who) || '|' || {schema}.iom_audit_t(entity) || '|'
                || COALESCE(case_id::text, '') || '|' || {schema}.iom_audit_t(key) || '|'
                || {schema}.iom_audit_t(field) || '|' || vals
        $$""",
        # The aggregate's step is not inlined: PL/pgSQL runs one expression fastest.
        """CREATE OR REPLACE FUNCTION iom_audit_chain_step(state text, head text, line text)
        RETURNS text LANGUAGE plpgsql STABLE AS $$ BEGIN
            RETURN encode(sha256(convert_to(COALESCE(state, head) || line, 'UTF8')), 'hex');
        END $$""",
        f"""CREATE OR REPLACE AGGREGATE iom_audit_chain(text, text) (
            SFUNC = {schema}.iom_audit_chain_step, STYPE = text)""",
        f"""CREATE OR REPLACE FUNCTION iom_audit_seal() RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
        DECLARE
            n bigint;
            head_seq bigint;
            head_hash text;
        BEGIN
            -- Held until the commit: the next writer chains onto what this one seals.
            PERFORM pg_advisory_xact_lock({PG_LOCK});
            SELECT seq, hash INTO head_seq, head_hash FROM audit_event
             WHERE seq = (SELECT max(seq) FROM audit_event);
            WITH todo AS (
                SELECT e.id, COALESCE(head_seq, 0) + row_number() OVER (ORDER BY e.id) AS seq,
                       e.at, e.who, e.entity, e.case_id, e.key, e.field,
                       COALESCE(e.value_digest,
                                iom_audit_values(k.secret, e.old_value, e.new_value)) AS vals
                  FROM audit_event e LEFT JOIN "case" c ON c.id = e.case_id
                  LEFT JOIN trail_key k ON k.inspection_id = c.inspection_id
                 WHERE e.seq IS NULL),
            chained AS (
                SELECT id, seq, iom_audit_chain(COALESCE(head_hash, repeat('0', 64)),
                           iom_audit_line(seq, at, who, entity, case_id, key, field, vals))
                           OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS hash
                  FROM todo)
            UPDATE audit_event e SET seq = chained.seq, hash = chained.hash
              FROM chained WHERE e.id = chained.id;
            GET DIAGNOSTICS n = ROW_COUNT;
            RETURN n;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION iom_audit_redact(p_inspection integer) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
        DECLARE
            n bigint;
        BEGIN
            IF NOT (COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
                    OR session_user = {owner}
                    OR session_user = pg_get_userbyid((SELECT datdba FROM pg_database
                                                       WHERE datname = current_database()))
                    OR EXISTS (SELECT 1 FROM inspector
                               WHERE name = session_user AND role = 'lead')) THEN
                RAISE EXCEPTION 'only the lead role may purge an inspection'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            UPDATE audit_event e SET
                value_digest = encode(sha256(convert_to('v1|' || {_t('k.secret')} || '|'
                    || {_t('e.old_value')} || '|' || {_t('e.new_value')}, 'UTF8')), 'hex'),
                old_value = CASE WHEN e.old_value IS NULL THEN NULL ELSE '[purged]' END,
                new_value = CASE WHEN e.new_value IS NULL THEN NULL ELSE '[purged]' END
            FROM "case" c LEFT JOIN trail_key k ON k.inspection_id = c.inspection_id
            WHERE c.inspection_id = p_inspection AND e.case_id = c.id
              AND e.value_digest IS NULL;
            GET DIAGNOSTICS n = ROW_COUNT;
            DELETE FROM trail_key WHERE inspection_id = p_inspection;
            RETURN n;
        END $$""",
    ]


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    # Plain ADD COLUMN (no batch copy on SQLite: that would drop the table's triggers).
    op.add_column('audit_event', sa.Column('seq', sa.Integer(), nullable=True))
    op.add_column('audit_event', sa.Column(
        'hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('audit_event', sa.Column(
        'value_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_index('ix_audit_event_seq', 'audit_event', ['seq'], unique=True)
    op.create_table('trail_key',
    sa.Column('inspection_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.PrimaryKeyConstraint('inspection_id')
    )
    if sqlite:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
        for statement in SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
    else:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        for statement in postgres_ddl(f'"{schema}"'):
            conn.exec_driver_sql(statement)
        # Run as the owner, so closed to PUBLIC: the application's group gets EXECUTE
        # from the documented grants (docs/security.md).
        for signature in ("iom_audit_seal()", "iom_audit_redact(integer)"):
            conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    from audit.store.chain import seal

    seal(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in ("audit_event_no_update", "audit_event_no_delete", "audit_event_no_replace"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in ("audit_event_sealed_insert", "audit_event_no_update",
                     "audit_event_no_delete", "audit_event_no_truncate"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON audit_event")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS iom_audit_seal()")
        conn.exec_driver_sql("DROP AGGREGATE IF EXISTS iom_audit_chain(text, text)")
        for function in ("iom_audit_chain_step(text, text, text)",
                         "iom_audit_line(bigint, timestamptz, text, text, bigint, text, text, "
                         "text)", "iom_audit_values(text, text, text)", "iom_audit_t(text)"):
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS iom_audit_redact(integer)")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS audit_event_append_only()")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS audit_event_check_insert()")
    op.drop_table('trail_key')
    op.drop_index('ix_audit_event_seq', table_name='audit_event')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('value_digest')
        batch_op.drop_column('hash')
        batch_op.drop_column('seq')
    # Back to revision 0001's append-only triggers (the batch copy dropped SQLite's).
    if conn.dialect.name == "sqlite":
        for statement in INITIAL_SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
    else:
        for statement in INITIAL_POSTGRES_TRIGGER:
            conn.exec_driver_sql(statement)


# Revision 0001's triggers, as downgrade restores them.
INITIAL_SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
INITIAL_POSTGRES_TRIGGER = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN
        IF current_setting('iom_audit.purge', true) = 'on' AND TG_OP = 'UPDATE' THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_event is append-only';
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
]
