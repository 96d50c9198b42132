"""The OpenAPI document (web/openapi.py) says what the app answers: the refusals each route's metadata
implies, one error body, files and pages by their media types, closed lists as enums (docs/security.md,
"Fuzzing")."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from tests.factories import api_login, make_user
from web.context import AppContext
from web.schemas import Error

Document = dict[str, Any]


@pytest.fixture
async def document(client: httpx.AsyncClient) -> Document:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    found: Document = response.json()
    return found


def operation(document: Document, method: str, path: str) -> Document:
    found: Document = document["paths"][path][method.lower()]
    return found


def statuses(document: Document, method: str, path: str) -> set[str]:
    return set(operation(document, method, path)["responses"])


def every_operation(document: Document) -> list[tuple[str, str, Document]]:
    return [(m.upper(), p, op) for p, item in document["paths"].items() for m, op in item.items()]


def test_every_refusal_has_the_one_error_body(document: Document) -> None:
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "status"}
    for method, path, op in every_operation(document):
        for status, response in op["responses"].items():
            if status.startswith("4"):
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_statuses_follow_from_the_route(document: Document) -> None:
    # A guarded route refuses strangers; a path with an id can miss; a change can conflict or be too large.
    assert {"401", "403", "404", "409", "413", "422"} <= statuses(
        document, "PUT", "/api/meetings/{meeting_id}"
    )
    assert {"401", "403"} <= statuses(document, "GET", "/api/audit/entries")
    assert "404" not in statuses(document, "GET", "/api/audit/entries")
    assert statuses(document, "GET", "/health") == {"200"}  # no parameters, no guard: nothing to refuse
    assert "415" in statuses(document, "POST", "/api/items/{item_id}/attachments")  # an upload
    assert "415" not in statuses(document, "PUT", "/api/items/{item_id}")


def test_throttled_routes_say_when_to_retry(document: Document) -> None:
    for method, path in (("POST", "/api/auth/login"), ("POST", "/api/me/password"), ("POST", "/login")):
        throttled = operation(document, method, path)["responses"]["429"]
        assert throttled["headers"]["Retry-After"]["required"] is True, path


def test_pages_answer_html_and_forms_send_the_browser_on(document: Document) -> None:
    page = operation(document, "GET", "/meetings/{meeting_id}")["responses"]
    assert set(page["200"]["content"]) == {"text/html"}
    form = operation(document, "POST", "/meetings/{meeting_id}/edit")["responses"]
    assert "201" not in form  # Litestar's default for a POST, which a form never answers
    assert form["303"]["headers"]["Location"]["required"] is True
    assert set(form["422"]["content"]) == {"application/json", "text/html"}  # the form again, for a browser


def test_files_carry_their_media_types(document: Document) -> None:
    def types(method: str, path: str) -> set[str]:
        return set(operation(document, method, path)["responses"]["200"]["content"])

    assert {"application/pdf", "image/png", "text/csv"} <= types("GET", "/api/attachments/{attachment_id}")
    assert types("GET", "/bodies/{slug}/feed.atom") == {"application/atom+xml"}
    assert types("GET", "/public/minutes/{minutes_id}/minutes.pdf") == {"application/pdf"}
    assert types("GET", "/api/audit/export") == {"application/x-ndjson"}
    assert "304" in statuses(document, "GET", "/api/attachments/{attachment_id}")


def test_closed_lists_are_enums_and_bodies_refuse_unknown_fields(document: Document) -> None:
    schemas = document["components"]["schemas"]
    body = operation(document, "POST", "/api/bodies/{body_id}/meetings")["requestBody"]
    meeting = schemas[body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert meeting["additionalProperties"] is False
    mode = meeting["properties"]["mode"]
    mode = schemas[mode["$ref"].rsplit("/", 1)[-1]] if "$ref" in mode else mode
    assert set(mode["enum"]) == {"in_person", "electronic", "hybrid"}


async def test_a_word_outside_a_closed_list_is_a_422_naming_the_field(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "maija")
    headers = await api_login(client, "maija")
    response = await client.post(
        "/api/meetings/1/live/items/1/floor", json={"kind": "shout"}, headers=headers
    )
    assert response.status_code == 422
    refusal = msgspec.json.decode(response.content, type=Error)
    assert refusal == Error("kind must be one of: speech, reply.", 422, field="kind")


async def test_refusals_fit_the_error_body(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/api/me"),  # 401
        await client.get("/api/meetings/99999"),  # 404
        await client.post("/api/auth/login", json={"username": 1}),  # 400
    ):
        assert response.status_code >= 400
        assert msgspec.json.decode(response.content, type=Error).status == response.status_code
