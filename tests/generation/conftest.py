import pytest

from labelhub.generation import services

from .fake_openai import FakeOpenAI, allow_inference_server


@pytest.fixture
def fake_server(settings, monkeypatch):
    server = FakeOpenAI().start()
    allow_inference_server(settings, monkeypatch, server.host_port)
    yield server
    server.stop()


@pytest.fixture
def make_config(project):
    def make(base_url, **data):
        return services.model_config_create(
            project=project, data={"name": data.pop("name", "fake"), "base_url": base_url, "model": "m", **data}
        )

    return make
