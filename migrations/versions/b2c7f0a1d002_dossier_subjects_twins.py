"""dossier subjects: every child of a birth declaration with several children (twins) is a subject

A dossier's subject_key names one person; a twins dossier registers two, and the second twin filed
again alone must be refused like the first. Each subject beyond the first gets a row here.

Revision ID: b2c7f0a1d002
Revises: b7e1c2d3a014
Create Date: 2026-12-04 22:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b2c7f0a1d002'
down_revision = 'b7e1c2d3a014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dossier_subject',
        sa.Column('dossier_code', sa.String(), nullable=False),
        sa.Column('subject_key', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], ),
        sa.PrimaryKeyConstraint('dossier_code', 'subject_key'),
    )
    with op.batch_alter_table('dossier_subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_subject_subject_key'), ['subject_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dossier_subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_subject_subject_key'))
    op.drop_table('dossier_subject')
