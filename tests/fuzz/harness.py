"""The fuzzing harness (docs/security.md, "Fuzzing"): schemathesis makes requests for every operation of the
OpenAPI document the app serves, they are sent to the app in-process, as one role at a time, and every answer
is held to the document (CHECKS): no server error, and a status, media type, body and headers it documents.

Cases are generated first, with a fixed seed and no feedback from the answers, so a run sends the same
requests every time; they are then sent on the caller's event loop through httpx, so they share the test's
database connection (on SQLite and on PostgreSQL alike) and everything they change is rolled back with it.
The short run (tests/fuzz) and the long one (bench/fuzz.py) differ only in the number of examples.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auth.models import Role
from core.clock import FixedClock
from tests.factories import api_login, enrol_totp, make_user
from tests.web import public_world
from web.context import AppContext

Operation = APIOperation[Any, Any, Any, Any]
FuzzCase = Case[Any]
SEED = 20261128  # the test clock's first day
SCHEMA_PATH = "/schema/openapi.json"
ROLES = ("anonymous", "member", "secretary", "admin", "auditor")

# Sent after every other operation, so that what they end (the session, the password, the second factor, a
# draft's preparation, an item) is ended only when nothing else of the role's run needs it.
LAST = (  # in this order: first what ends a draft or an item, then what ends the session
    ("POST", "/api/meetings/{meeting_id}/call"),
    ("POST", "/api/meetings/{meeting_id}/cancel"),
    ("POST", "/meetings/{meeting_id}/edit/call"),
    ("POST", "/meetings/{meeting_id}/cancel"),
    ("DELETE", "/api/items/{item_id}"),
    ("DELETE", "/api/attachments/{attachment_id}"),
    ("DELETE", "/api/bodies/{body_id}/members/{membership_id}"),
    ("POST", "/meetings/{meeting_id}/edit/items/{item_id}/remove"),
    ("DELETE", "/api/users/{user_id}/roles/{role}"),
    ("POST", "/api/users/{user_id}/second-factor/reset"),
    ("POST", "/api/auth/enrolment"),
    ("POST", "/api/auth/enrolment/confirm"),
    ("POST", "/account/second-factor/start"),
    ("POST", "/account/second-factor"),
    ("POST", "/api/me/password"),
    ("POST", "/account/password"),
    ("POST", "/logout"),
    ("POST", "/api/auth/logout"),
)


@dataclass(frozen=True, slots=True)
class World:
    """The seeded body (tests/web/public_world.py) and its ids, which path parameters take in turn."""

    ids: dict[str, tuple[object, ...]]
    headers: dict[str, dict[str, str]]  # role -> headers of its requests
    secrets: tuple[str, ...]  # text that no anonymous answer may contain


@dataclass(slots=True)
class Report:
    operations: int = 0
    requests: int = 0
    by_role: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    statuses_by_role: dict[str, dict[int, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, role: str, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        seen = self.statuses_by_role.setdefault(role, {})
        seen[status] = seen.get(status, 0) + 1

    def by_status(self, role: str | None = None) -> str:
        seen = self.statuses if role is None else self.statuses_by_role.get(role, {})
        return ", ".join(f"{status}: {count}" for status, count in sorted(seen.items()))


async def load_schema(client: httpx.AsyncClient) -> Any:
    """The OpenAPI document as the app serves it, fetched on the caller's loop."""
    response = await client.get(SCHEMA_PATH)
    response.raise_for_status()
    return schemathesis.openapi.from_dict(response.json())


def operations(schema: Any) -> list[Operation]:
    found = [result.ok() for result in schema.get_all_operations()]

    def order(op: Operation) -> tuple[int, str, str]:
        key = (op.method.upper(), op.path)
        return (LAST.index(key) + 1 if key in LAST else 0, op.path, op.method)

    return sorted(found, key=order)


