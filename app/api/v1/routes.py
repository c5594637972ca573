"""Every v1 resource's views (they register on the API blueprint when imported)."""

from app.api.v1 import analytics, availability, callbacks, calls, contacts, sites, teammates  # noqa: F401
