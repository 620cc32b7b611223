"""The inspector's week: cases allocated to inspectors, and data queries on answers.

* `case.allocated_to` (an inspector) and `case.due_date`: the lead allocates cases, in the
  app or with an `allocated_to` import column, and each inspector starts from "my cases".
  Both are added as plain nullable columns: SQLite's ADD COLUMN accepts a REFERENCES
  clause when the default is NULL, so no table copy is needed (answers reference `case`).
* `query` and `query_message`: a query on one answer of one case, its status, its
  assignee and its thread (REDCap's data resolution workflow; `audit/queries.py`).

On PostgreSQL, re-run the documented grants after this migration (docs/security.md):
the two new tables are covered by `GRANT ... ON ALL TABLES`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 18:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Alembic's SQLite add_column drops a column's foreign key; SQLite itself keeps it.
        op.execute('ALTER TABLE "case" ADD COLUMN allocated_to INTEGER '
                   'REFERENCES inspector (id)')
    else:
        op.add_column('case', sa.Column('allocated_to', sa.Integer(), nullable=True))
        op.create_foreign_key('case_allocated_to_fkey', 'case', 'inspector',
                              ['allocated_to'], ['id'])
    op.add_column('case', sa.Column('due_date', sa.Date(), nullable=True))
    op.create_index(op.f('ix_case_allocated_to'), 'case', ['allocated_to'], unique=False)

    op.create_table('query',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('rater', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('opened_by', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IS NULL OR status IN ('open', 'answered', 'closed')",
                       name='ck_query_status'),
    sa.CheckConstraint("rater IS NULL OR rater IN ('primary', 'qa', 'moderated')",
                       name='ck_query_rater'),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['opened_by'], ['inspector.id'], ),
    sa.ForeignKeyConstraint(['assignee_id'], ['inspector.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_query_case_status', 'query', ['case_id', 'status'], unique=False)
    op.create_index(op.f('ix_query_assignee_id'), 'query', ['assignee_id'], unique=False)

    op.create_table('query_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('old_value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('new_value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.CheckConstraint("action IS NULL OR action IN ('open', 'respond', 'change', 'close', "
                       "'reopen')", name='ck_query_message_action'),
    sa.ForeignKeyConstraint(['query_id'], ['query.id'], ),
    sa.ForeignKeyConstraint(['author_id'], ['inspector.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_query_message_query_id'), 'query_message', ['query_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_query_message_query_id'), table_name='query_message')
    op.drop_table('query_message')
    op.drop_index(op.f('ix_query_assignee_id'), table_name='query')
    op.drop_index('ix_query_case_status', table_name='query')
    op.drop_table('query')
    op.drop_index(op.f('ix_case_allocated_to'), table_name='case')
    with op.batch_alter_table('case') as batch_op:
        batch_op.drop_column('due_date')
        batch_op.drop_column('allocated_to')
