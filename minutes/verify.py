"""Checking a copy of the minutes without the server: `kokous minutes verify FILE` (DESIGN.md §8).

For a PDF or a signed JSON file: who signed, when and in what role; whether anything signed changed; whether
each certificate chains to the municipality's CA; whether each embedded audit checkpoint is signed by the
audit key. The trust anchors come from outside the file: the CA certificate and the audit verifier key that
the municipality publishes (`<data dir>/public/`, docs/minutes.md). What a check finds is in minutes.findings.
"""

from __future__ import annotations

from minutes.findings import TrustAnchors, Verdict, Verification, file_kind
from minutes.verify_json import verify_json
from minutes.verify_pdf import verify_pdf

__all__ = ["TrustAnchors", "Verdict", "Verification", "verify_bytes"]


async def verify_bytes(data: bytes, anchors: TrustAnchors) -> Verification:
    """A signed minutes PDF or JSON file, told apart by its first bytes."""
    if file_kind(data) == "PDF":
        return await verify_pdf(data, anchors)
    return verify_json(data, anchors)
