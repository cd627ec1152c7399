"""history time to live and personal-data retention: camunda:historyTimeToLive stored per process
definition, an index for the clean-up's batches, and when a dossier's personal data were erased

Revision ID: b7e1c2d3a014
Revises: f1de11700002
Create Date: 2026-12-04 22:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e1c2d3a014'
down_revision = 'f1de11700002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN and CREATE INDEX: SQLite does both in place (a batch would
    # copy process_definition, which other tables reference).
    op.add_column('process_definition', sa.Column('history_ttl_days', sa.Integer(), nullable=True))
    op.create_index('ix_process_instance_definition_end', 'process_instance', ['definition_id', 'end_time'], unique=False)
    op.add_column('dossier', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_dossier_completed_at', 'dossier', ['completed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dossier_completed_at', table_name='dossier')
    # ALTER TABLE ... DROP COLUMN, in place on SQLite >= 3.35 too (a batch would copy the tables)
    op.execute("ALTER TABLE dossier DROP COLUMN erased_at")
    op.drop_index('ix_process_instance_definition_end', table_name='process_instance')
    op.execute("ALTER TABLE process_definition DROP COLUMN history_ttl_days")
