"""The OpenAPI schema as it should be: what FastAPI cannot infer from the routes.

The multipart body of ``POST /v1/jobs`` (parsed as a stream, not by FastAPI), the error
answers of each operation, those of the guard in front of all of them, and the models this
server offers. schemathesis checks that the schema and the answers agree
(``tests/server/test_schema.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute, Route

from saywho.server.guard import PUBLIC
from saywho.server.options import form_fields

__all__ = ["ErrorBody", "allowed_methods", "errors", "truthful_openapi", "upload_schema"]


class ErrorBody(BaseModel):
    """Every error answer: what is wrong, for a person to read."""

    detail: str | list[dict[str, Any]] = Field(
        description="the reason (a list of problems when the request does not fit the schema)"
    )


_ERRORS = {
    400: "a malformed request (body, form or Host header)",
    401: "the API token is missing or wrong",
    403: "a cross-site request from a browser",
    404: "no such job, speaker or voice",
    409: "the job has no result (yet): it is queued, running or failed",
    413: "the upload is larger than this server's limit",
    415: "not multipart/form-data, or a file that is not audio or video we can decode",
    422: "a field or option that is not valid",
    429: "too many requests from this client, or the job queue is full",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error ``statuses`` an operation can answer."""
    return {status: {"model": ErrorBody, "description": _ERRORS[status]} for status in statuses}


def upload_schema(models: tuple[str, ...]) -> dict[str, Any]:
    """The multipart body of ``POST /v1/jobs`` (FastAPI cannot infer it: we parse the stream)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["files"],
                        "properties": {
                            "files": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "string", "format": "binary"},
                                "description": "one or more audio or video files (one job each)",
                            },
                            **form_fields(models),
                        },
                        "additionalProperties": False,
                    }
                }
            },
        }
    }


_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def truthful_openapi(app: FastAPI, models: tuple[str, ...]) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` that also lists the answers of the guard in front of every operation:
    400 (a Host the server does not answer to), 429 (rate limit), 401 (token) where a token
    can be required, 403 (cross-site) on the operations that change something; and names
    the models this server offers where a request can choose one."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        rerun = schema["components"]["schemas"]["RerunRequest"]["properties"]
        rerun["model"]["anyOf"] = [{"type": "string", "enum": list(models)}, {"type": "null"}]
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                statuses = [400, 429]
                if path not in PUBLIC:
                    statuses.append(401)
                if method.upper() not in _SAFE_METHODS:
                    statuses.append(403)
                for status, response in errors(*statuses).items():
                    operation["responses"].setdefault(
                        str(status),
                        {
                            "description": response["description"],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorBody"}
                                }
                            },
                        },
                    )
        return schema

    return openapi


def allowed_methods(routes: Iterable[BaseRoute], path: str) -> list[str]:
    """Every method some route of ``routes`` answers at ``path`` (for ``Allow`` on a 405).

    ``routes``: the app's own and those of every router it includes, without a prefix (an
    app may keep an included router as one entry of its ``routes``).
    """
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods.update(route.methods)
    return sorted(methods)
