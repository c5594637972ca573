"""A sync job pages through 2,500 calls with updated_since while calls arrive and change: it misses none."""

import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Call
from app.models.base import utcnow
from tests.api_support import Api

pytestmark = pytest.mark.loopback_hooks


def _new_calls(org_id, n: int) -> list[uuid.UUID]:
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "organization_id": org_id,
            "visitor_fingerprint": f"fp{i}",
            "session_id": uuid.uuid4(),
            "status": "requested",
            "media_type": "video",
            "requested_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    db.session.execute(sa.insert(Call), rows)
    db.session.commit()
    return [r["id"] for r in rows]


def test_paging_with_updated_since_misses_nothing_while_calls_arrive(client, api_key, admin):
    api = Api(client, api_key[1])
    org = admin.organization_id
    start = utcnow().isoformat().replace("+00:00", "Z")
    expected = set(_new_calls(org, 2500))  # all in one instant: the id orders the ties
    seen, last_status, high_water, pages = set(), {}, start, 0
    for run in (1, 2):  # the job's run, then its next run from the high-water mark it kept
        cursor = None
        while True:
            url = f"/api/v1/calls?updated_since={high_water}&limit=100"
            url += f"&cursor={cursor}" if cursor else ""
            body = api.call("GET", url).get_json()
            pages += 1
            for call in body["data"]:
                seen.add(uuid.UUID(call["id"]))
                last_status[call["id"]] = call["status"]
            if body["data"]:
                newest = body["data"][-1]["updatedAt"]
            if run == 1 and pages <= 30:
                # the world moves on while the job runs: new calls arrive, some seen ones change
                expected |= set(_new_calls(org, 7))
                changed = list(seen)[:3]
                db.session.execute(sa.update(Call).where(Call.id.in_(changed)).values(status="missed"))
                db.session.commit()
                expected_changed = {str(c) for c in changed}
            if not body["has_more"]:
                break
            cursor = body["next_cursor"]
        high_water = newest  # inclusive: the next run sees that instant again (ids dedupe)
    assert seen == expected, f"missed {len(expected - seen)} calls"
    # a changed call comes again after its change, so the job ends with its latest state
    assert all(last_status[c] == "missed" for c in expected_changed)
    assert pages >= 28
