"""Routes of this module are listed in `routes` (joined in evaluation/urls.py)."""

routes: list = []
