"""How the service is reached: over plain http, cookies lose Secure and HSTS is left out, so a start-up on a
network address without TLS is logged as a warning (docs/security.md, "Deploying behind TLS")."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from core.config import TEST_PASSWORD_PROFILE, Settings
from web.app import create_app
from web.context import AppContext, build_context


def start(
    base_url: str, data_dir: Path, context: AppContext, capsys: pytest.CaptureFixture[str]
) -> list[dict]:
    """Build the app for `base_url` and return the warnings it logged, as JSON lines on standard error."""
    settings = Settings(data_dir=data_dir, base_url=base_url, password_profile=TEST_PASSWORD_PROFILE)
    capsys.readouterr()
    create_app(settings, context=build_context(settings, db=context.db), background_jobs=False, db=context.db)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    return [line for line in lines if line["level"] == "warning"]


@pytest.mark.parametrize(
    "base_url", ["http://kokous.kunta.fi", "http://10.0.0.5:8000", "http://kokous.kunta.fi:443"]
)
async def test_plain_http_on_a_network_address_is_warned_about(
    base_url: str, data_dir: Path, context: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    [warning] = start(base_url, data_dir, context, capsys)

    assert warning["logger"] == "kokous.security"
    assert warning["base_url"] == base_url
    assert "without Secure" in warning["message"]
    assert "no HSTS" in warning["message"]


@pytest.mark.parametrize(
    "base_url",
    [
        "https://kokous.kunta.fi",
        "http://127.0.0.1:8000",
        "http://127.0.1.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    ],
)
async def test_https_or_this_machine_starts_without_a_warning(
    base_url: str, data_dir: Path, context: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    assert start(base_url, data_dir, context, capsys) == []


async def test_over_plain_http_cookies_are_not_secure_and_no_hsts_is_sent(
    data_dir: Path, context: AppContext
) -> None:
    settings = Settings(
        data_dir=data_dir, base_url="http://127.0.0.1:8000", password_profile=TEST_PASSWORD_PROFILE
    )
    app = create_app(
        settings, context=build_context(settings, db=context.db), background_jobs=False, db=context.db
    )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        page = await client.get("/login")

    assert "strict-transport-security" not in page.headers
    assert "Secure" not in page.headers["set-cookie"]
