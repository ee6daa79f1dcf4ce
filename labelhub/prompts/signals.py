"""Signals the prompts app sends to the apps above it (which it must not import).

`prompts_imported(project_id)`: sent once an import's prompts are committed (on commit of the
transaction that marks it done). The labeling app queues the work-item sync (labeling/apps.py),
so the new prompts become labeling work; its periodic maintenance task catches up if that fails."""

from django.dispatch import Signal

prompts_imported = Signal()
