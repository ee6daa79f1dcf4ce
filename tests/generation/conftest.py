import pytest

from labelhub.generation import services


@pytest.fixture
def make_config(project):
    def make(base_url, **data):
        return services.model_config_create(
            project=project, data={"name": data.pop("name", "fake"), "base_url": base_url, "model": "m", **data}
        )

    return make
