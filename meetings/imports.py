"""Members of a body from a CSV file: every row is checked first, then all of them are imported or none.

Reading and checking are pure (bytes and frozen facts in, rows and rejections out); only the actions read or
write the database. The format is described in docs/member-import.md.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.actions import do_create_user
from auth.addresses import normalise_email
from auth.models import User
from auth.queries import normalise_username
from core.errors import ValidationFailed
from core.text import translatable
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.models import Body, MemberRole, Membership

MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000
REQUIRED = ("username", "name", "role", "term_start")
OPTIONAL = ("email", "term_end", "deputy_for", "title")
COLUMNS = (*REQUIRED, *OPTIONAL)
DELIMITERS = (";", ",", "\t")  # Finnish Excel writes ";"; on a tie ";" wins

# Accepted words for each role in English, Finnish and Swedish, with "-" and "_" read as spaces (see _word).
ROLE_WORDS: dict[str, MemberRole] = {
    word: role
    for role, words in {
        MemberRole.MEMBER: "member|jäsen|ledamot",
        MemberRole.DEPUTY: "deputy|varajäsen|ersättare",
        MemberRole.CHAIR: "chair|puheenjohtaja|ordförande",
        MemberRole.VICE_CHAIR: "vice chair|varapuheenjohtaja|vice ordförande",
        MemberRole.SECRETARY: "secretary|sihteeri|sekreterare",
        MemberRole.PRESENTER: "presenter|esittelijä|föredragande",
        MemberRole.ATTENDEE: "attendee|läsnäolo oikeus|närvarorätt",
    }.items()
    for word in words.split("|")
}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FINNISH_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


# ---- reading the file -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    row: int  # as a spreadsheet numbers it: the header is row 1
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sheet:
    encoding: str  # utf-8, utf-8-sig (with a byte-order mark), windows-1252 or iso-8859-1
    delimiter: str
    sha256: str
    header: Record
    records: tuple[Record, ...]  # the data rows; blank rows are left out


def decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 if it decodes, else Windows-1252 as Excel in Finland writes it."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ValidationFailed(
            "The file is UTF-16 (Excel's “Unicode text”). Save it as “CSV UTF-8” or “CSV (semicolon "
            "delimited)” instead.",
            field="file",
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                "The file says it is UTF-8, but byte {at} is not UTF-8.", field="file", at=exc.start + 3
            ) from exc
    for encoding in ("utf-8", "windows-1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("iso-8859-1"), "iso-8859-1"


def sniff_delimiter(text: str) -> str:
    """The header names only columns, so whichever separator it uses most is the file's."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(DELIMITERS, key=header.count)


