"""List calls through GET /api/v1/calls at 100,000 rows with a cursor: p95 per page, first pages vs last.

A cursor (keyset) page costs the same wherever it is; an OFFSET page grows with its depth. Prints
p50/p95 of the first, middle and last tenth of the pages and the ratio last/first (the anchor is
the first pages, measured in the same run); the same for newest-first and for updated_since sync.

Uses a temporary SQLite file, or BENCH_DATABASE_URL (a database of its own: its tables are created
and dropped), and REDIS_URL when set, else an embedded Redis. BENCH_CALLS, BENCH_LIMIT change the size.
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CALLS = int(os.environ.get("BENCH_CALLS", "100000"))
LIMIT = int(os.environ.get("BENCH_LIMIT", "100"))


def build(tmp):
    from app import create_app
    from app.redis_store import embedded_url

    url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.db")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    redis_url = os.environ.get("REDIS_URL") or embedded_url(tmp)
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench",
            "API_RATE_LIMIT": "1000000 per minute",
        }
    )


def seed():
    from app.api.auth import create_key
    from app.extensions import db
    from app.models import Call, Organization

    org = Organization(name="Bench")
    db.session.add(org)
    db.session.commit()
    start = datetime.now(UTC) - timedelta(days=365)
    for chunk in range(0, CALLS, 5000):
        rows = []
        for i in range(chunk, min(chunk + 5000, CALLS)):
            moment = start + timedelta(seconds=i * 300 // 1000)  # a few calls share each second
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "organization_id": org.id,
                    "visitor_fingerprint": f"fp{i}",
                    "session_id": uuid.uuid4(),
                    "status": "ended",
                    "media_type": "video",
                    "requested_at": moment,
                    "updated_at": moment,
                    "answers": [],
                    "attributes": {},
                }
            )
        db.session.execute(Call.__table__.insert(), rows)
        db.session.commit()
    return create_key(org.id, "bench", ["calls:read"])[1]


def walk(client, headers, query: str) -> list[float]:
    """Every page of the list, following next_cursor; the time of each request in ms."""
    times, cursor, rows = [], None, 0
    while True:
        url = f"/api/v1/calls?limit={LIMIT}{query}" + (f"&cursor={cursor}" if cursor else "")
        began = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - began) * 1000)
        body = response.get_json()
        assert response.status_code == 200, body
        rows += len(body["data"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert rows == CALLS, rows
    return times


def p(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def report(name: str, times: list[float]) -> None:
    tenth = max(len(times) // 10, 1)
    parts = {
        "first": times[:tenth],
        "middle": times[len(times) // 2 - tenth // 2 :][:tenth],
        "last": times[-tenth:],
    }
    cells = "   ".join(
        f"{k} p50 {statistics.median(v):.1f} ms p95 {p(v, 0.95):.1f} ms" for k, v in parts.items()
    )
    ratio = p(parts["last"], 0.95) / p(parts["first"], 0.95)
    print(f"{name}: {len(times)} pages of {LIMIT}   {cells}   last/first p95 ratio {ratio:.2f}")


def main():
    from app.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        app = build(tmp)
        with app.app_context():
            db.create_all()
            try:
                began = time.perf_counter()
                raw = seed()
                print(
                    f"seeded {CALLS} calls in {time.perf_counter() - began:.1f} s ({db.engine.dialect.name})"
                )
                client, headers = app.test_client(), {"Authorization": f"Bearer {raw}"}
                report("newest first       ", walk(client, headers, ""))
                report("updated_since sync ", walk(client, headers, "&updated_since=2000-01-01T00:00:00Z"))
            finally:
                db.session.remove()
                db.drop_all()


if __name__ == "__main__":
    main()
