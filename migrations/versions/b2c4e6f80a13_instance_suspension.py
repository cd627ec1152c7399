"""instance suspension: an operator holds running instances (while a new version is checked)

A suspended process definition starts no instance.
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

TABLES = ('process_definition', 'process_instance', 'task', 'job', 'external_task')


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows it with a default): a batch copy of process_instance would
    # have to drop a table every other one refers to.
    for table in TABLES:
        op.add_column(table, sa.Column('suspended', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, 'suspended')  # SQLite 3.35+ drops a column in place
