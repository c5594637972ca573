"""add the widget language and following the browser's language to widget settings

Revision ID: a45fef1dccdc
Revises: 8e6353b6a61a
Create Date: 2026-11-27 15:29:48.702330

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a45fef1dccdc'
down_revision = '8e6353b6a61a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('widget_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('follow_browser_language', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('widget_settings', schema=None) as batch_op:
        batch_op.drop_column('follow_browser_language')
        batch_op.drop_column('language')

