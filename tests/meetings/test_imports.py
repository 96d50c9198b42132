"""Reading and checking a member file: encodings, separators, dates, role words and every kind of bad row."""

from __future__ import annotations

import codecs
from datetime import date

import pytest
from sqlalchemy import select

from audit.models import AuditAction
from auth.models import Role, User
from core.errors import ValidationFailed
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.imports import (
    MAX_BYTES,
    MAX_ROWS,
    HeldRole,
    KnownUser,
    MemberRow,
    Plan,
    Rejection,
    Roster,
    check_sheet,
    decode,
    do_import_members,
    parse_date,
    read_sheet,
)
from meetings.models import MemberRole, Membership
from tests.factories import audit_entries, make_user
from web.context import AppContext

HEADER = "username;name;email;role;term_start;term_end;deputy_for;title"
EMPTY = Roster(seats=9, users={}, held=())


def check(*rows: str, roster: Roster = EMPTY, header: str = HEADER) -> Plan:
    return check_sheet(read_sheet("\n".join((header, *rows)).encode()), roster)


def rejected(*rows: str, roster: Roster = EMPTY, header: str = HEADER) -> list[tuple[int, str, str]]:
    return [(r.row, r.field, r.message) for r in check(*rows, roster=roster, header=header).rejections]


def seated(username: str, role: str = "member", membership_id: int = 50) -> HeldRole:
    return HeldRole(membership_id, username, role, date(2025, 6, 1), date(2029, 5, 31))


# ---- good files ----------------------------------------------------------------------------------


def test_a_good_file_becomes_rows_in_file_order() -> None:
    plan = check(
        "liisa;Liisa Korhonen;liisa@kunta.test;jäsen;1.6.2025;31.5.2029;;",
        "Pekka;Pekka Puupää;;varajäsen;2025-06-01;;liisa;",
        "liisa;Liisa Korhonen;;puheenjohtaja;1.6.2025;;;",
        "sanna;Sanna Sihteeri;sanna@kunta.test;secretary;01.06.2025;;;hallintojohtaja",
    )
    assert plan.rejections == ()
    assert plan.rows == (
        MemberRow(
            2,
            "liisa",
            "Liisa Korhonen",
            "liisa@kunta.test",
            MemberRole.MEMBER,
            date(2025, 6, 1),
            date(2029, 5, 31),
            None,
        ),
        MemberRow(
            3,
            "pekka",
            "Pekka Puupää",
            None,
            MemberRole.DEPUTY,
            date(2025, 6, 1),
            None,
            "liisa",
            deputy_for_row=2,
        ),
        MemberRow(4, "liisa", "Liisa Korhonen", None, MemberRole.CHAIR, date(2025, 6, 1), None, None),
        MemberRow(
            5,
            "sanna",
            "Sanna Sihteeri",
            "sanna@kunta.test",
            MemberRole.SECRETARY,
            date(2025, 6, 1),
            None,
            None,
            "hallintojohtaja",
        ),
    )


def test_optional_columns_may_be_left_out_and_headers_are_forgiving() -> None:
    plan = check("aino,Aino Ässä,member,2025-06-01", header=" Username ,NAME,Role,Term-Start")
    assert plan.rejections == ()
    assert plan.rows[0].username == "aino"
    assert plan.rows[0].email is None


