from ..exports.conftest import golden  # noqa: F401 - the export fixture project, shared
