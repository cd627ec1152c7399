"""instance suspension: an operator holds running instances (while a new version is checked)

A suspended instance's tasks cannot be claimed or completed, its jobs are not run, its external
tasks are not fetched and no message correlates to it. The flag is kept on the rows the workers
and the inbox read (job, external task, task) as well as on the instance, so the claim queries
filter on their own table.

Revision ID: b2c4e6f80a13
Revises: a15d0c0de001
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b2c4e6f80a13'
down_revision = 'a15d0c0de001'
branch_labels = None
depends_on = None

TABLES = ('process_instance', 'task', 'job', 'external_task')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('suspended', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('suspended')
