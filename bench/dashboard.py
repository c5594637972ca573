"""The dashboard's long lists at size: SQL statements and time per page of Calls and Contacts.

For 10,000 and 100,000 calls (each with its contact, over 3 sites and 3 reps) the app's own
pages are requested through its test client, logged in as the admin: the first page, a filtered
page (Calls: one site and one status), a search (Contacts: a name, and a phone number), and a
later keyset page (the cursor of the 5,000th row). The anchor, in the same run on the same
database: a bare `SELECT … LIMIT` of the same rows (the same WHERE, order and page size; no
joins, no ORM, no rendering). The target is ≤ 12 statements per page at any size.

    BENCH_DATABASE_URL=postgresql://…/scratch BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \
        python bench/dashboard.py

Both are emptied first (without them: a temporary SQLite file and an embedded Redis).
Options (env): BENCH_SIZES (default 10000,100000), BENCH_REPEAT (timed requests per page, default 7).
"""

import os
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.scratch import scratch_app, stop_embedded_redis  # noqa: E402

PASSWORD = "bench-password-123"
LATER = 5000  # the row whose cursor opens "a later page"


@contextmanager
def statements():
    """The statements run meanwhile, as (SQL, seconds) pairs."""
    seen, started = [], {}

    def before(conn, cursor, statement, *args):
        started[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, *args):
        seen.append((statement, time.perf_counter() - started.pop(id(cursor), time.perf_counter())))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", before)
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", after)


def seed(org_id, sites, reps, start: int, stop: int, now) -> None:
    """Calls `start`..`stop`, one a minute back from now, each with its own contact: bulk inserts."""
    from app.contacts.search import search_text
    from app.extensions import db
    from app.models import Call, Contact

    for chunk in range(start, stop, 5000):
        contacts, calls = [], []
        for i in range(chunk, min(chunk + 5000, stop)):
            contact_id, when = uuid.uuid4(), now - timedelta(minutes=i)
            name, email, phone = f"Visitor {i}", f"v{i}@example.org", f"+1 512 555 {i:06d}"
            contacts.append({"id": contact_id, "organization_id": org_id, "fingerprint": f"fp{i}",
                             "name": name, "email": email, "phone": phone,
                             "search_text": search_text(name, email, phone),
                             "created_at": when, "updated_at": when, "last_seen_at": when})
            calls.append({"id": uuid.uuid4(), "organization_id": org_id, "site_id": sites[i % 3],
                          "contact_id": contact_id, "accepted_by_id": reps[i % 3],
                          "status": ("ended", "missed", "canceled")[i % 3], "visitor_fingerprint": f"fp{i}",
                          "requested_at": when})
        db.session.execute(sa.insert(Contact), contacts)
        db.session.execute(sa.insert(Call), calls)
        db.session.commit()


def timed(fn, repeat: int) -> float:
    fn()  # warm: the first request of a process loads what it keeps
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cases(org_id, sites, calls_table, contacts_table):
    """(label, page URL, the anchor's bare statement) per page measured."""
    from app.api.pagination import encode
    from app.contacts.search import digits, fold
    from app.extensions import db

    def bare(table, column, *where, limit=26):
        return sa.select(table).where(table.c.organization_id == org_id, *where) \
            .order_by(column.desc(), table.c.id.desc()).limit(limit)

    def later(table, column):  # (time, id) of the LATER-th row, newest first
        return tuple(db.session.execute(
            sa.select(column, table.c.id).where(table.c.organization_id == org_id)
            .order_by(column.desc(), table.c.id.desc()).offset(LATER).limit(1)).one())

    c, k = calls_table, contacts_table
    call_edge, contact_edge = later(c, c.c.requested_at), later(k, k.c.last_seen_at)
    found = k.c.search_text.contains
    site = sites[1]
    return [
        ("Calls, first page", "/calls", bare(c, c.c.requested_at)),
        ("Calls, one site and status", f"/calls?site={site}&status=missed",
         bare(c, c.c.requested_at, c.c.site_id == site, c.c.status == "missed")),
        ("Calls, later page", f"/calls?before={encode(*call_edge)}",
         bare(c, c.c.requested_at, sa.tuple_(c.c.requested_at, c.c.id) < call_edge)),
        ("Contacts, first page", "/contacts", bare(k, k.c.last_seen_at)),
        ("Contacts, search a name", "/contacts?q=Visitor+4242",
         bare(k, k.c.last_seen_at, found(fold("Visitor")), found(fold("4242")))),
        ("Contacts, search a phone", "/contacts?q=555+004242",
         bare(k, k.c.last_seen_at, found(digits("555")), found(digits("004242")))),
        ("Contacts, later page", f"/contacts?before={encode(*contact_edge)}",
         bare(k, k.c.last_seen_at, sa.tuple_(k.c.last_seen_at, k.c.id) < contact_edge)),
    ]


def measure(client, org_id, sites, repeat: int) -> int:
    from app.extensions import db
    from app.models import Call, Contact

    worst = 0
    for label, url, anchor in cases(org_id, sites, Call.__table__, Contact.__table__):
        page = timed(lambda u=url: client.get(u), repeat)  # warm: counted as every later request
        with statements() as seen:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if os.environ.get("BENCH_SHOW_SQL"):
            print("\n".join(f"{t * 1000:7.1f} ms {' '.join(s.split())[:140]}" for s, t in seen))
        in_sql = sum(t for _, t in seen)

        def bare(statement=anchor):
            db.session.execute(statement).all()
            db.session.rollback()

        base = timed(bare, repeat)
        worst = max(worst, len(seen))
        print(f"  {label:28s} {len(seen):2d} SQL ({in_sql * 1000:5.1f} ms of them), {page * 1000:6.1f} ms "
              f"per page; bare SELECT {base * 1000:5.1f} ms; ratio {page / base:5.1f}x")
    return worst


def main():
    app = scratch_app()
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
    repeat = int(os.environ.get("BENCH_REPEAT", "7"))
    try:
        with app.app_context():
            from app.auth.passwords import hash_password
            from app.auth.service import sign_up
            from app.extensions import db
            from app.models import User
            from app.models.base import utcnow
            from app.sites.service import create_site
            from tests.conftest import Auth

            admin = sign_up("Bench", "Admin", "admin@example.com", PASSWORD)
            org_id = admin.organization_id
            sites = [create_site(org_id, f"site{i}.example.com").id for i in range(3)]
            reps = [User(organization_id=org_id, email=f"rep{i}@example.com", name=f"Rep {i}", role="rep",
                         password_hash=hash_password(PASSWORD)) for i in range(3)]
            db.session.add_all(reps)
            db.session.commit()
            reps = [r.id for r in reps]
            client = app.test_client()
            Auth(client).login("admin@example.com", PASSWORD)
            print(f"database: {db.engine.url.get_backend_name()}; median of {repeat} requests per page "
                  "through the app's test client (logged in), 25 rows a page")
            now, done, worst = utcnow(), 0, 0
            for size in sizes:
                seed(org_id, sites, reps, done, size, now)
                done = size
                if db.engine.url.get_backend_name() == "postgresql":
                    db.session.execute(sa.text("ANALYZE"))
                    db.session.commit()
                print(f"{size:,} calls and contacts:")
                worst = max(worst, measure(client, org_id, sites, repeat))
            print(f"most statements on a page: {worst} (target ≤ 12)")
    finally:
        stop_embedded_redis(app)


if __name__ == "__main__":
    main()