def test_blank_rows_are_skipped_but_keep_the_row_numbers() -> None:
    plan = check(
        "",
        "aino;Aino;member;2025-06-01",
        ";;;",
        "bo;Bo;deputy;2025-06-01",
        header="username;name;role;term_start",
    )
    assert [r.row for r in plan.rows] == [3, 5]
    assert read_sheet(b"username;name;role;term_start\n\naino;Aino;member;2025-06-01\n").records[0].row == 3


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("member", MemberRole.MEMBER),
        ("Jäsen", MemberRole.MEMBER),
        ("ledamot", MemberRole.MEMBER),
        ("deputy", MemberRole.DEPUTY),
        ("varajäsen", MemberRole.DEPUTY),
        ("ersättare", MemberRole.DEPUTY),
        ("chair", MemberRole.CHAIR),
        ("puheenjohtaja", MemberRole.CHAIR),
        ("ordförande", MemberRole.CHAIR),
        ("vice_chair", MemberRole.VICE_CHAIR),
        ("vice-chair", MemberRole.VICE_CHAIR),
        ("varapuheenjohtaja", MemberRole.VICE_CHAIR),
        ("Vice ordförande", MemberRole.VICE_CHAIR),
        ("secretary", MemberRole.SECRETARY),
        ("sihteeri", MemberRole.SECRETARY),
        ("sekreterare", MemberRole.SECRETARY),
        ("presenter", MemberRole.PRESENTER),
        ("esittelijä", MemberRole.PRESENTER),
        ("föredragande", MemberRole.PRESENTER),
        ("attendee", MemberRole.ATTENDEE),
        ("läsnäolo-oikeus", MemberRole.ATTENDEE),
        ("närvarorätt", MemberRole.ATTENDEE),
    ],
)
def test_role_words_in_english_finnish_and_swedish(word: str, role: MemberRole) -> None:
    plan = check(f"aino;Aino;;{word};1.6.2025;;;")
    assert plan.rejections == ()
    assert plan.rows[0].role == role


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-01", date(2025, 6, 1)),
        ("1.6.2025", date(2025, 6, 1)),
        ("01.06.2025", date(2025, 6, 1)),
        ("29.2.2028", date(2028, 2, 29)),
        ("31.2.2027", None),
        ("29.2.2027", None),
        ("2027-02-31", None),
        ("1.6.25", None),
        ("6/1/2025", None),
        ("20250601", None),
        ("1.6.2025.", None),
    ],
)
def test_dates_are_iso_or_finnish(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


# ---- encodings and separators ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("aino;Aino Ässä".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "aino;Aino Ässä".encode(), "utf-8-sig"),
        ("aino;Aino Ässä".encode("cp1252"), "windows-1252"),
        ("aino;Aino Ässä €".encode("cp1252"), "windows-1252"),
        (b"aino;Aino \xc4ss\xe4 \x81", "iso-8859-1"),  # 0x81 is unassigned in Windows-1252
    ],
)
def test_utf8_with_or_without_bom_else_windows_1252(data: bytes, encoding: str) -> None:
    text, found = decode(data)
    assert found == encoding
    assert text.startswith("aino;Aino Ässä")


def test_a_latin1_file_with_semicolons_as_finnish_excel_saves_it() -> None:
    data = "username;name;role;term_start\r\nöberg;Bertil Öberg;jäsen;1.6.2025\r\n".encode("cp1252")
    sheet = read_sheet(data)
    assert (sheet.encoding, sheet.delimiter) == ("windows-1252", ";")
    plan = check_sheet(sheet, EMPTY)
    assert plan.rejections == ()
    assert plan.rows[0].username == "öberg"
    assert plan.rows[0].name == "Bertil Öberg"


def test_a_bom_is_not_part_of_the_first_column_name() -> None:
    sheet = read_sheet(codecs.BOM_UTF8 + b"username,name,role,term_start\naino,Aino,member,2025-06-01\n")
    assert sheet.header.cells[0] == "username"
    assert check_sheet(sheet, EMPTY).rejections == ()


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("username;name;role", ";"), ("username,name,role", ","), ("username\tname\trole", "\t")],
)
def test_the_separator_is_read_from_the_header(header: str, delimiter: str) -> None:
    assert read_sheet(f"{header}\nx;y,z\n".encode()).delimiter == delimiter


