"""Checking a copy of signed minutes for anyone, the same for the API and the page: the uploaded file (the
request body, or the multipart field `file`) and what the verification found, as plain data."""

from __future__ import annotations

from typing import Any

from core.clock import rfc3339
from core.errors import ValidationFailed
from core.text import translatable
from minutes.verify import TrustAnchors, Verification, verify_bytes
from web.http import Req
from web.limits import MiB
from web.security import app_context
from web.uploads import Collected, multipart_boundary, read_upload

NO_FILE = translatable("Choose the PDF or JSON file of the minutes to check.")
VERIFY_MAX = 20 * MiB  # a signed council meeting's PDF is a few MiB (bench/minutes.py)
VERIFY_BODY = VERIFY_MAX + 64 * 1024  # room for the multipart envelope


async def uploaded_copy(request: Req) -> bytes:
    media_type, options = request.content_type
    if media_type != "multipart/form-data":
        return await request.body()
    collected = Collected()  # at most VERIFY_BODY bytes (web.limits)
    form = await read_upload(request.stream(), multipart_boundary(options), collected, fields=frozenset())
    if form.filename is None or not collected.data:
        raise ValidationFailed(NO_FILE, field="file")
    return bytes(collected.data)


async def verified(request: Req, data: bytes) -> dict[str, Any]:
    if not data.strip():
        raise ValidationFailed(NO_FILE, field="file")
    anchors = TrustAnchors.load(ca=None, vkey=None, data_dir=app_context(request).settings.data_dir)
    return verification_out(await verify_bytes(data, anchors))


def verification_out(found: Verification) -> dict[str, Any]:
    return {
        "kind": found.kind,
        "verdict": found.verdict.name.lower(),
        "modified": found.verdict.name == "MODIFIED",
        "signatures": [
            {
                "role": s.role,
                "signer": s.signer,
                "signed_at": rfc3339(s.signed_at) if s.signed_at else None,
                "intact": s.intact,
                "trusted": s.trusted,
                "checkpoint": {"verified": s.checkpoint.verified, "description": s.checkpoint.description},
                "problems": list(s.problems),
            }
            for s in found.signatures
        ],
        "problems": list(found.problems),
    }