def _records(text: str, delimiter: str) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [Record(n, tuple(cell.strip() for cell in cells)) for n, cells in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise ValidationFailed(
            "Line {line} is not valid CSV: {problem}.", field="file", line=reader.line_num, problem=str(exc)
        ) from exc


def read_sheet(data: bytes) -> Sheet:
    """Decode and split the file; a file that cannot be read as a whole is a ValidationFailed."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            "The file is {size} bytes; at most {limit} bytes (1 MiB) can be imported at once.",
            field="file",
            size=len(data),
            limit=MAX_BYTES,
        )
    text, encoding = decode(data)
    text = unicodedata.normalize("NFC", text)  # a Mac writes ä as a + combining diaeresis
    delimiter = sniff_delimiter(text)
    records = [r for r in _records(text, delimiter) if any(r.cells)]
    if not records:
        raise ValidationFailed("The file is empty. Its first row names the columns.", field="file")
    if len(records) == 1:
        raise ValidationFailed("The file has a header row but no members.", field="file")
    if len(records) - 1 > MAX_ROWS:
        raise ValidationFailed(
            "The file has {rows} rows; at most {limit} can be imported at once.",
            field="file",
            rows=len(records) - 1,
            limit=MAX_ROWS,
        )
    digest = hashlib.sha256(data).hexdigest()
    return Sheet(encoding, delimiter, digest, records[0], tuple(records[1:]))


# ---- checking the rows ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rejection:
    """What is wrong with a row, as an English template and its values, so that a page says it in the admin's
    language (docs/translations.md): `message` is the English text, `say(gettext)` the one in a language."""

    row: int
    field: str  # the column at fault, or "" for the row as a whole
    template: str  # English with {placeholders}, marked with translatable()
    values: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        return dict(self.values)

    @property
    def message(self) -> str:
        return self.say(str)

    def say(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template).format(**self.params)

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


def _rejection(row: int, field: str, template: str, /, **values: object) -> Rejection:
    return Rejection(row, field, template, tuple((name, str(value)) for name, value in values.items()))


@dataclass(frozen=True, slots=True)
class MemberRow:
    row: int
    username: str  # normalised as accounts are
    name: str
    email: str | None
    role: MemberRole
    term_start: date
    term_end: date | None
    deputy_for: str | None
    title: str = ""
    # Set by the cross-row checks: the principal's MEMBER row in this file, or their membership in the body.
    deputy_for_row: int | None = None
    deputy_for_membership: int | None = None


@dataclass(frozen=True, slots=True)
class KnownUser:
    username: str
    name: str
    email: str | None


@dataclass(frozen=True, slots=True)
class HeldRole:
    """A membership of the body that has not been ended."""

    membership_id: int
    username: str
    role: str
    term_start: date
    term_end: date | None

    def holds(self, role: MemberRole, day: date, username: str | None = None) -> bool:
        return (
            self.role == role
            and username in (None, self.username)
            and _covers(self.term_start, self.term_end, day)
        )


@dataclass(frozen=True, slots=True)
class Roster:
    """What the checks need to know of the body and of the accounts the file names."""

    seats: int
    users: Mapping[str, KnownUser]
    held: tuple[HeldRole, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    rows: tuple[MemberRow, ...]
    rejections: tuple[Rejection, ...]


def _covers(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day <= end)


def _word(value: str) -> str:
    return " ".join(value.casefold().replace("-", " ").replace("_", " ").split())


def _column(value: str) -> str:
    return _word(value).replace(" ", "_")


def read_header(header: Record) -> tuple[dict[str, int], list[Rejection]]:
    names = [_column(cell) for cell in header.cells]
    problems = []
    if not set(names) & set(COLUMNS):
        problems.append(
            _rejection(
                header.row,
                "",
                translatable("the first row must name the columns: {columns}"),
                columns=", ".join(COLUMNS),
            )
        )
        return {}, problems
    for index, name in enumerate(names):
        if name and name not in COLUMNS:
            known = ", ".join(COLUMNS)
            unknown = translatable("unknown column {column}; known: {known}")
            problems.append(_rejection(header.row, name, unknown, column=header.cells[index], known=known))
        elif name and names.index(name) != index:
            twice = translatable("the column {column} appears twice")
            problems.append(_rejection(header.row, name, twice, column=name))
    missing = translatable("the column {column} is missing")
    problems += [_rejection(header.row, c, missing, column=c) for c in REQUIRED if c not in names]
    return {name: index for index, name in enumerate(names) if name}, problems


class _Cells:
    """One row's cells by column name; each reader notes what is wrong instead of stopping."""

    def __init__(self, record: Record, columns: Mapping[str, int]) -> None:
        self.record = record
        self.columns = columns
        self.problems: list[Rejection] = []

    def fail(self, field: str, template: str, /, **values: object) -> None:
        self.problems.append(_rejection(self.record.row, field, template, **values))

    def text(self, field: str, *, required: bool = False, limit: int = 200) -> str:
        index = self.columns.get(field)
        value = self.record.cells[index] if index is not None and index < len(self.record.cells) else ""
        if required and not value:
            self.fail(field, translatable("{field} is empty"), field=field)
        elif len(value) > limit:
            too_long = translatable("{field} is {length} characters long; at most {limit} fit")
            self.fail(field, too_long, field=field, length=len(value), limit=limit)
        return value

    def username(self, field: str, *, required: bool = False) -> str:
        value = self.text(field, required=required)
        name = normalise_username(value)
        if name and (len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name)):
            allowed = translatable(
                "{field} {value} may only have letters, digits, dots, dashes and underscores"
            )
            self.fail(field, allowed, field=field, value=value)
        return name

    def email(self) -> str | None:
        """One address (never a list, a name or a header), kept normalised as accounts keep it."""
        value = self.text("email", limit=320)
        if not value:
            return None
        try:
            return normalise_email(value)
        except ValidationFailed:
            self.fail("email", translatable("email {value} is not one e-mail address"), value=repr(value))
            return None

    def role(self) -> MemberRole | None:
        value = self.text("role", required=True)
        role = ROLE_WORDS.get(_word(value))
        if value and role is None:
            roles = ", ".join(MemberRole)
            unknown = translatable(
                "role {value} is not a role; use one of {roles} (or the Finnish or Swedish word)"
            )
            self.fail("role", unknown, value=value, roles=roles)
        return role

    def day(self, field: str, *, required: bool = False) -> date | None:
        value = self.text(field, required=required)
        if not value:
            return None
        found = parse_date(value)
        if found is None:
            self.fail(
                field,
                translatable("{field} {value} is not a date; write it as 1.8.2025 or 2025-08-01"),
                field=field,
                value=value,
            )
        return found

    def no_strays(self) -> None:
        named = set(self.columns.values())
        for index, cell in enumerate(self.record.cells):
            if cell and index not in named:
                stray = translatable("cell {number} has a value but the header row gives its column no name")
                self.fail("", stray, number=index + 1)


