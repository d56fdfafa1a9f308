"""The server's options come from the option table: the job options, the re-run body, the
upload form in OpenAPI; only the rows marked for clients; and the app's routers answer a
wrong method with every method the path has (in-process: no worker starts)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from saywho.config import PipelineConfig
from saywho.errors import ConfigError
from saywho.option_table import OPTIONS
from saywho.server.app import create_app
from saywho.server.options import CLIENT_OPTIONS, OPTION_NAMES, JobOptions, RerunRequest
from saywho.server.settings import ServerSettings

MODELS = ("base", "tiny.en")
JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data = tmp_path_factory.mktemp("options-app")
    return create_app(ServerSettings(data_dir=data, voices_path=data / "voices.sqlite3"), None)


def test_clients_set_only_the_marked_options() -> None:
    marked = [option.name for option in OPTIONS if option.client]
    assert list(OPTION_NAMES) == marked
    assert set(marked) == {
        *("model", "language", "num_speakers", "min_speakers", "max_speakers", "diarize")
    }
    for option in OPTIONS:
        if not option.client:
            with pytest.raises(ConfigError, match=f"unknown option '{option.name}'"):
                JobOptions.parse({option.name: "1"}, MODELS)


def test_request_model_and_form_fields_are_the_table(app: FastAPI) -> None:
    fields = RerunRequest.model_fields
    assert list(fields) == list(OPTION_NAMES)
    for option in CLIENT_OPTIONS:
        assert fields[option.name].annotation == option.hint | None, option.name
        assert fields[option.name].default is None
    schema = app.openapi()
    form = schema["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]
    properties = form["schema"]["properties"]
    rerun = schema["components"]["schemas"]["RerunRequest"]["properties"]
    assert list(properties) == ["files", *OPTION_NAMES]
    assert list(rerun) == list(OPTION_NAMES)
    for option in CLIENT_OPTIONS:
        field = properties[option.name]
        assert field["type"] == JSON_TYPES[option.kind] and field["description"] == option.client
        assert field.get("minimum") == option.minimum and field.get("maximum") == option.maximum
        kinds = [variant.get("type") for variant in rerun[option.name]["anyOf"]]
        assert kinds == [JSON_TYPES[option.kind], "null"], option.name
    assert properties["model"]["enum"] == list(MODELS)
    assert rerun["model"]["anyOf"][0]["enum"] == list(MODELS)


def test_form_values_are_converted_by_the_fields_type() -> None:
    values: dict[str, Any] = {
        "model": " tiny.en ",
        "language": "de",
        "num_speakers": "3",
        "min_speakers": "2",
        "max_speakers": "4",
        "diarize": "yes",
    }
    assert set(values) == set(OPTION_NAMES)
    options = JobOptions.parse(values, MODELS)
    assert options.public() == {
        "model": "tiny.en",
        "language": "de",
        "num_speakers": 3,
        "min_speakers": 2,
        "max_speakers": 4,
        "diarize": True,
    }
    config = options.config(PipelineConfig())
    for option in CLIENT_OPTIONS:
        expected = options.public()[option.name]
        assert getattr(getattr(config, option.stage), option.field) == expected, option.name
    for bad, message in [
        ({"max_speakers": "33"}, "max_speakers must be a whole number from 1 to 32"),
        ({"diarize": 1}, "diarize must be true or false"),
        ({"language": 5}, "language must be a short text"),
        ({"language": "x" * 101}, "language must be a short text"),
    ]:
        with pytest.raises(ConfigError, match=message):
            JobOptions.parse(bad, MODELS)


def test_a_wrong_method_is_told_every_method_of_the_path(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 5000))
    for method, path, allow in [
        ("PUT", "/v1/jobs", "GET, POST"),  # two routes of one router
        ("PUT", "/v1/jobs/abc", "DELETE, GET"),
        ("GET", "/v1/voices/x", "DELETE, PATCH"),  # another router
        ("POST", "/", "GET"),  # a page
        ("POST", "/v1/openapi.json", "GET, HEAD"),  # the app's own
    ]:
        answer = client.request(method, path)
        assert (answer.status_code, answer.headers.get("allow")) == (405, allow), (method, path)


def test_job_options_keep_unset_as_none() -> None:
    options = JobOptions(num_speakers=2, language=None)
    assert options == JobOptions(num_speakers=2)
    assert options.num_speakers == 2 and options.model is None
    assert options.public()["language"] is None
    with pytest.raises(AttributeError):
        _ = options.threads
    with pytest.raises(ConfigError, match="unknown option 'threads'"):
        JobOptions(threads=2)