def test_quoted_cells_keep_their_separators_and_newlines() -> None:
    plan = check('aino;"Ässä; Aino";;member;2025-06-01;;;"puheenjohtaja,\nvaltuusto"')
    assert plan.rows[0].name == "Ässä; Aino"
    assert plan.rows[0].title == "puheenjohtaja,\nvaltuusto"


def test_decomposed_letters_from_a_mac_are_composed() -> None:
    plan = check("a\u0308ini;A\u0308ini;;ja\u0308sen;2025-06-01;;;")
    assert plan.rows[0].username == "äini"
    assert plan.rows[0].role == MemberRole.MEMBER


# ---- files that cannot be read as a whole ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x" * (MAX_BYTES + 1), f"The file is {MAX_BYTES + 1} bytes; at most {MAX_BYTES} bytes"),
        (
            b"username;name;role;term_start\n" + b"a;A;member;2025-06-01\n" * (MAX_ROWS + 1),
            "2001 rows; at most 2000",
        ),
        (b"", "The file is empty"),
        (b"\n;;;\n", "The file is empty"),
        (b"username;name;role;term_start\n", "a header row but no members"),
        (codecs.BOM_UTF16_LE + "username".encode("utf-16-le"), "The file is UTF-16"),
        (codecs.BOM_UTF8 + b"username;name\n\xe4", "byte 17 is not UTF-8"),
    ],
)
def test_whole_file_problems_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as caught:
        read_sheet(data)
    assert caught.value.field == "file"


def test_a_file_of_the_largest_size_and_row_count_is_read() -> None:
    rows = b"username;name;role;term_start\n" + b"a;A;member;2025-06-01\n" * MAX_ROWS
    assert len(read_sheet(rows).records) == MAX_ROWS
    padded = b"username;name;role;term_start\na;A;member;2025-06-01\n"
    assert len(read_sheet(padded + b"\n" * (MAX_BYTES - len(padded))).records) == 1


# ---- bad headers and bad rows --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("username;name;role", [(1, "term_start", "the column term_start is missing")]),
        (
            "username;name;role;term_start;phone",
            [
                (
                    1,
                    "phone",
                    "unknown column phone; known: " + "username, name, role, term_start, email, "
                    "term_end, deputy_for, title",
                )
            ],
        ),
        ("username;name;role;term_start;Name", [(1, "name", "the column name appears twice")]),
        (
            "aino;Aino;member;2025-06-01",
            [
                (
                    1,
                    "",
                    "the first row must name the columns: username, name, role, term_start, email, "
                    "term_end, deputy_for, title",
                )
            ],
        ),
    ],
)
def test_header_problems_are_reported_on_row_1_and_rows_are_not_checked(
    header: str, expected: list[tuple[int, str, str]]
) -> None:
    assert rejected("aino;;;", header=header) == expected