def parse_date(value: str) -> date | None:
    """An ISO date (2025-08-01) or a Finnish one (1.8.2025); None if it is neither or does not exist."""
    try:
        if ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
        if found := FINNISH_DATE.fullmatch(value):
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def parse_row(record: Record, columns: Mapping[str, int]) -> MemberRow | list[Rejection]:
    """One data row on its own; the cross-row checks come after."""
    cells = _Cells(record, columns)
    username = cells.username("username", required=True)
    name, email, role = cells.text("name", required=True), cells.email(), cells.role()
    start, end = cells.day("term_start", required=True), cells.day("term_end")
    deputy_for = cells.username("deputy_for") or None
    title = cells.text("title")
    cells.no_strays()
    if start and end and end < start:
        before = translatable("term_end {end} is before term_start {start}")
        cells.fail("term_end", before, end=end.isoformat(), start=start.isoformat())
    if deputy_for and role not in (None, MemberRole.DEPUTY):
        only = translatable("deputy_for is only for a deputy (varajäsen); this row's role is {role}")
        cells.fail("deputy_for", only, role=role)
    if deputy_for and deputy_for == username:
        cells.fail("deputy_for", translatable("a deputy cannot stand in for themself"))
    if cells.problems or role is None or start is None:
        return cells.problems
    return MemberRow(record.row, username, name, email, role, start, end, deputy_for, title)


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


IN_ACCOUNT = translatable(
    "{username} has {field} {theirs} in their account (an import does not change accounts), "
    "but this row says {ours}"
)
IN_ROW = translatable("{username} has {field} {theirs} in row {earlier}, but this row says {ours}")


def _differences(
    row: MemberRow, name: str, email: str | None, template: str, earlier: int = 0
) -> list[Rejection]:
    stated = (("name", name, row.name), ("email", email or "–", row.email))
    said = {"username": row.username, "earlier": earlier}  # IN_ACCOUNT has no {earlier}
    return [
        _rejection(row.row, field, template, field=field, theirs=theirs, ours=ours, **said)
        for field, theirs, ours in stated
        if ours and not _same(theirs, ours)
    ]


def _person_problems(rows: tuple[MemberRow, ...], roster: Roster) -> list[Rejection]:
    """An import never changes an account, and one file names each person one way."""
    problems: list[Rejection] = []
    first: dict[str, MemberRow] = {}
    for row in rows:
        seen = first.setdefault(row.username, row)
        if known := roster.users.get(row.username):
            problems += _differences(row, known.name, known.email, IN_ACCOUNT)
        elif seen is not row:
            problems += _differences(row, seen.name, seen.email, IN_ROW, seen.row)
    return problems


def _duplicate_problems(rows: tuple[MemberRow, ...], roster: Roster) -> list[Rejection]:
    problems: list[Rejection] = []
    first: dict[tuple[str, MemberRole], int] = {}
    for row in rows:
        earlier = first.setdefault((row.username, row.role), row.row)
        if earlier != row.row:
            listed = translatable("{username} is already listed as {role} in row {earlier}")
            problems.append(
                _rejection(row.row, "role", listed, username=row.username, role=row.role, earlier=earlier)
            )
        elif any(h.holds(row.role, row.term_start, row.username) for h in roster.held):
            held = translatable("{username} is already {role} on {day}")
            day = row.term_start.isoformat()
            problems.append(_rejection(row.row, "role", held, username=row.username, role=row.role, day=day))
    return problems


