"""indexes for the dashboard, visit lists and screening at scale

Revision ID: 0010
Revises: 0001
Create Date: 2026-12-02 06:30:00
"""
from alembic import op


revision = '0010'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index('ix_participants_trial_site_enrolled', ['trial_id', 'site_code', 'enrolled_on'], unique=False)
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_trial_status_window', ['trial_id', 'status', 'window_opens'], unique=False)
        batch_op.create_index('ix_visits_trial_visit_status', ['trial_id', 'visit_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_trial_visit_status')
        batch_op.drop_index('ix_visits_trial_status_window')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index('ix_participants_trial_site_enrolled')
