"""Contact search through an index: each contact keeps `search_text`, its name, email and phone
digits folded (lower case, no accents), and a search word folded the same way is looked up in it
with LIKE '%word%', which PostgreSQL answers from a pg_trgm GIN index (ix_contact_search_trgm)."""

import unicodedata

import sqlalchemy as sa

from app.models import Contact

PHONE_PUNCTUATION = (" ", "-", "(", ")", ".", "+")


def fold(text: str | None) -> str:
    """"Zoë ÅSTRÖM" -> "zoe astrom": what a search word and the stored text are compared as."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def search_text(name: str | None, email: str | None, phone: str | None) -> str:
    # the phone as written and as digits: "+1 (512) 555-0100" is found by "512 555-0100" and "5125550100"
    return " ".join(part for part in (fold(name), fold(email), fold(phone), digits(phone)) if part)


def looks_like_phone(word: str) -> bool:
    return any(ch.isdigit() for ch in word) and all(ch.isdigit() or ch in PHONE_PUNCTUATION for ch in word)


def matching(query, text: str):
    """Every word must appear in the name, the email or the phone, in any case and with or without
    accents; a word written like a phone number matches its digits."""
    for word in text.split():
        needle = digits(word) if looks_like_phone(word) else fold(word)
        query = query.where(Contact.search_text.contains(needle, autoescape=True))
    return query


@sa.event.listens_for(Contact, "before_insert")
@sa.event.listens_for(Contact, "before_update")
def _keep_search_text(mapper, connection, contact) -> None:
    contact.search_text = search_text(contact.name, contact.email, contact.phone)
