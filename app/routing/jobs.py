"""Routing jobs: plain functions, idempotent."""


def purge_refusals() -> int:
    """Forget refused call requests past their retention (cron.py, nightly)."""
    from app.routing import refusals

    return refusals.purge_old()
