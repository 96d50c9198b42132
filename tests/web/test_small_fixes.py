"""Small things a person stumbled on: attachments' headers, the recovery codes page when signed in."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from web.routes import attachments


def headers_for(content_type: str) -> dict[str, str]:
    attachment: Any = SimpleNamespace(
        filename="liite", content_type=content_type, sha256="0" * 64, is_public=True, removed_at=None
    )
    item: Any = SimpleNamespace(publicity="public")
    meeting: Any = SimpleNamespace(is_public=True, status="called", body_id=1, call_sent_at=1)
    return attachments.download_headers(attachment, item, meeting)


def test_only_pdfs_open_inline_and_every_file_is_sandboxed() -> None:
    pdf = headers_for("application/pdf")
    assert pdf["content-disposition"].startswith("inline;")
    for other in (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "image/png",
        "text/html",
    ):
        assert headers_for(other)["content-disposition"].startswith("attachment;"), other
    for shown in (pdf, headers_for("image/png")):
        assert shown["x-content-type-options"] == "nosniff"
        assert shown["content-security-policy"].startswith("sandbox;")
        assert "default-src 'none'" in shown["content-security-policy"]
