"""randomisation state: minimisation marginal totals kept incrementally

Revision ID: 0018
Revises: 0016 (the lead re-chains this to the latest revision at merge)
Create Date: 2026-12-02 14:30:00

The table starts empty: the first randomisation of each trial after the upgrade fills it with one recount
(``securebase.trial.randomise``), so an existing store needs no data migration.
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('randomisation_state',
    sa.Column('trial_id', sa.String(length=64), nullable=False),
    sa.Column('allocations', sa.Integer(), nullable=False),
    sa.Column('arms', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_randomisation_state_trial_id_trials')),
    sa.PrimaryKeyConstraint('trial_id', name=op.f('pk_randomisation_state'))
    )


def downgrade() -> None:
    op.drop_table('randomisation_state')
