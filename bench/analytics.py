"""The Analytics page with 1,000,000 calls over 50 sites: it reads daily aggregates, never the calls.

Prints figures; it is not a test. Steps:
1. A PostgreSQL database of its own (BENCH_DATABASE_URL, default .../bench_analytics, created when
   missing, its tables dropped and migrated afresh), one organization (Europe/Berlin) with 50 sites
   and 20 reps on the team's hours, and a second, empty organization (the anchor).
2. 1,000,000 calls over the last 365 days generated inside PostgreSQL (INSERT … SELECT
   generate_series: every outcome, answer times, talk times, qualification answers), 20,000
   callbacks; then the roll-up's first, full pass, timed (the cron pass after it only redoes a day).
3. gunicorn started the way `make run` does; an admin of each organization logs in; GET /analytics
   (the last 30 days, the default) and the last 365 days, p50/p95 over --rounds requests each,
   against the same page of the empty organization measured in the same run. Target: < 300 ms.

Uses Redis db BENCH_REDIS_URL (default redis://127.0.0.1:6379/6; flushed at start). BENCH_CALLS changes
the size.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:5432/bench_analytics"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
CALLS = int(os.environ.get("BENCH_CALLS", "1000000"))
SITES, REPS, PASSWORD = 50, 20, "bench-analytics-2026"


def create_database() -> None:
    import psycopg

    base, name = DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def seed(app) -> dict:
    """Two organizations; the big one's sites and reps; the calls and callbacks in SQL."""
    import sqlalchemy as sa

    from app.auth.service import sign_up
    from app.extensions import db
    from app.models import DefaultSchedule, Organization
    from app.sites.service import create_site
    from tests.conftest import make_member

    with app.app_context():
        admin = sign_up("Big", "Bea Bench", "bea@big.example.com", PASSWORD)
        sign_up("Empty", "Emil Empty", "emil@empty.example.com", PASSWORD)
        org_id = admin.organization_id
        db.session.get(Organization, org_id).timezone = "Europe/Berlin"
        db.session.add(
            DefaultSchedule(
                organization_id=org_id, timezone="Europe/Berlin", weekly=[[[540, 1020]]] * 5 + [[], []]
            )
        )
        sites = [create_site(org_id, f"site{i}.example.com").id for i in range(SITES)]
        reps = [make_member(org_id, f"rep{i}@big.example.com", "rep", f"Rep {i}").id for i in range(REPS)]
        db.session.commit()
        started = time.perf_counter()
        db.session.execute(
            sa.text(CALLS_SQL),
            {"org": org_id, "sites": [str(s) for s in sites], "reps": [str(r) for r in reps], "n": CALLS},
        )
        db.session.execute(
            sa.text(CALLBACKS_SQL), {"org": org_id, "sites": [str(s) for s in sites], "n": CALLS // 50}
        )
        db.session.commit()
        took = time.perf_counter() - started
        print(f"generated {CALLS:,} calls and {CALLS // 50:,} callbacks in {took:.1f} s")
        return {"org_id": org_id}


# outcomes by g: 55% answered and ended, 2% answered and still going, 28% missed, 15% canceled; requested
# at random moments of the last 365 days; a third carry an answer to a single-select question
CALLS_SQL = """
INSERT INTO call (id, organization_id, site_id, status, media_type, session_id, visitor_fingerprint,
                  answers, attributes, requested_at, accepted_at, ended_at, accepted_by_id, end_reason,
                  recording_policy, recording_consent, updated_at)
SELECT gen_random_uuid(), CAST(:org AS uuid), (CAST(:sites AS uuid[]))[1 + g % 50],
       s.status, 'video', gen_random_uuid(), 'fp' || g,
       CASE WHEN g % 3 = 0 THEN CAST('[{"question": {"label": "Team size", "type": "single_select", "options":
            [{"label": "1-10", "value": "1-10"}, {"label": "11-50", "value": "11-50"}, {"label": "51+",
            "value": "51+"}]}, "answer": {"value": "' || (ARRAY['1-10', '11-50', '51+'])[1 + (g / 3) % 3]
            || '"}}]' AS json) ELSE CAST('[]' AS json) END,
       CAST('{}' AS json), t.at,
       CASE WHEN s.status IN ('ended', 'accepted') THEN t.at + (2 + g % 40) * interval '1 second' END,
       CASE WHEN s.status = 'ended' THEN t.at + (60 + g % 900) * interval '1 second'
            WHEN s.status IN ('missed', 'canceled') THEN t.at + interval '30 seconds' END,
       CASE WHEN s.status IN ('ended', 'accepted') THEN (CAST(:reps AS uuid[]))[1 + g % 20] END,
       NULL, 'off', false, t.at
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT now() - random() * interval '365 days' - (g % 7) * interval '1 hour' AS at) AS t
CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < 55 THEN 'ended' WHEN g % 100 < 57 THEN 'accepted'
                                WHEN g % 100 < 85 THEN 'missed' ELSE 'canceled' END AS status) AS s
"""
CALLBACKS_SQL = """
INSERT INTO callback (id, organization_id, site_id, reason, status, preferred_window, answers, attributes,
                      due_at, created_at, completed_at, updated_at)
SELECT gen_random_uuid(), CAST(:org AS uuid), (CAST(:sites AS uuid[]))[1 + g % 50], 'missed',
       CASE WHEN g % 2 = 0 THEN 'done' ELSE 'open' END, 'asap', CAST('[]' AS json), CAST('{}' AS json),
       t.at, t.at, CASE WHEN g % 2 = 0 THEN t.at + (g % 3000) * interval '1 minute' END, t.at
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT now() - random() * interval '360 days' AS at) AS t
"""


def roll_up(app) -> None:
    from app.analytics import rollup

    with app.app_context():
        started = time.perf_counter()
        rollup.rollup()
        first = time.perf_counter() - started
        started = time.perf_counter()
        rollup.rollup()
        again = time.perf_counter() - started
    print(
        f"roll-up: first full pass {first:.1f} s; the next pass (what cron runs every minute) {again:.2f} s"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int):
    """gunicorn with `make run`'s flags (scripts/run.sh), its access log thrown away."""
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "-k",
            "gthread",
            "--threads",
            "64",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            requests.get(f"http://127.0.0.1:{port}/widget/ping", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def login(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf-token" content="([^"]+)"', session.get(f"{base}/login").text).group(1)
    answer = session.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert answer.ok and "/login" not in answer.url, "login failed"
    return session


def timed(session: requests.Session, url: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = session.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.status_code
    return times


def summary(name: str, times: list[float]) -> float:
    p95 = sorted(times)[max(int(len(times) * 0.95) - 1, 0)]
    p50 = statistics.median(times)
    print(f"{name:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({len(times)} requests)")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    args = parser.parse_args()
    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL})
    from flask_migrate import upgrade

    from app import create_app

    app = create_app()
    if not args.reuse:
        create_database()
        with app.app_context():
            upgrade()
            app.extensions["redis"].flushdb()
        seed(app)
        roll_up(app)
    port = free_port()
    server = start_gunicorn(port)
    try:
        base = f"http://127.0.0.1:{port}"
        big, empty = login(base, "bea@big.example.com"), login(base, "emil@empty.example.com")
        for session in (big, empty):  # each worker's first request pays for imports and connections
            timed(session, f"{base}/analytics", 4)
        rows = []
        for label, query in (("last 30 days", ""), ("last 365 days", "?from=" + year_ago())):
            page = summary(
                f"/analytics {label}, 1M calls, 50 sites", timed(big, f"{base}/analytics{query}", args.rounds)
            )
            anchor = summary(
                f"/analytics {label}, empty organization",
                timed(empty, f"{base}/analytics{query}", args.rounds),
            )
            rows.append((label, page, anchor))
        for label, page, anchor in rows:
            verdict = "meets" if page < 300 else "MISSES"
            print(
                f"{label}: {page:.1f} ms vs the empty organization's {anchor:.1f} ms = {page / anchor:.2f}x; "
                f"{verdict} the 300 ms target"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


def year_ago() -> str:
    """365 days before today in the organization's timezone: a range of 366 days, the longest allowed."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo("Europe/Berlin")).date() - timedelta(days=365)).isoformat()


if __name__ == "__main__":
    main()