NOT_A_DATE = "is not a date; write it as 1.8.2025 or 2025-08-01"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (";Aino;;member;1.6.2025;;;", "username", "username is empty"),
        (
            "aino k;Aino;;member;1.6.2025;;;",
            "username",
            "username aino k may only have letters, digits, dots, dashes and underscores",
        ),
        ("a" * 65 + ";Aino;;member;1.6.2025;;;", "username", "may only have letters"),
        ("aino;;;member;1.6.2025;;;", "name", "name is empty"),
        (
            "aino;" + "A" * 201 + ";;member;1.6.2025;;;",
            "name",
            "name is 201 characters long; at most 200 fit",
        ),
        (
            "aino;Aino;aino.kunta.test;member;1.6.2025;;;",
            "email",
            "email 'aino.kunta.test' is not one e-mail",
        ),
        ("aino;Aino;a@x.fi, b@y.fi;member;1.6.2025;;;", "email", "email 'a@x.fi, b@y.fi' is not one e-mail"),
        ("aino;Aino;Aino <a@x.fi>;member;1.6.2025;;;", "email", "email 'Aino <a@x.fi>' is not one e-mail"),
        (
            'aino;Aino;"a@x.fi\r\nBcc: b@y.fi";member;1.6.2025;;;',
            "email",
            "email 'a@x.fi\\r\\nBcc: b@y.fi' is not one e-mail",
        ),
        (
            "aino;Aino;;boss;1.6.2025;;;",
            "role",
            "role boss is not a role; use one of member, deputy, chair, vice_chair, secretary, presenter, "
            "attendee (or the Finnish or Swedish word)",
        ),
        ("aino;Aino;;;1.6.2025;;;", "role", "role is empty"),
        ("aino;Aino;;member;;;;", "term_start", "term_start is empty"),
        ("aino;Aino;;member;1.6.2025;31.2.2027;;", "term_end", f"term_end 31.2.2027 {NOT_A_DATE}"),
        ("aino;Aino;;member;kesäkuu 2025;;;", "term_start", f"term_start kesäkuu 2025 {NOT_A_DATE}"),
        (
            "aino;Aino;;member;1.6.2025;31.5.2025;;",
            "term_end",
            "term_end 2025-05-31 is before term_start 2025-06-01",
        ),
        (
            "aino;Aino;;member;1.6.2025;;bo;",
            "deputy_for",
            "deputy_for is only for a deputy (varajäsen); this row's role is member",
        ),
        ("aino;Aino;;deputy;1.6.2025;;aino;", "deputy_for", "a deputy cannot stand in for themself"),
        (
            "aino;Aino;;member;1.6.2025;;;;extra",
            "",
            "cell 9 has a value but the header row gives its column no name",
        ),
    ],
)
def test_each_kind_of_bad_row_is_named_with_its_field(row: str, field: str, message: str) -> None:
    problems = rejected(row)
    assert len(problems) == 1
    assert problems[0][:2] == (2, field)
    assert message in problems[0][2]


def test_every_bad_row_and_every_bad_field_is_reported() -> None:
    problems = rejected(
        "aino;Aino;;member;1.6.2025;;;",
        ";;;boss;31.2.2027;;;",
        "bo;Bo;;member;1.6.2025;;;",
        "cay;Cay;not-an-address;member;1.6.2025;1.1.2025;;",
    )
    assert [(row, field) for row, field, _ in problems] == [
        (3, "username"),
        (3, "name"),
        (3, "role"),
        (3, "term_start"),
        (5, "email"),
        (5, "term_end"),
    ]


def test_a_rejection_reads_as_a_sentence_about_its_row() -> None:
    assert str(Rejection(7, "term_end", "term_end 31.2.2027 is not a date")) == (
        "row 7: term_end 31.2.2027 is not a date"
    )


# ---- checks across rows and against the body -------------------------------------------------------


def test_the_same_person_in_the_same_role_twice_is_rejected() -> None:
    assert rejected("aino;Aino;;member;1.6.2025;;;", "Aino;Aino;;jäsen;1.6.2027;;;") == [
        (3, "role", "aino is already listed as member in row 2"),
    ]


def test_a_role_the_person_already_holds_in_the_body_is_rejected() -> None:
    roster = Roster(seats=9, users={"aino": KnownUser("aino", "Aino", None)}, held=(seated("aino"),))
    assert rejected("aino;Aino;;member;1.6.2027;;;", "aino;Aino;;chair;1.6.2027;;;", roster=roster) == [
        (2, "role", "aino is already member on 2027-06-01"),
    ]
    assert rejected("aino;Aino;;member;1.6.2029;;;", roster=roster) == []  # the held term has ended by then


def test_a_deputy_stands_in_for_a_seated_member_or_one_listed_earlier() -> None:
    roster = Roster(seats=9, users={}, held=(seated("aino", membership_id=77),))
    plan = check(
        "bo;Bo;;member;1.6.2025;;;",
        "cay;Cay;;deputy;1.6.2025;;aino;",
        "dan;Dan;;deputy;1.6.2025;;bo;",
        roster=roster,
    )
    assert plan.rejections == ()
    assert (plan.rows[1].deputy_for_membership, plan.rows[1].deputy_for_row) == (77, None)
    assert (plan.rows[2].deputy_for_membership, plan.rows[2].deputy_for_row) == (None, 2)


