"""Call jobs: take ids, idempotent (the transitions are guarded by the call's status)."""


def ring_timeout(call_id: str) -> None:
    """Nobody accepted in time: the call is missed (no-op if it was answered or canceled)."""
    from app.calls import service

    service.miss(service.as_uuid(call_id))


def abandon_check(call_id: str, side: str) -> None:
    """A side's socket closed a while ago: end or cancel the call if it never came back."""
    from app.calls import service

    service.abandon_check(service.as_uuid(call_id), side)
