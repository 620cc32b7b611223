"""The pseudonym key: held in the database by the lead, never by the person exporting.

Creates `pseudonym_key` with 32 random bytes (for every existing database, and for each
new one that `init` creates). On PostgreSQL also creates `iom_audit_pseudonyms(integer[])`,
a SECURITY DEFINER function that returns (case_id, pseudonym) for the cases of the given
inspections: the application's group role is denied the table itself (docs/security.md)
and can compute no pseudonym of a string it chooses. HMAC-SHA256 is written out with the
built-in sha256() (PostgreSQL 11+), so no extension is needed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00
"""
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


FUNCTION = """
CREATE FUNCTION iom_audit_pseudonyms(inspection_ids integer[])
RETURNS TABLE (case_id integer, pseudonym text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    k bytea;
    ipad bytea;
    opad bytea;
BEGIN
    SELECT t.key INTO k FROM {schema}.pseudonym_key t WHERE t.id = 1;
    IF k IS NULL OR length(k) < 32 THEN
        RAISE EXCEPTION 'iom-audit: no usable pseudonym key';
    END IF;
    IF length(k) > 64 THEN
        k := sha256(k);
    END IF;
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    ipad := k;
    opad := k;
    FOR i IN 0..63 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);   -- 0x36
        opad := set_byte(opad, i, get_byte(k, i) # 92);   -- 0x5c
    END LOOP;
    RETURN QUERY
        SELECT c.id, substr(encode(sha256(opad || sha256(ipad || convert_to(c.case_ref,
                                                                          'UTF8'))),
                                   'hex'), 1, 16)
        FROM {schema}."case" c
        WHERE c.inspection_id = ANY (inspection_ids);
END
$fn$
"""


def upgrade() -> None:
    table = op.create_table(
        'pseudonym_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('id = 1', name='ck_pseudonym_key_single'),
        sa.CheckConstraint('length(key) >= 32', name='ck_pseudonym_key_length'),
        sa.PrimaryKeyConstraint('id'),
    )
    # secrets: the operating system's CSPRNG. One key per database, made here and never
    # shown: the lead holds it by holding the database.
    op.bulk_insert(table, [{'id': 1, 'key': secrets.token_bytes(32),
                            'created_at': datetime.now(UTC)}])
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        schema = bind.execute(sa.text('SELECT current_schema()')).scalar_one()
        quoted = bind.dialect.identifier_preparer.quote_identifier(schema)
        op.execute(sa.text(FUNCTION.format(schema=quoted)))
        # Only the owner and the roles it grants EXECUTE to (docs/security.md) may call it.
        op.execute('REVOKE ALL ON FUNCTION iom_audit_pseudonyms(integer[]) FROM PUBLIC')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS iom_audit_pseudonyms(integer[])')
    op.drop_table('pseudonym_key')
