"""The widget's built-in strings: one catalogue per language (`<code>.json` beside this file).

English is complete by definition; every other catalogue must have exactly its keys (a test
checks). The admin's copy on Widget → Theme overrides the copy keys per language."""

import hashlib
import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
# code -> the language's own name (the settings form shows these)
LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch", "pt": "Português",
             "ar": "العربية"}
RTL = {"ar"}


@cache
def catalogue(code: str) -> dict:
    """The language's strings (a fresh copy is not needed: callers must not mutate it)."""
    return json.loads((HERE / f"{code}.json").read_text(encoding="utf-8"))


@cache
def catalogue_bytes(code: str) -> bytes:
    return (HERE / f"{code}.json").read_bytes()


@cache
def version() -> str:
    """One hash of every catalogue: part of their URLs, so they can be cached for a year."""
    digest = hashlib.sha256()
    for code in sorted(LANGUAGES):
        digest.update(catalogue_bytes(code))
    return digest.hexdigest()[:12]


def direction(code: str) -> str:
    return "rtl" if code in RTL else "ltr"
