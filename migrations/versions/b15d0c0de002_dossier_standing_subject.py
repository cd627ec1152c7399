"""dossier standing subject: a unique index, so the same child (or death) filed twice at the same
moment cannot be stored twice

The look-up at filing (a15d0c0de001) refused a second dossier filed after the first committed, but
two filings of the same subject at the same moment both passed it. `subject_standing` says whether a
dossier still holds its subject (the projection clears it when the dossier, or the part that
registers the subject, ends without registering); the partial unique index on `subject_key` over
the standing dossiers makes the database refuse the twin.

Existing rows: a dossier rejected or cancelled, or whose registering part (birth, death) was refused,
rejected, not processed or cancelled, no longer stands. Twins stored before this index existed keep
their earliest dossier standing; the later ones are released (they must be settled by an officer,
the index cannot hold both).

Revision ID: b15d0c0de002
Revises: b2c7f0a1d002
Create Date: 2026-12-04 22:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b15d0c0de002'
down_revision = 'b2c7f0a1d002'
branch_labels = None
depends_on = None

NOT_STANDING_DOSSIER = ("rejected", "cancelled", "withdrawn", "terminated")
NOT_STANDING_PART = ("refused", "rejected", "not-processed", "cancelled", "withdrawn", "terminated")


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN and CREATE INDEX, on SQLite too: a batch would copy the table,
    # which the foreign keys of dossier_part (and the others) refuse once dossiers exist.
    op.add_column('dossier', sa.Column('subject_standing', sa.Boolean(), server_default=sa.true(), nullable=False))
    bind = op.get_bind()
    dossier = sa.table('dossier', sa.column('code'), sa.column('procedure'), sa.column('state'),
                       sa.column('received_at'), sa.column('subject_key'), sa.column('subject_standing'))
    part = sa.table('dossier_part', sa.column('dossier_code'), sa.column('part'), sa.column('state'))
    ended_part = sa.select(part.c.dossier_code).where(part.c.part == dossier.c.procedure,
                                                      part.c.state.in_(NOT_STANDING_PART))
    bind.execute(dossier.update().where(sa.or_(dossier.c.state.in_(NOT_STANDING_DOSSIER),
                                               dossier.c.code.in_(ended_part)))
                 .values(subject_standing=False))
    rows = bind.execute(sa.select(dossier.c.code, dossier.c.subject_key)
                        .where(dossier.c.subject_key.is_not(None), dossier.c.subject_standing)
                        .order_by(dossier.c.received_at, dossier.c.code)).all()
    seen = set()
    for code, key in rows:
        if key in seen:
            bind.execute(dossier.update().where(dossier.c.code == code).values(subject_standing=False))
        seen.add(key)
    op.create_index('uq_dossier_standing_subject', 'dossier', ['subject_key'], unique=True,
                    sqlite_where=sa.text('subject_standing'), postgresql_where=sa.text('subject_standing'))


def downgrade() -> None:
    op.drop_index('uq_dossier_standing_subject', table_name='dossier')
    op.execute('ALTER TABLE dossier DROP COLUMN subject_standing')  # SQLite 3.35+ and PostgreSQL alike
