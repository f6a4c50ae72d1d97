"""The first tables, and the live fleet's settings row.

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 13:47:54.431485
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('resource', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.String(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('events',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('received_by', sa.String(length=100), nullable=False),
    sa.Column('pools', sa.JSON(), nullable=False),
    sa.Column('placement_version', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=200), nullable=False),
    sa.Column('tenants', sa.JSON(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by_placement', sa.Integer(), nullable=False),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_placement', sa.Integer(), nullable=True),
    sa.Column('unserved_share', sa.Float(), nullable=False),
    sa.Column('worst_unserved_share', sa.Float(), nullable=False),
    sa.Column('unserved_tokens_per_s', sa.Float(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_open', ['tier', 'closed_at'], unique=False)

    op.create_table('pools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offering', sa.String(length=200), nullable=False),
    sa.Column('term', sa.String(length=16), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('accelerator', sa.String(length=64), nullable=False),
    sa.Column('family', sa.String(length=16), nullable=False),
    sa.Column('vendor', sa.String(length=64), nullable=False),
    sa.Column('unit_chips', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('months_left', sa.Integer(), nullable=True),
    sa.Column('usd_per_chip_hour', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lost_share', sa.Float(), nullable=False),
    sa.Column('supply_cut', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('offering', 'term')
    )
    op.create_table('scenario_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('yaml', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version')
    )
    with op.batch_alter_table('scenario_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenario_versions_name'), ['name'], unique=False)

    op.create_table('tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256')
    )
    op.create_table('fleet_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_version_id', sa.Integer(), nullable=True),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('demand_factors', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['scenario_version_id'], ['scenario_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('placements',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('trigger', sa.String(length=200), nullable=False),
    sa.Column('scenario_version_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('gap', sa.Float(), nullable=True),
    sa.Column('usd_per_hour', sa.Float(), nullable=False),
    sa.Column('start_usd', sa.Float(), nullable=False),
    sa.Column('replicas_moved', sa.Integer(), nullable=False),
    sa.Column('solve_s', sa.Float(), nullable=False),
    sa.Column('reconcile_s', sa.Float(), nullable=False),
    sa.Column('chips', sa.JSON(), nullable=False),
    sa.Column('served_share_by_tier', sa.JSON(), nullable=False),
    sa.Column('training', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['scenario_version_id'], ['scenario_versions.id'], ),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('scenario_version_id', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('claim', sa.String(length=64), nullable=True),
    sa.Column('lease_expires', sa.Float(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['scenario_version_id'], ['scenario_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_status', ['status', 'id'], unique=False)

    op.create_table('placement_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('placement_version', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=False),
    sa.Column('from_pool', sa.String(length=200), nullable=True),
    sa.Column('to_pool', sa.String(length=200), nullable=True),
    sa.Column('replicas', sa.Integer(), nullable=False),
    sa.Column('start_usd', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['placement_version'], ['placements.version'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('placement_moves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_moves_placement_version'), ['placement_version'], unique=False)

    op.create_table('placement_replicas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('placement_version', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=False),
    sa.Column('pool', sa.String(length=200), nullable=False),
    sa.Column('replicas', sa.Integer(), nullable=False),
    sa.Column('chips', sa.Integer(), nullable=False),
    sa.Column('tokens_per_s', sa.Float(), nullable=False),
    sa.Column('routing_weight', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['placement_version'], ['placements.version'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('placement_replicas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_replicas_placement_version'), ['placement_version'], unique=False)

    op.create_table('placement_tiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('placement_version', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=False),
    sa.Column('tier', sa.String(length=200), nullable=False),
    sa.Column('demand_tokens_per_s', sa.Float(), nullable=False),
    sa.Column('served_tokens_per_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['placement_version'], ['placements.version'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('placement_tiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_tiers_placement_version'), ['placement_version'], unique=False)

    op.create_table('run_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('progress', sa.Float(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('run_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_messages_run_id'), ['run_id'], unique=False)
    fleet_state = sa.table("fleet_state", sa.column("id", sa.Integer), sa.column("demand_factors", sa.JSON),
                           sa.column("version", sa.Integer), sa.column("updated_at", sa.DateTime))
    op.bulk_insert(fleet_state, [{"id": 1, "demand_factors": {}, "version": 1,
                                  "updated_at": datetime.now(UTC).replace(tzinfo=None)}])


def downgrade() -> None:
    with op.batch_alter_table('run_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_messages_run_id'))

    op.drop_table('run_messages')
    with op.batch_alter_table('placement_tiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_tiers_placement_version'))

    op.drop_table('placement_tiers')
    with op.batch_alter_table('placement_replicas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_replicas_placement_version'))

    op.drop_table('placement_replicas')
    with op.batch_alter_table('placement_moves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_moves_placement_version'))

    op.drop_table('placement_moves')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_status')

    op.drop_table('runs')
    op.drop_table('placements')
    op.drop_table('fleet_state')
    op.drop_table('tokens')
    with op.batch_alter_table('scenario_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenario_versions_name'))

    op.drop_table('scenario_versions')
    op.drop_table('pools')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_open')

    op.drop_table('incidents')
    op.drop_table('events')
    op.drop_table('audit')
