"""Every export loads with Hugging Face `datasets` exactly as an ML engineer would load it."""

import pytest

from .test_golden import CASES, export


@pytest.fixture
def load_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    return datasets.load_dataset


@pytest.mark.django_db
def test_every_format_loads_with_datasets(golden, api, tmp_path, load_dataset):
    client = api(golden.users["eve"])
    expected_columns = {
        "trl-messages": {"messages"},
        "trl-prompt-completion": {"prompt", "completion"},
        "openai-chat": {"messages"},
        "trl-preference": {"prompt", "chosen", "rejected"},
        "trl-preference-implicit": {"chosen", "rejected"},
        "openai-dpo": {"input", "preferred_output", "non_preferred_output"},
        "hh-rlhf": {"chosen", "rejected"},
        "trl-kto": {"prompt", "completion", "label"},
        "labelhub": {"work_item_id", "prompt", "candidates", "labels"},
    }
    for i, (kind, query) in enumerate(CASES):
        body = export(client, golden.project, kind, query)
        path = tmp_path / f"{i}.jsonl"
        path.write_bytes(body)
        dataset = load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
        fmt = query.split("&")[0].removeprefix("format=")
        assert dataset.num_rows == body.count(b"\n"), query
        assert expected_columns[fmt] <= set(dataset.column_names), (query, dataset.column_names)
        if "metadata=true" in query:
            assert "metadata" in dataset.column_names
        if fmt == "trl-preference":
            first = dataset[0]
            assert first["chosen"][0]["role"] == "assistant" and first["prompt"][-1]["role"] == "user"
