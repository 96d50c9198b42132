"""Account notices by e-mail (auth.notices): bilingual text, queued in the outbox in the caller's
transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.notices import AccountNotice, NoticeKind
from meetings.delivery import queue_mail
from meetings.mail import Mail, Recipient, local_fi, local_sv

SUBJECTS = {
    NoticeKind.PASSWORD_CHANGED: "Kokous: salasanasi on vaihdettu / Ditt lösenord har ändrats",
    NoticeKind.PASSWORD_SET: "Kokous: salasanasi on vaihdettu / Ditt lösenord har ändrats",
    NoticeKind.SECOND_FACTOR_ADDED: "Kokous: kaksivaiheinen tunnistautuminen otettu käyttöön"
    " / Tvåstegsverifiering har tagits i bruk",
    NoticeKind.SECOND_FACTOR_REPLACED: "Kokous: todennussovellus on vaihdettu"
    " / Autentiseringsappen har bytts",
    NoticeKind.SECOND_FACTOR_RESET: "Kokous: kaksivaiheinen tunnistautuminen poistettu"
    " / Tvåstegsverifieringen har tagits bort",
}
# What happened, in Finnish and in Swedish; {account}, {when} and {where} are filled in.
WHAT = {
    NoticeKind.PASSWORD_CHANGED: (
        "Kokous-tilisi {account} salasana vaihdettiin {when}{where}. Tilin muut kirjautumiset päätettiin.",
        "Lösenordet för ditt Kokous-konto {account} ändrades {when}{where}. Kontots övriga inloggningar"
        " avslutades.",
    ),
    NoticeKind.PASSWORD_SET: (
        "Ylläpitäjä asetti Kokous-tilillesi {account} uuden salasanan {when}{where}. Tilin kaikki"
        " kirjautumiset päätettiin.",
        "En administratör satte ett nytt lösenord för ditt Kokous-konto {account} {when}{where}. Alla"
        " kontots inloggningar avslutades.",
    ),
    NoticeKind.SECOND_FACTOR_ADDED: (
        "Kokous-tilillesi {account} otettiin käyttöön todennussovellus {when}{where}. Tilin muut"
        " kirjautumiset päätettiin.",
        "En autentiseringsapp togs i bruk för ditt Kokous-konto {account} {when}{where}. Kontots övriga"
        " inloggningar avslutades.",
    ),
    NoticeKind.SECOND_FACTOR_REPLACED: (
        "Kokous-tilisi {account} todennussovellus vaihdettiin {when}{where}. Aiemmat varakoodit eivät enää"
        " toimi, ja tilin muut kirjautumiset päätettiin.",
        "Autentiseringsappen för ditt Kokous-konto {account} byttes {when}{where}. De tidigare"
        " reservkoderna fungerar inte längre, och kontots övriga inloggningar avslutades.",
    ),
    NoticeKind.SECOND_FACTOR_RESET: (
        "Ylläpitäjä poisti Kokous-tililtäsi {account} todennussovelluksen {when}{where}. Tilin kaikki"
        " kirjautumiset päätettiin.",
        "En administratör tog bort autentiseringsappen från ditt Kokous-konto {account} {when}{where}. Alla"
        " kontots inloggningar avslutades.",
    ),
}
NOT_YOU_FI = (
    "Jos et tehnyt tai pyytänyt tätä itse, ota heti yhteyttä kuntasi Kokous-ylläpitoon: joku muu voi"
    " käyttää tiliäsi."
)
NOT_YOU_SV = (
    "Om det inte var du som gjorde eller bad om detta, kontakta genast kommunens Kokous-administratör:"
    " någon annan kan använda ditt konto."
)


def notice_text(notice: AccountNotice) -> str:
    """Finnish first, then Swedish. Local (Helsinki) time; the address only when there was one."""
    fi, sv = WHAT[notice.kind]
    where_fi = f" osoitteesta {notice.address}" if notice.address else ""
    where_sv = f" från adressen {notice.address}" if notice.address else ""
    finnish = fi.format(account=notice.username, when=f"{local_fi(notice.at)} (Suomen aikaa)", where=where_fi)
    swedish = sv.format(account=notice.username, when=f"{local_sv(notice.at)} (finsk tid)", where=where_sv)
    rule = "-" * 60
    return "\n".join(
        [
            f"Hei {notice.display_name},",
            "",
            finnish,
            "",
            NOT_YOU_FI,
            "",
            rule,
            "",
            f"Hej {notice.display_name},",
            "",
            swedish,
            "",
            NOT_YOU_SV,
            "",
            rule,
            "Tämä viesti on lähetetty automaattisesti. / Detta meddelande har skickats automatiskt.",
            "",
        ]
    )


class OutboxNotices:
    """auth.notices.AccountNotices through the outbox: delivered after the commit (meetings.delivery)."""

    async def send(self, session: AsyncSession, notice: AccountNotice) -> None:
        recipient = Recipient(notice.display_name, notice.email)
        mail = Mail(recipient, SUBJECTS[notice.kind], notice_text(notice), calendar="")
        queue_mail(session, kind=f"account.{notice.kind}", reference=f"user:{notice.user_id}", mails=[mail])
