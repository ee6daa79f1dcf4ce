"""A secret shown once after a POST/redirect/GET: the POST stashes it in the session, the next GET of
the result page takes it out (a reload shows it no more, and never repeats the POST)."""


def stash(request, key: str, value) -> None:
    request.session[f"once:{key}"] = value


def take(request, key: str):
    return request.session.pop(f"once:{key}", None)
