"""variable value hash: index (name, md5 of the value) instead of (name, full JSON text)

The old index held every variable's whole JSON text: 10.7 GB at 1M dossiers, and PostgreSQL
refuses an index row past ~2.7 kB, so a long incompressible value (a base64 blob, a long list)
failed the command that stored it. Correlation now finds rows by the hash and compares the text.

Revision ID: 5b7e2c9d4f10
Revises: e3707baae23a
Create Date: 2026-11-28 07:40:00
"""
import hashlib

from alembic import op
import sqlalchemy as sa


revision = '5b7e2c9d4f10'
down_revision = 'e3707baae23a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('variable', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_hash', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE variable SET value_hash = md5(value_json)")  # md5 of the UTF-8 text, as Python's
    else:
        variable = sa.table('variable', sa.column('instance_id'), sa.column('name'), sa.column('value_json'),
                            sa.column('value_hash'))
        rows = bind.execute(sa.select(variable.c.instance_id, variable.c.name, variable.c.value_json)).fetchall()
        for instance_id, name, value_json in rows:
            bind.execute(variable.update()
                         .where(variable.c.instance_id == instance_id, variable.c.name == name)
                         .values(value_hash=hashlib.md5(value_json.encode('utf-8'), usedforsecurity=False).hexdigest()))
    with op.batch_alter_table('variable', schema=None) as batch_op:
        batch_op.alter_column('value_hash', existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_index('ix_variable_name_value', mysql_length=255)
        batch_op.create_index('ix_variable_name_hash', ['name', 'value_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('variable', schema=None) as batch_op:
        batch_op.drop_index('ix_variable_name_hash')
        batch_op.create_index('ix_variable_name_value', ['name', 'value_json'], unique=False, mysql_length=255)
        batch_op.drop_column('value_hash')
