"""Signals generation sends to the apps above it (which it must not import).

`job_finished(job_id)`: sent by the generation task after a job ended done or failed (after
its commit, outside any transaction), with send_robust: a receiver's error is logged, never the job's.
Evaluation advances the runs that wait on the job's batch (connected in evaluation/apps.py)."""

from django.dispatch import Signal

job_finished = Signal()
