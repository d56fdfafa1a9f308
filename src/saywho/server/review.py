"""The result page of a job: the interactive review page of ``saywho.formats.html``.

The page plays the job's media from the server and sends renames and "remember this voice"
to the job's endpoints. The browser's cookie carries the API token, so none is embedded.
"""

from __future__ import annotations

from saywho.formats.html import ReviewApi, render_review
from saywho.types import Transcript

__all__ = ["review_page"]


def review_page(transcript: Transcript, job_id: str, media_type: str) -> str:
    """The review page of job ``job_id`` (whose media has ``media_type``)."""
    api = ReviewApi(rename_url=f"/v1/jobs/{job_id}/rename", enroll_url=f"/v1/jobs/{job_id}/enroll")
    return render_review(
        transcript, media_src=f"/v1/jobs/{job_id}/media", media_type=media_type, api=api
    )