NOT_A_MEMBER = "deputy_for {} is not a member of this body on {}"


@pytest.mark.parametrize(
    ("held", "rows", "expected"),
    [
        ((), ["cay;Cay;;deputy;1.6.2025;;nobody;"], [(2, NOT_A_MEMBER.format("nobody", "2025-06-01"))]),
        (
            (),
            ["cay;Cay;;deputy;1.6.2025;;bo;", "bo;Bo;;member;1.6.2025;;;"],
            [(2, "list bo as member (row 3) before their deputy")],
        ),
        (
            (),
            ["bo;Bo;;chair;1.6.2025;;;", "cay;Cay;;deputy;1.6.2025;;bo;"],
            [(3, NOT_A_MEMBER.format("bo", "2025-06-01"))],
        ),
        (
            (seated("aino"),),
            ["cay;Cay;;deputy;1.6.2030;;aino;"],
            [(2, NOT_A_MEMBER.format("aino", "2030-06-01"))],
        ),
        (
            (seated("aino", "chair"),),
            ["cay;Cay;;deputy;1.6.2025;;aino;"],
            [(2, NOT_A_MEMBER.format("aino", "2025-06-01"))],
        ),
    ],
)
def test_a_deputy_for_nobody_is_rejected(
    held: tuple[HeldRole, ...], rows: list[str], expected: list[tuple[int, str]]
) -> None:
    problems = rejected(*rows, roster=Roster(seats=9, users={}, held=held))
    assert [(row, message) for row, field, message in problems] == expected
    assert {field for _, field, _ in problems} == {"deputy_for"}


def test_a_deputy_whose_member_row_is_rejected_gets_no_second_rejection() -> None:
    assert rejected("bo;Bo;;member;31.2.2025;;;", "cay;Cay;;deputy;1.6.2025;;bo;") == [
        (2, "term_start", "term_start 31.2.2025 is not a date; write it as 1.8.2025 or 2025-08-01"),
    ]


def test_more_members_than_free_seats_are_rejected_row_by_row() -> None:
    roster = Roster(seats=3, users={}, held=(seated("aino"), seated("chair-only", "chair")))
    problems = rejected(
        "bo;Bo;;member;1.6.2025;;;",
        "cay;Cay;;deputy;1.6.2025;;bo;",
        "dan;Dan;;member;1.6.2025;;;",
        "eva;Eva;;member;1.6.2025;;;",
        "fia;Fia;;member;1.6.2025;;;",
        roster=roster,
    )
    message = (
        "all 3 seats of the body are filled on 2025-06-01: 1 by its members, {} by earlier rows of this file"
    )
    assert problems == [(5, "role", message.format(2)), (6, "role", message.format(3))]


def test_seats_are_counted_on_each_new_members_first_day() -> None:
    roster = Roster(seats=1, users={}, held=(seated("aino"),))  # seated 1.6.2025 – 31.5.2029
    assert rejected("bo;Bo;;member;1.6.2029;;;", roster=roster) == []
    assert rejected("bo;Bo;;member;1.6.2028;;;", roster=roster)[0][:2] == (2, "role")


def test_an_existing_account_is_never_changed_so_a_different_name_or_email_is_rejected() -> None:
    roster = Roster(seats=9, users={"aino": KnownUser("aino", "Aino Ässä", "aino@kunta.test")}, held=())
    assert rejected("aino;aino  ässä;AINO@kunta.test;member;1.6.2025;;;", roster=roster) == []
    assert rejected("aino;Aino Ässä;;member;1.6.2025;;;", roster=roster) == []  # an empty e-mail says nothing
    assert rejected("aino;Aino Virtanen;aino@koti.test;member;1.6.2025;;;", roster=roster) == [
        (
            2,
            "name",
            "aino has name Aino Ässä in their account (an import does not change accounts), "
            "but this row says Aino Virtanen",
        ),
        (
            2,
            "email",
            "aino has email aino@kunta.test in their account (an import does not change accounts), "
            "but this row says aino@koti.test",
        ),
    ]


