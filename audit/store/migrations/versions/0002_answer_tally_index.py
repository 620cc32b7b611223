"""Covering index for counting answers per question and value (audit/tally.py).

With it, SQLite lists the cases behind each question and value in index order instead of
sorting millions of answer rows for every aggregate table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:20:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_answer_tally', 'answer', ['rater', 'question_id', 'value', 'case_id'])


def downgrade() -> None:
    op.drop_index('ix_answer_tally', table_name='answer')
