"""Signals the labeling app sends to the apps above it (which it must not import).

`comparison_item_completed(work_item_id)`: sent inside the submit transaction when a comparison
label fills the last slot of its item (its labels now number its overlap). Quality control checks
whether the labels agree and asks for another label or a reviewer (connected in quality/apps.py,
quality.services.item_check_disagreement_on_completed); a receiver that raises rolls the submit back.
`origin` (the item's WorkItem.origin, already loaded: no query) lets evaluation tell its items apart
(evaluation/apps.py advances the item's run after commit)."""

from django.dispatch import Signal

comparison_item_completed = Signal()
