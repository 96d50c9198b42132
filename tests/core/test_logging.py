"""Logs are JSON lines and never carry passwords, tokens or cookies."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from core.logging import JsonFormatter
from tests.factories import PASSWORD, make_user
from web.context import AppContext


def test_formatter_writes_json_and_redacts_secret_fields() -> None:
    record = logging.LogRecord("kokous", logging.INFO, __file__, 1, "signed in", None, None)
    record.fields = {"user": "liisa", "access_token": "eyJ.secret", "password": "hunter2", "Cookie": "x"}
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "signed in"
    assert line["user"] == "liisa"
    assert line["access_token"] == line["password"] == line["Cookie"] == "[redacted]"


async def test_a_whole_sign_in_logs_no_secret(
    client: httpx.AsyncClient, context: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    await make_user(context, "liisa")
    caplog.set_level(logging.DEBUG)
    body = (await client.post("/api/auth/login", json={"username": "liisa", "password": PASSWORD})).json()
    tokens = body["tokens"]
    await client.get("/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    logged = "\n".join(r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in logged
