"""gunicorn's logs, redacted: `--logger-class=labelhub.core.gunicorn_logging.RedactingLogger`.

gunicorn formats its access lines itself (the request line, query string, Referer and any `%({…}i)s`
header), outside Django's logging and its RedactSecretsFilter, and `--access-logformat` cannot redact.
This logger masks credentials (core/logging.py `redact`) in every text atom before formatting, and
puts the filter on gunicorn's error log too ("Error handling request /path?token=…").
"""

from gunicorn.glogging import Logger

from .logging import RedactSecretsFilter, redact


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecretsFilter) for f in log.filters):
                log.addFilter(RedactSecretsFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