def generate(operation: Operation, examples: int, seed_: int = SEED) -> list[FuzzCase]:
    """`examples` cases of the operation (fewer when its inputs have fewer), the same ones every run: half
    fit the document, half break it (a wrong type, a missing field, a value out of range)."""
    if _takes_a_form(operation):
        # A form's fields are all text: what breaks it is rare, and searching for it takes many seconds.
        return _generate(operation, examples, GenerationMode.POSITIVE, seed_)
    positive = _generate(operation, examples - examples // 2, GenerationMode.POSITIVE, seed_)
    return positive + _generate(operation, examples // 2, GenerationMode.NEGATIVE, seed_)


def _takes_a_form(operation: Operation) -> bool:
    body = operation.definition.raw.get("requestBody", {})
    return any(kind != "application/json" for kind in body.get("content", {}))


def _generate(operation: Operation, examples: int, mode: GenerationMode, seed_: int) -> list[FuzzCase]:
    cases: list[FuzzCase] = []
    if examples == 0:
        return cases

    @seed(seed_)
    @settings(
        max_examples=examples,
        database=None,
        derandomize=False,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: FuzzCase) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing of the operation can break the document
        collect()
    return cases[:examples]


async def seed_world(context: AppContext, client: httpx.AsyncClient, clock: FixedClock) -> World:
    """The public world's body, meetings and secrets, an administrator, an auditor, and headers per role."""
    built = await public_world.build(context)
    await _store_files(context, (built.public_attachment, built.secret_attachment))
    await make_user(context, "fuzzadmin", roles=(Role.ADMIN,))
    await make_user(context, "fuzzauditor", roles=(Role.AUDITOR,))
    member = await _user_id(context, "maija")
    secretary_secret = await enrol_totp(context, "sakari")
    admin_secret = await enrol_totp(context, "fuzzadmin")
    auditor_secret = await enrol_totp(context, "fuzzauditor")
    headers = {
        "anonymous": {},
        "member": await api_login(client, "maija"),
        "secretary": await api_login(client, "sakari", secret=secretary_secret, clock=clock),
        "admin": await api_login(client, "fuzzadmin", secret=admin_secret, clock=clock),
        "auditor": await api_login(client, "fuzzauditor", secret=auditor_secret, clock=clock),
    }
    ids: dict[str, tuple[object, ...]] = {
        "body_id": (built.body.id,),
        "slug": (built.body.slug,),
        "meeting_id": (built.draft, built.public, built.closed, built.cancelled),
        "item_id": (built.public_item, built.secret_item, built.partly_item, built.closed_item),
        "attachment_id": (built.public_attachment, built.secret_attachment),
        "user_id": (member, built.secretary),
    }
    return World(ids, headers, public_world.SECRETS)


async def _store_files(context: AppContext, attachment_ids: Sequence[int]) -> None:
    """The public world's attachments name files it never stored; store one so that downloads succeed."""
    from meetings.models import Attachment
    from meetings.storage import attachment_store
    from web.demo import DEMO_PDF

    store = attachment_store(context.settings.data_dir)
    stored = await store.put(
        io.BytesIO(DEMO_PDF), limit=len(DEMO_PDF), filename="f.pdf", declared="application/pdf"
    )
    async with context.db.write() as session:
        for attachment_id in attachment_ids:
            attachment = await session.get(Attachment, attachment_id)
            assert attachment is not None
            attachment.sha256, attachment.size = stored.sha256, stored.size


async def _user_id(context: AppContext, username: str) -> int:
    from auth.queries import user_by_username

    async with context.db.read() as session:
        user = await user_by_username(session, username)
        assert user is not None
        return user.id


def _request(case: FuzzCase, number: int, world: World, base_url: str) -> dict[str, Any]:
    """httpx arguments for the case: every third keeps its generated path parameters, the others take the
    seeded objects' ids in turn, so that handlers get past "not found" to the objects' own rules."""
    sent = case.as_transport_kwargs(base_url=base_url)
    path = case.path_parameters or {}
    if path and number % 3:
        turn = number - number // 3 - 1  # 0, 1, 2 … over the cases that take seeded ids
        values = {
            name: world.ids[name][turn % len(world.ids[name])] if name in world.ids else value
            for name, value in path.items()
        }
        quoted = {name: quote(str(value), safe="") for name, value in values.items()}
        sent["url"] = base_url + case.operation.path.format(**quoted)
    request: dict[str, Any] = {"method": sent["method"], "url": sent["url"], "params": sent.get("params")}
    headers = {k: v for k, v in sent.get("headers", {}).items() if not k.startswith("X-Schemathesis")}
    if sent.get("cookies"):
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in sent["cookies"].items())
    request["headers"] = headers
    if "json" in sent:
        request["json"] = sent["json"]
    elif isinstance(sent.get("data"), bytes | str):
        request["content"] = sent["data"]
    elif "data" in sent:
        request["data"] = sent["data"]
    if "files" in sent:
        request["files"] = sent["files"]
    return request


# Values that broke the API before (docs/security.md, "Fuzzing") and that generation seldom makes: each case
# is also sent with a NUL character after every text, and with every time moved to the calendar's edge.
EDGE_OF_TIME = "0001-01-01T00:00:00+14:00"


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _edged(value: Any, kind: str) -> Any:
    if isinstance(value, dict):
        return {k: _edged(v, kind) for k, v in value.items()}
    if isinstance(value, list):
        return [_edged(v, kind) for v in value]
    if not isinstance(value, str) or (kind == "nul") == _is_time(value):
        return value
    return EDGE_OF_TIME if kind == "time" else value + "\x00"


def _at_the_edges(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The request with a NUL after each text, and with its times at the calendar's edge, where it changes."""
    found = []
    for kind in ("nul", "time"):
        edged = dict(request)
        for key in ("json", "data", "params"):
            if isinstance(request.get(key), dict | list):
                edged[key] = _edged(request[key], kind)
        if edged != request:
            found.append(edged)
    return found


# Every answer, for every role and operation: none is switched off (web/openapi.py makes the document true).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _problems(case: FuzzCase, response: httpx.Response, role: str, world: World) -> list[str]:
    found = []
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        found += [f"{failure.title}: {failure.message}".strip() for failure in group.exceptions]
    if role == "anonymous":
        found += [
            f"an anonymous answer shows {secret!r}" for secret in world.secrets if secret in response.text
        ]
    return found


async def run(
    client: httpx.AsyncClient,
    world: World,
    roles: Sequence[str],
    cases: dict[str, list[FuzzCase]],
) -> Report:
    """Send each operation's cases as each role; `cases` maps "METHOD path" to the generated cases."""
    report = Report(operations=len(cases))
    started = time.perf_counter()
    base_url = str(client.base_url).rstrip("/")
    for role in roles:
        for name, generated in cases.items():
            for number, case in enumerate(generated):
                request = _request(case, number, world, base_url)
                request["headers"] = request["headers"] | world.headers[role]
                for sent in [request, *_at_the_edges(request)]:
                    shown = f"{sent['method']} {sent['url']} {sent.get('params')!r:.200} "
                    shown += f"{sent.get('json', sent.get('data', ''))!r:.300}"
                    report.requests += 1
                    report.by_role[role] = report.by_role.get(role, 0) + 1
                    try:
                        response = await client.request(**sent)
                    except Exception as error:  # the app broke off its answer (e.g. a stream)
                        report.failures.append(f"{role}: {name} -> the app raised {error!r}\n    {shown}")
                        continue
                    report.count(role, response.status_code)
                    report.failures += [
                        f"{role}: {name} -> {response.status_code}: {problem}\n    {shown}"
                        for problem in _problems(case, response, role, world)
                    ]
    report.seconds = time.perf_counter() - started
    return report


def generate_all(schema: Any, examples: int, seed_: int = SEED) -> dict[str, list[FuzzCase]]:
    return {f"{op.method.upper()} {op.path}": generate(op, examples, seed_) for op in operations(schema)}
