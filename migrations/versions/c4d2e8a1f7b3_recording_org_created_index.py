"""the Recordings page's keyset index: (organization, created_at, id)

Revision ID: c4d2e8a1f7b3
Revises: 52760a763c96
Create Date: 2026-11-27 21:20:00

"""
from alembic import op


revision = 'c4d2e8a1f7b3'
down_revision = '52760a763c96'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_index('ix_recording_org_created', ['organization_id', 'created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_org_created')
