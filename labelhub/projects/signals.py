"""Signals the projects app sends to the apps above it (which it must not import).

`labeling_right_lost(project, user_id)`: sent inside the transaction that removes a member or gives
them a role that does not label. The labeling app ends their live leases at once (labeling/apps.py)."""

from django.dispatch import Signal

labeling_right_lost = Signal()
