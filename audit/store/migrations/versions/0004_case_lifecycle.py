"""Case lifecycle: the 'moderated' status, answers hidden by rules, the undoable last change.

* `case.status` may now be 'moderated' (between 'qa_checked' and 'locked'): the CHECK
  constraint is replaced. SQLite cannot alter a constraint, and batch mode's
  copy-and-drop fails while answers reference the table (foreign keys are on, and cannot
  be switched off inside the migration's transaction); so the stored table definition
  is edited in place, as SQLite documents for loosening a CHECK constraint (no stored
  row can break a constraint that allows more).
* `hidden_answer` keeps answers whose question stopped applying, so they come back when
  it applies again instead of being lost.
* `last_change` remembers each case's last answer or note change for undo.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00
"""
import re

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

STATUSES_BEFORE = ('not_started', 'in_progress', 'complete', 'qa_checked', 'locked')
STATUSES_AFTER = ('not_started', 'in_progress', 'complete', 'qa_checked', 'moderated',
                  'locked')


def _status_check(statuses: tuple[str, ...]) -> str:
    values = ", ".join(f"'{s}'" for s in statuses)
    return f"status IS NULL OR status IN ({values})"


def _set_status_check(statuses: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('ck_case_status', 'case', type_='check')
        op.create_check_constraint('ck_case_status', 'case', _status_check(statuses))
        return
    # SQLite's own procedure for changing a CHECK constraint in place
    # (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"):
    # edit the stored definition and bump the schema version, in this transaction.
    conn = op.get_bind()
    table_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'case'").scalar_one()
    new_sql, found = re.subn(r"CONSTRAINT ck_case_status CHECK \((?:[^()]|\([^()]*\))*\)",
                             f"CONSTRAINT ck_case_status CHECK ({_status_check(statuses)})",
                             table_sql)
    if found != 1:
        raise RuntimeError("the case table's status constraint was not found")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' "
                             "AND name = 'case'"), {"sql": new_sql})
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _set_status_check(STATUSES_AFTER)

    op.create_table('hidden_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('question_set_version', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('rater', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("rater IS NULL OR rater IN ('primary', 'qa', 'moderated')", name='ck_hidden_answer_rater'),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['inspector_id'], ['inspector.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hidden_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hidden_answer_case_id'), ['case_id'], unique=False)

    op.create_table('last_change',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('case_version', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('rater', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('old', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('new', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.CheckConstraint("kind IN ('answer', 'note')", name='ck_last_change_kind'),
    sa.CheckConstraint("rater IS NULL OR rater IN ('primary', 'qa', 'moderated')", name='ck_last_change_rater'),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['inspector_id'], ['inspector.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )


def downgrade() -> None:
    op.drop_table('last_change')
    with op.batch_alter_table('hidden_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hidden_answer_case_id'))
    op.drop_table('hidden_answer')
    # A moderated case goes back to QA-checked: the old schema has no 'moderated'.
    op.execute("UPDATE \"case\" SET status = 'qa_checked' WHERE status = 'moderated'")
    _set_status_check(STATUSES_BEFORE)
