"""definition tenants: the tenant-id a deployment is made for (Camunda Modeler sends it), kept on the
deployment and its definitions and queryable; separate from an instance's tenant (the receiving
agency, which jurisdiction filters on)

Revision ID: f1de11700001
Revises: b2c4e6f80a13
Create Date: 2026-12-04 22:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f1de11700001'
down_revision = 'b2c4e6f80a13'
branch_labels = None
depends_on = None

TABLES = ('deployment', 'process_definition', 'decision_definition')


def upgrade() -> None:
    # Plain ALTERs, no batch: SQLite adds a nullable column in place, where a batch would copy
    # `deployment`, which other tables' foreign keys refer to.
    for table in TABLES:
        op.add_column(table, sa.Column('tenant_id', sa.String(length=64), nullable=True))
        op.create_index(f'ix_{table}_tenant_id', table, ['tenant_id'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f'ix_{table}_tenant_id', table_name=table)
        op.execute(f'ALTER TABLE {table} DROP COLUMN tenant_id')  # SQLite 3.35+ and PostgreSQL alike
