"""The REST API v1 (`/api/v1`): calls, contacts, sites, teammates and availability.

Routes sit on the API blueprint (`app.api.bp`): the same Bearer keys, error shape, rate limit,
`X-Request-Id` and `Idempotency-Key` handling as the webhooks API. Conventions are in the README
("REST API v1").
"""