def test_one_file_names_each_person_one_way() -> None:
    assert rejected(
        "aino;Aino Ässä;aino@kunta.test;member;1.6.2025;;;",
        "aino;Aino Virtanen;aino@koti.test;chair;1.6.2025;;;",
    ) == [
        (3, "name", "aino has name Aino Ässä in row 2, but this row says Aino Virtanen"),
        (3, "email", "aino has email aino@kunta.test in row 2, but this row says aino@koti.test"),
    ]


# ---- the action -----------------------------------------------------------------------------------


async def test_import_adds_deputies_of_seated_members_and_audits_without_personal_data(
    context: AppContext,
) -> None:
    await make_user(context, "aino")
    async with context.db.write() as session:
        body = await do_create_body(
            session,
            spec=BodySpec(slug="tela", name="Tekninen lautakunta", kind="committee", seats=3),
            actor="t",
        )
        aino = (await session.execute(select(User).where(User.username == "aino"))).scalar_one()
        spec = MembershipSpec(user_id=aino.id, role="member", term_start=date(2025, 6, 1))
        seat = await do_add_membership(session, body=body, spec=spec, actor="t")
        report = await do_import_members(
            session,
            body=body,
            csv_bytes=(
                "username;name;email;role;term_start;deputy_for\n"
                "bertil;Bertil Öberg;bertil@kunta.test;varajäsen;1.6.2025;aino\n"
                "cay;Cay Catt;;sihteeri;1.6.2025;\n"
            ).encode("cp1252"),
            actor="user:1",
        )
        assert (report.imported, report.accepted, report.created_users, report.encoding) == (
            True,
            2,
            2,
            "windows-1252",
        )
        members = (await session.execute(select(Membership).where(Membership.body_id == body.id))).scalars()
        deputy = next(m for m in members if m.role == MemberRole.DEPUTY)
        assert deputy.deputy_for_id == seat.id
        cay = (await session.execute(select(User).where(User.username == "cay"))).scalar_one()
        assert [(g.role, g.scope) for g in cay.roles] == [(Role.SECRETARY, f"body:{body.id}")]
        assert cay.email is None
    imported = await audit_entries(context, AuditAction.MEMBERS_IMPORTED)
    assert len(imported) == 1
    assert imported[0].subject == f"body:{body.id}"
    assert imported[0].data.startswith('{"encoding":"windows-1252","memberships":2,"rows":2,"sha256":"')
    assert "bertil" not in imported[0].data.casefold()
    assert "öberg" not in imported[0].data.casefold()


async def test_a_rejected_file_changes_nothing(context: AppContext) -> None:
    async with context.db.write() as session:
        body = await do_create_body(
            session,
            spec=BodySpec(slug="tela", name="Tekninen lautakunta", kind="committee", seats=3),
            actor="t",
        )
    before = len(await audit_entries(context))
    async with context.db.write() as session:
        report = await do_import_members(
            session,
            body=body,
            csv_bytes=b"username,name,role,term_start\naino,Aino,member,2025-06-01\nbo,Bo,boss,2025-06-01\n",
            actor="user:1",
        )
        assert (report.imported, report.accepted, report.created_users) == (False, 0, 0)
        assert [str(r) for r in report.rejections] == [
            "row 3: role boss is not a role; use one of member, deputy, chair, vice_chair, secretary, "
            "presenter, attendee (or the Finnish or Swedish word)"
        ]
        assert (await session.execute(select(User.id))).first() is None
    assert len(await audit_entries(context)) == before
