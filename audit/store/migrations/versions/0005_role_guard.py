"""Roles change only through guarded functions on PostgreSQL (audit/people.py).

The application's group role may read `inspector` but not write it (docs/security.md).
Registering oneself, adding a person and changing a role go through three SECURITY
DEFINER functions owned by whoever runs the migrations: each takes the person from
`session_user` (the login, which neither an argument nor `SET ROLE` can change), checks
that a change is made by a registered lead, keeps the last lead, and writes the role
change to the audit trail in the same transaction. EXECUTE is taken from PUBLIC here and
given to the application's group role by the documented grants.

Their refusals carry SQLSTATEs of their own (IOMPD: not allowed, IOMUS: bad request,
IOMNF: no such person) and one-line messages that audit/people.py passes on.

SQLite has no roles to guard: one machine, one user (audit/people.py writes directly).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


SIGNATURES = ("iom_register_self(text, text)", "iom_add_person(text, text, text)",
              "iom_set_role(text, text)")

# Shared by the three functions: the roles, one role change at a time (a lock on the table,
# so two leads demoting each other cannot leave none), and the caller must be a lead.
_ROLES = "('inspector', 'lead', 'researcher')"

_REGISTER_SELF = """
CREATE FUNCTION iom_register_self(wanted_role text, wanted_initials text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    me text := session_user;
    was text;
    given text;
BEGIN
    IF wanted_role IS NULL OR wanted_role NOT IN {roles} THEN
        RAISE EXCEPTION 'role must be one of inspector, lead, researcher, not %',
            quote_literal(coalesce(wanted_role, '')) USING ERRCODE = 'IOMUS';
    END IF;
    LOCK TABLE inspector IN SHARE ROW EXCLUSIVE MODE;
    SELECT i.role INTO was FROM inspector i WHERE i.name = me;
    IF NOT EXISTS (SELECT 1 FROM inspector i WHERE i.role = 'lead') THEN
        -- No lead yet: roles are not configured, and whoever asks may lead.
        given := CASE WHEN was IS NULL OR wanted_role = 'lead' THEN wanted_role ELSE was END;
    ELSE
        -- Once there is a lead, roles are theirs to give: a newcomer is an inspector.
        given := coalesce(was, 'inspector');
    END IF;
    IF was IS NULL THEN
        INSERT INTO inspector (name, initials, role)
        VALUES (me, nullif(left(wanted_initials, 10), ''), given);
    ELSIF was <> given THEN
        UPDATE inspector SET role = given WHERE name = me;
    END IF;
    IF was IS DISTINCT FROM given THEN
        INSERT INTO audit_event (at, who, entity, key, field, old_value, new_value)
        VALUES (clock_timestamp(), me, 'inspector', me, 'role', was, given);
    END IF;
    RETURN given;
END $$
"""

_ADD_PERSON = """
CREATE FUNCTION iom_add_person(person text, new_role text, person_initials text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    me text := session_user;
    mine text;
BEGIN
    person := btrim(coalesce(person, ''));
    IF person = '' THEN
        RAISE EXCEPTION 'a name is needed' USING ERRCODE = 'IOMUS';
    END IF;
    IF new_role IS NULL OR new_role NOT IN {roles} THEN
        RAISE EXCEPTION 'role must be one of inspector, lead, researcher, not %',
            quote_literal(coalesce(new_role, '')) USING ERRCODE = 'IOMUS';
    END IF;
    LOCK TABLE inspector IN SHARE ROW EXCLUSIVE MODE;
    SELECT i.role INTO mine FROM inspector i WHERE i.name = me;
    -- A lead adds people; on a database without a lead a login may only add itself as lead.
    IF coalesce(mine, '') <> 'lead' AND NOT (
            person = me AND new_role = 'lead'
            AND NOT EXISTS (SELECT 1 FROM inspector i WHERE i.role = 'lead')) THEN
        RAISE EXCEPTION 'only the lead role may add people or change roles (% has %)', me,
            coalesce('the ' || mine || ' role', 'no role here') USING ERRCODE = 'IOMPD';
    END IF;
    IF EXISTS (SELECT 1 FROM inspector i WHERE i.name = person) THEN
        RAISE EXCEPTION '% is already registered: use `inspectors set-role`',
            quote_literal(person) USING ERRCODE = 'IOMUS';
    END IF;
    INSERT INTO inspector (name, initials, role)
    VALUES (person, nullif(left(person_initials, 10), ''), new_role);
    INSERT INTO audit_event (at, who, entity, key, field, old_value, new_value)
    VALUES (clock_timestamp(), me, 'inspector', person, 'role', NULL, new_role);
END $$
"""

_SET_ROLE = """
CREATE FUNCTION iom_set_role(person text, new_role text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    me text := session_user;
    mine text;
    was text;
BEGIN
    IF new_role IS NULL OR new_role NOT IN {roles} THEN
        RAISE EXCEPTION 'role must be one of inspector, lead, researcher, not %',
            quote_literal(coalesce(new_role, '')) USING ERRCODE = 'IOMUS';
    END IF;
    LOCK TABLE inspector IN SHARE ROW EXCLUSIVE MODE;
    SELECT i.role INTO mine FROM inspector i WHERE i.name = me;
    IF coalesce(mine, '') <> 'lead' THEN
        RAISE EXCEPTION 'only the lead role may add people or change roles (% has %)', me,
            coalesce('the ' || mine || ' role', 'no role here') USING ERRCODE = 'IOMPD';
    END IF;
    SELECT i.role INTO was FROM inspector i WHERE i.name = person;
    IF was IS NULL THEN
        RAISE EXCEPTION 'no inspector named %', quote_literal(coalesce(person, ''))
            USING ERRCODE = 'IOMNF';
    END IF;
    IF was = 'lead' AND new_role <> 'lead'
            AND (SELECT count(*) FROM inspector i WHERE i.role = 'lead') <= 1 THEN
        RAISE EXCEPTION '% is the only lead: appoint another lead first', person
            USING ERRCODE = 'IOMUS';
    END IF;
    IF was <> new_role THEN
        UPDATE inspector SET role = new_role WHERE name = person;
        INSERT INTO audit_event (at, who, entity, key, field, old_value, new_value)
        VALUES (clock_timestamp(), me, 'inspector', person, 'role', was, new_role);
    END IF;
    RETURN was;
END $$
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Pin the functions' search path to the schema the tables are in (then pg_temp, last,
    # so a caller's temporary table can never stand in for `inspector` or `audit_event`).
    schema = bind.exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    for body in (_REGISTER_SELF, _ADD_PERSON, _SET_ROLE):
        op.execute(body.format(schema=schema, roles=_ROLES))
    for signature in SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for signature in SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