def _principal(
    row: MemberRow, name: str, members: Mapping[str, MemberRow], roster: Roster, broken: frozenset[str]
) -> MemberRow | HeldRole | Rejection | None:
    """Whom a deputy stands in for: a seated member or one listed in an earlier row (None: not known yet)."""
    seated = next((h for h in roster.held if h.holds(MemberRole.MEMBER, row.term_start, name)), None)
    listed = members.get(name)
    if seated or (listed and listed.row < row.row):
        return seated or listed
    if listed:
        first = translatable("list {name} as member (row {row}) before their deputy")
        return _rejection(row.row, "deputy_for", first, name=name, row=listed.row)
    if name in broken:
        return None  # the principal's own row is rejected; that rejection says what to fix
    unknown = translatable("deputy_for {name} is not a member of this body on {day}")
    return _rejection(row.row, "deputy_for", unknown, name=name, day=row.term_start.isoformat())


def _resolve_deputies(
    rows: tuple[MemberRow, ...], roster: Roster, broken: frozenset[str]
) -> tuple[tuple[MemberRow, ...], list[Rejection]]:
    members: dict[str, MemberRow] = {}
    for row in rows:
        if row.role == MemberRole.MEMBER:
            members.setdefault(row.username, row)
    resolved, problems = [], []
    for row in rows:
        found = _principal(row, row.deputy_for, members, roster, broken) if row.deputy_for else None
        if isinstance(found, Rejection):
            problems.append(found)
        elif isinstance(found, MemberRow):
            row = replace(row, deputy_for_row=found.row)
        elif isinstance(found, HeldRole):
            row = replace(row, deputy_for_membership=found.membership_id)
        resolved.append(row)
    return tuple(resolved), problems


def _seat_problems(rows: tuple[MemberRow, ...], roster: Roster) -> list[Rejection]:
    """Counted as do_add_membership counts them: members seated on the new member's first day (R-QUORUM-1)."""
    problems: list[Rejection] = []
    earlier: list[MemberRow] = []
    for row in (r for r in rows if r.role == MemberRole.MEMBER):
        day = row.term_start
        held = sum(h.holds(MemberRole.MEMBER, day) for h in roster.held)
        listed = sum(_covers(r.term_start, r.term_end, day) for r in earlier)
        if held + listed >= roster.seats:
            full = translatable(
                "all {seats} seats of the body are filled on {day}: "
                "{held} by its members, {listed} by earlier rows of this file"
            )
            problems.append(
                _rejection(
                    row.row, "role", full, seats=roster.seats, day=day.isoformat(), held=held, listed=listed
                )
            )
        earlier.append(row)
    return problems


def check_sheet(sheet: Sheet, roster: Roster) -> Plan:
    """Every row of the file checked on its own and against the others and the body (pure)."""
    columns, problems = read_header(sheet.header)
    if problems:
        return Plan((), tuple(problems))
    rows: list[MemberRow] = []
    broken: set[str] = set()
    for line in sheet.records:
        parsed = parse_row(line, columns)
        if isinstance(parsed, MemberRow):
            rows.append(parsed)
        else:
            problems += parsed
            broken.add(normalise_username(_Cells(line, columns).text("username")))
    resolved, deputy_problems = _resolve_deputies(tuple(rows), roster, frozenset(broken))
    problems += deputy_problems + _person_problems(resolved, roster) + _duplicate_problems(resolved, roster)
    problems += _seat_problems(resolved, roster)
    return Plan(resolved, tuple(sorted(problems, key=lambda p: p.row)))


def named_usernames(sheet: Sheet) -> set[str]:
    """Every username the file mentions, as a person or as the member a deputy stands in for."""
    columns, _ = read_header(sheet.header)
    names = set()
    for line in sheet.records:
        cells = _Cells(line, columns)
        names |= {normalise_username(cells.text("username")), normalise_username(cells.text("deputy_for"))}
    return names - {""}


