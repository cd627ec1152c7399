"""dossier drafts: a filing the citizen reviews (the three extracted declarations, printed) before
confirming it

Revision ID: c15d0c0de003
Revises: b15d0c0de002
Create Date: 2026-12-04 22:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c15d0c0de003'
down_revision = 'b15d0c0de002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dossier_draft',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('owner_id', sa.String(length=128), nullable=True),
        sa.Column('filer', sa.String(length=128), nullable=False),
        sa.Column('procedure', sa.String(length=32), nullable=False),
        sa.Column('agency_code', sa.String(length=32), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('declarations', sa.JSON(), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('dossier_code', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dossier_draft_owner_id', 'dossier_draft', ['owner_id'], unique=False)
    op.create_index('ix_dossier_draft_filer', 'dossier_draft', ['filer'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dossier_draft_filer', table_name='dossier_draft')
    op.drop_index('ix_dossier_draft_owner_id', table_name='dossier_draft')
    op.drop_table('dossier_draft')
