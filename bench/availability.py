"""How fast /widget/config's availability answer is: cached (the common case), recomputed after
an invalidation, and the pure rule per rep. Prints figures; no thresholds.

Uses a temporary SQLite file (or BENCH_DATABASE_URL: a database of its own, its tables are
dropped afterwards) and REDIS_URL when set, else an embedded Redis.
"""

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPS = int(os.environ.get("BENCH_REPS", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2000"))


def timed(fn, rounds):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def build(tmp):
    from app import create_app
    from app.redis_store import embedded_url

    url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.db")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    redis_url = os.environ.get("REDIS_URL") or embedded_url(tmp)
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SECRET_KEY": "bench"})


def seed():
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import BusyBlock, Organization, RepSchedule, User

    org = Organization(name="Bench")
    db.session.add(org)
    db.session.flush()
    now = datetime.now(UTC)
    zones = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"]
    password = hash_password("bench-password-123")
    for i in range(REPS):
        user = User(organization_id=org.id, email=f"rep{i}@bench.example.com", name=f"Rep {i}",
                    password_hash=password, available=True)
        db.session.add(user)
        db.session.flush()
        db.session.add(RepSchedule(organization_id=org.id, user_id=user.id, timezone=zones[i % 4],
                                   follows_default=False, weekly=[[[540, 720], [780, 1020]]] * 5 + [[], []]))
        starts = [now + timedelta(hours=h) for h in range(0, 72, 5)]
        db.session.add_all(BusyBlock(organization_id=org.id, user_id=user.id, source="bench",
                                     starts_at=s, ends_at=s + timedelta(minutes=30)) for s in starts)
    db.session.commit()
    return org.id


def main():
    from app.availability import service
    from app.availability.rules import rep_status
    from app.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        app = build(tmp)
        with app.app_context():
            db.create_all()
            org_id = seed()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                cProfile.runctx("for _ in range(20): service.invalidate(org_id); "
                                "service.widget_availability(org_id)", globals(), locals(), sort="cumtime")
            service.widget_availability(org_id)
            hit = timed(lambda: service.widget_availability(org_id), ROUNDS)

            def miss():
                service.invalidate(org_id)
                service.widget_availability(org_id)

            recompute = timed(miss, max(ROUNDS // 20, 20))
            facts = service.load_facts(org_id, datetime.now(UTC))
            now = datetime.now(UTC)
            rule = timed(lambda: [rep_status(f, now) for f in facts], max(ROUNDS // 20, 20))
            print(f"widget_availability, cached:            p50 {hit[0]:.3f} ms   p99 {hit[1]:.3f} ms")
            print(f"widget_availability, after invalidate:  p50 {recompute[0]:.2f} ms   "
                  f"p99 {recompute[1]:.2f} ms   ({REPS} reps, schedules, 15 busy blocks each)")
            print(f"rep_status for all {REPS} reps (pure):   p50 {rule[0]:.2f} ms   p99 {rule[1]:.2f} ms")
            db.drop_all()


if __name__ == "__main__":
    main()
