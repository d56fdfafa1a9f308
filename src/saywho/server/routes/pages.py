"""The web page, the offline API docs, their static files, the review page of a job, and
the login that keeps the API token in a cookie for them."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from saywho.formats.palette import PALETTE_SIZE, UNKNOWN_COLOUR, speaker_colour
from saywho.server.guard import COOKIE
from saywho.server.review import review_page
from saywho.server.schema import errors
from saywho.server.security import TokenCheck
from saywho.server.service import JobService

__all__ = ["router"]

# Our pages load only our own scripts, styles and data, and no other site may frame them.
_PAGES = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_SERVED = (
    *("app.js", "style.css", "docs.js", "favicon.svg"),
    *("live.js", "live-worklet.js", "live.css"),
)
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200)


def router(service: JobService, token: TokenCheck | None) -> APIRouter:
    """The pages' routes; ``token`` checks API tokens (None: no token exists)."""
    pages = APIRouter()

    @pages.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(_static("index.html"), headers={"Content-Security-Policy": _PAGES})

    @pages.get("/live", include_in_schema=False)
    def live() -> HTMLResponse:
        return HTMLResponse(_static("live.html"), headers={"Content-Security-Policy": _PAGES})

    @pages.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_static("docs.html"), headers={"Content-Security-Policy": _PAGES})

    @pages.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in _SERVED:
            raise HTTPException(404, "no such file")
        media_type = _STATIC_TYPES[Path(name).suffix] + "; charset=utf-8"
        return Response(_static(name), media_type=media_type)

    @pages.get("/jobs/{job_id}", include_in_schema=False)
    def review(job_id: str) -> HTMLResponse:
        job = service.done(job_id)
        # The page's own policy (a <meta>) limits scripts and styles to its inline ones;
        # frame-ancestors only works as a header.
        return HTMLResponse(
            review_page(service.transcript(job), job.id, job.media_type),
            headers={"Content-Security-Policy": "frame-ancestors 'none'"},
        )

    @pages.post(
        "/v1/login",
        summary="Check the API token and keep it in a cookie for the page",
        responses=errors(401, 422),
    )
    def login(body: LoginRequest, response: Response) -> dict[str, bool]:
        if token is None or not token.accepts(body.token):
            raise HTTPException(401, "wrong API token")
        response.set_cookie(COOKIE, body.token, httponly=True, samesite="strict")
        return {"ok": True}

    return pages


def _static(name: str) -> str:
    if name == "favicon.svg":  # the review page's icon, shared
        return _review_asset(name)
    text = (files("saywho.server") / "static" / name).read_text(encoding="utf-8")
    if name == "live.css":  # the speakers' colours, those of the review page and documents
        colours = [f".spk-{i} {{ --c: {speaker_colour(i)}; }}" for i in range(PALETTE_SIZE)]
        return "\n".join([text, *colours, f".spk-unknown {{ --c: {UNKNOWN_COLOUR}; }}\n"])
    return _review_asset("palette.css") + text if name == "style.css" else text


def _review_asset(name: str) -> str:
    """A file of the review page (formats/review) that our pages share."""
    return (files("saywho.formats") / "review" / name).read_text(encoding="utf-8")
