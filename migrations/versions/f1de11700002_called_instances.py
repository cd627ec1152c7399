"""called instances: a call activity's called process is an instance of its own in the history
(super_instance_id on it, called_instance_id on the call activity's history row), as Camunda records it

Revision ID: f1de11700002
Revises: f1de11700001
Create Date: 2026-12-04 22:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f1de11700002'
down_revision = 'f1de11700001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs (nullable columns): SQLite adds them in place, no copy of referenced tables.
    op.add_column('process_instance', sa.Column('super_instance_id', sa.String(length=64), nullable=True))
    op.create_index('ix_process_instance_super_instance_id', 'process_instance', ['super_instance_id'], unique=False)
    op.add_column('activity_instance', sa.Column('called_instance_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_index('ix_process_instance_super_instance_id', table_name='process_instance')
    op.execute('ALTER TABLE process_instance DROP COLUMN super_instance_id')
    op.execute('ALTER TABLE activity_instance DROP COLUMN called_instance_id')
