"""The evaluation API's routes (under /api/v1/), joined from one module per concern."""

from . import runs, sets, triage

routes = [*sets.routes, *runs.routes, *triage.routes]
