"""Moves carry both sides, as `polyfleet place --lose` reports them: replicas stopped on the pool
left and chips on each side (a move between replica sizes differs in chips and replicas).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 17:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('placement_moves', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_replicas', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('from_chips', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('to_chips', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('placement_moves', schema=None) as batch_op:
        batch_op.drop_column('to_chips')
        batch_op.drop_column('from_chips')
        batch_op.drop_column('from_replicas')