# ---- importing ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: bool
    rows: int  # data rows read, blank rows not counted
    accepted: int  # memberships added (or, on a dry run, that would be); 0 when any row is rejected
    created_users: int  # accounts created (or that would be)
    rejections: tuple[Rejection, ...]
    encoding: str
    delimiter: str
    sha256: str


async def load_roster(session: AsyncSession, body: Body, usernames: set[str]) -> Roster:
    users = await session.execute(
        select(User.username, User.display_name, User.email).where(User.username.in_(sorted(usernames)))
    )
    held = await session.execute(
        select(Membership.id, User.username, Membership.role, Membership.term_start, Membership.term_end)
        .join(User, User.id == Membership.user_id)
        .where(Membership.body_id == body.id, Membership.ended_at.is_(None))
    )
    known = {u.username: KnownUser(u.username, u.display_name, u.email) for u in users}
    return Roster(body.seats, known, tuple(HeldRole(*h) for h in held))


async def _plan(session: AsyncSession, body: Body, csv_bytes: bytes) -> tuple[Plan, ImportReport]:
    sheet = read_sheet(csv_bytes)
    roster = await load_roster(session, body, named_usernames(sheet))
    plan = check_sheet(sheet, roster)
    ok = not plan.rejections
    new = {row.username for row in plan.rows if row.username not in roster.users} if ok else set()
    report = ImportReport(
        imported=ok,
        rows=len(sheet.records),
        accepted=len(plan.rows) if ok else 0,
        created_users=len(new),
        rejections=plan.rejections,
        encoding=sheet.encoding,
        delimiter=sheet.delimiter,
        sha256=sheet.sha256,
    )
    return plan, report


async def preview_members_import(session: AsyncSession, *, body: Body, csv_bytes: bytes) -> ImportReport:
    """What do_import_members would do with the file; changes nothing and writes no audit entry."""
    _, report = await _plan(session, body, csv_bytes)
    return replace(report, imported=False)


async def do_import_members(
    session: AsyncSession, *, body: Body, csv_bytes: bytes, actor: str
) -> ImportReport:
    """Add every member the CSV file lists, creating missing accounts, or nothing if any row is rejected.

    Precondition: the caller may administer the body. Audit: members.imported once (counts and the file's
    SHA-256), plus user.created, membership.added and role.granted from the actions it calls. Not idempotent,
    but safe to repeat: the same file again adds nothing, as every row is then a role already held. A file too
    large or unreadable as a whole is a ValidationFailed; a rejected row is in the report, not an exception.
    """
    plan, report = await _plan(session, body, csv_bytes)
    if plan.rejections:
        return report
    accounts = await _account_ids(session, {row.username for row in plan.rows})
    added: dict[int, int] = {}  # file row → membership id, for deputies listed after their member
    for row in plan.rows:
        if row.username not in accounts:
            accounts[row.username] = (await _create_account(session, row, actor)).id
        spec = MembershipSpec(
            user_id=accounts[row.username],
            role=row.role,
            term_start=row.term_start,
            term_end=row.term_end,
            deputy_for_id=(
                row.deputy_for_membership if row.deputy_for_row is None else added[row.deputy_for_row]
            ),
            title=row.title,
        )
        added[row.row] = (await do_add_membership(session, body=body, spec=spec, actor=actor)).id
    await _record_import(session, body, report, actor)
    return report


async def _account_ids(session: AsyncSession, usernames: set[str]) -> dict[str, int]:
    found = await session.execute(select(User.username, User.id).where(User.username.in_(sorted(usernames))))
    return dict(found.tuples().all())


async def _create_account(session: AsyncSession, row: MemberRow, actor: str) -> User:
    return await do_create_user(
        session, username=row.username, display_name=row.name, password=None, email=row.email, actor=actor
    )


async def _record_import(session: AsyncSession, body: Body, report: ImportReport, actor: str) -> None:
    await record(
        session,
        AuditAction.MEMBERS_IMPORTED,
        actor=actor,
        subject=f"body:{body.id}",
        data={
            "rows": report.rows,
            "memberships": report.accepted,
            "users_created": report.created_users,
            "encoding": report.encoding,
            "sha256": report.sha256,
        },
    )
