"""The cards of Settings → Integrations. A feature adds its card with `register_card` (at import).

A card is a title, one sentence, the endpoint of its page and a function returning a short
status for the current organization ("2 active endpoints", "Not connected"), or None.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    title: str
    description: str
    endpoint: str
    status: Callable[[object], str | None] = lambda organization_id: None
    order: int = 100


_cards: dict[str, Card] = {}


def register_card(card: Card) -> Card:
    _cards[card.endpoint] = card
    return card


def cards() -> list[Card]:
    return sorted(_cards.values(), key=lambda c: (c.order, c.title))
