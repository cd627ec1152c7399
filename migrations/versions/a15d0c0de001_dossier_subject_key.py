"""dossier subject key: who a dossier registers (the child, the deceased), to refuse a duplicate

The same child filed twice was registered twice (two certificates, two personal ID numbers); a
new dossier is now refused when an earlier one for the same subject is still standing. The key is a
hash (no personal ID number in clear in one more column); dossiers filed before have none.

Revision ID: a15d0c0de001
Revises: ec5847787f02
Create Date: 2026-12-04 20:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'a15d0c0de001'
down_revision = 'ec5847787f02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_key', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_dossier_subject_key', ['subject_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_subject_key')
        batch_op.drop_column('subject_key')
