"""docs/access.md holds the capability × role table exactly as meetings.access.GRANTS decides it."""

from __future__ import annotations

from pathlib import Path

from meetings.access import GRANTS, Capability, Viewer
from meetings.models import MemberRole

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"


def table() -> str:
    roles = list(MemberRole)
    lines = [
        "| capability | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for capability in Capability:
        marks = " | ".join("yes" if role in GRANTS[capability] else "" for role in roles)
        lines.append(f"| `{capability.value}` | {marks} |")
    return "\n".join(lines)


def test_the_document_shows_the_code_s_table() -> None:
    assert table() in DOC.read_text(), f"docs/access.md must contain this table:\n\n{table()}\n"


def test_every_capability_is_granted_to_someone() -> None:
    assert set(GRANTS) == set(Capability)
    assert all(GRANTS.values())


def test_a_viewer_has_a_capability_only_in_the_body_where_they_hold_the_role() -> None:
    chair = Viewer(user_id=1, body_roles={5: frozenset({MemberRole.CHAIR})})
    assert chair.can(Capability.SEND_CALL, 5)
    assert not chair.can(Capability.SEND_CALL, 6)
    secretary = Viewer(user_id=2, body_roles={5: frozenset({MemberRole.SECRETARY})})
    assert secretary.can(Capability.PREPARE, 5)
    assert not secretary.can(Capability.SEND_CALL, 5)  # R-CALL-1/5: the chair issues the call
    assert not Viewer().can(Capability.READ, 5)
