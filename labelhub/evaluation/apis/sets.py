"""Routes of this module are listed in `routes` (joined in evaluation/apis/__init__.py)."""

routes: list = []
