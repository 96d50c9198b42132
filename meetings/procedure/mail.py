"""The procedure's e-mail: it started, a reminder, it moved to the meeting. Frozen facts in, text out.

E-mail is not a protected channel (R-MODE-2, R-EDP-6): the message names the body, the meeting and the §, and
the item's title only when the item is public; the content is read behind the link, signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meetings.mail import CONFIDENTIAL_FI, CONFIDENTIAL_SV, SUBJECT_MAX, Mail, Recipient, local_fi, local_sv


@dataclass(frozen=True, slots=True)
class ProcedureNotice:
    body_name: str
    body_name_sv: str
    number: int
    year: int
    section: int
    title: str  # empty for a confidential item: only mentioned
    deadline_at: datetime
    meeting_starts_at: datetime
    url: str

    def __post_init__(self) -> None:
        if self.deadline_at.utcoffset() is None or self.meeting_starts_at.utcoffset() is None:
            raise ValueError("a procedure notice needs timezone-aware datetimes")

    def heading(self) -> str:
        names = [self.body_name]
        if self.body_name_sv and self.body_name_sv != self.body_name:
            names.append(self.body_name_sv)
        return f"{' / '.join(names)} {self.number}/{self.year} § {self.section}"

    def title_fi(self) -> str:
        return self.title or CONFIDENTIAL_FI

    def title_sv(self) -> str:
        return self.title or CONFIDENTIAL_SV


def _subject(lead: str, notice: ProcedureNotice) -> str:
    subject = f"{lead}: {notice.heading()}"
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def _text(finnish: list[str], swedish: list[str]) -> str:
    return "\n".join(finnish) + "\n\n" + "\n".join(swedish) + "\n"


def opened_messages(notice: ProcedureNotice, recipients: list[Recipient]) -> list[Mail]:
    """The call opened the procedure for an item: state a stance by the deadline (R-CALL-6, R-EDP-3(1))."""
    subject = _subject("Sähköinen päätöksentekomenettely / Elektroniskt beslutsförfarande", notice)
    body = _text(
        [
            f"Asia {notice.heading()}: {notice.title_fi()}",
            "käsitellään sähköisessä päätöksentekomenettelyssä (kuntalaki 100 §).",
            f"Ilmaise kantasi viimeistään {local_fi(notice.deadline_at)}: hyväksy esittelijän ehdotus, "
            "vaadi asian käsittelyä kokouksessa tai ilmoita olevasi esteellinen.",
            "Jos yksikin jäsen vaatii kokouskäsittelyä tai jättää kantansa ilmaisematta, asia siirtyy "
            f"kokoukseen {local_fi(notice.meeting_starts_at)}.",
            f"Asia ja kannan ilmaiseminen: {notice.url}",
        ],
        [
            f"Ärendet {notice.heading()}: {notice.title_sv()}",
            "behandlas i elektroniskt beslutsförfarande (kommunallagen 100 §).",
            f"Meddela din ståndpunkt senast {local_sv(notice.deadline_at)}: godkänn föredragandens förslag, "
            "kräv att ärendet behandlas på mötet eller meddela att du är jävig.",
            "Om en enda ledamot kräver mötesbehandling eller låter bli att meddela sin ståndpunkt, flyttas "
            f"ärendet till mötet {local_sv(notice.meeting_starts_at)}.",
            f"Ärendet och din ståndpunkt: {notice.url}",
        ],
    )
    return [Mail(r, subject, body, "") for r in recipients]


def reminder_messages(notice: ProcedureNotice, recipients: list[Recipient]) -> list[Mail]:
    """To those whose seat has no stance yet; nobody who has answered gets one."""
    subject = _subject("Muistutus / Påminnelse", notice)
    body = _text(
        [
            f"Et ole vielä ilmaissut kantaasi asiaan {notice.heading()}: {notice.title_fi()}.",
            f"Määräaika päättyy {local_fi(notice.deadline_at)}. "
            "Ilman kaikkien kantaa asia siirtyy kokoukseen.",
            f"Ilmaise kantasi: {notice.url}",
        ],
        [
            f"Du har ännu inte meddelat din ståndpunkt i ärendet {notice.heading()}: {notice.title_sv()}.",
            f"Tidsfristen går ut {local_sv(notice.deadline_at)}. Utan allas ståndpunkt flyttas ärendet "
            "till mötet.",
            f"Meddela din ståndpunkt: {notice.url}",
        ],
    )
    return [Mail(r, subject, body, "") for r in recipients]


def moved_messages(notice: ProcedureNotice, recipients: list[Recipient], *, demanded: bool) -> list[Mail]:
    """The item goes to the meeting as an ordinary item, its § kept (R-EDP-3(4))."""
    subject = _subject("Asia siirtyy kokoukseen / Ärendet flyttas till mötet", notice)
    why_fi = "koska jäsen vaati kokouskäsittelyä" if demanded else "koska kaikki eivät ilmaisseet kantaansa"
    why_sv = (
        "eftersom en ledamot krävde mötesbehandling"
        if demanded
        else "eftersom alla inte meddelade sin ståndpunkt"
    )
    body = _text(
        [
            f"Asia {notice.heading()}: {notice.title_fi()}",
            f"siirtyy sähköisestä päätöksentekomenettelystä kokoukseen {local_fi(notice.meeting_starts_at)}, "
            f"{why_fi}. Asia käsitellään kokouksessa tavallisena asiana samalla pykälänumerolla.",
            f"Asia: {notice.url}",
        ],
        [
            f"Ärendet {notice.heading()}: {notice.title_sv()}",
            "flyttas från det elektroniska beslutsförfarandet till mötet "
            f"{local_sv(notice.meeting_starts_at)}, "
            f"{why_sv}. Ärendet behandlas på mötet som ett vanligt ärende med samma paragrafnummer.",
            f"Ärendet: {notice.url}",
        ],
    )
    return [Mail(r, subject, body, "") for r in recipients]


def decided_messages(notice: ProcedureNotice, recipients: list[Recipient]) -> list[Mail]:
    """Every seat answered, nobody demanded, the deadline passed: decided as proposed (R-EDP-3(3))."""
    subject = _subject("Asia päätetty / Ärendet avgjort", notice)
    body = _text(
        [
            f"Asia {notice.heading()}: {notice.title_fi()}",
            "on päätetty sähköisessä päätöksentekomenettelyssä esittelijän ehdotuksen mukaisesti "
            f"(määräaika {local_fi(notice.deadline_at)}). Päätös kirjataan pöytäkirjaan.",
            f"Asia: {notice.url}",
        ],
        [
            f"Ärendet {notice.heading()}: {notice.title_sv()}",
            "har avgjorts i elektroniskt beslutsförfarande enligt föredragandens förslag "
            f"(tidsfrist {local_sv(notice.deadline_at)}). Beslutet förs in i protokollet.",
            f"Ärendet: {notice.url}",
        ],
    )
    return [Mail(r, subject, body, "") for r in recipients]
