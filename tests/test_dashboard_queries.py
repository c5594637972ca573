"""The dashboard's long lists cost a bounded number of SQL statements at any size, and contact
search goes through its index (folded text: any case, with or without accents)."""

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Call, Contact, Recording
from app.models.base import utcnow
from app.sites.service import create_site
from tests.conftest import make_member, statements

MAX_STATEMENTS = 12


def add_calls(admin, count: int, start: int = 0) -> None:
    """`count` recorded calls, each with its own contact, over several sites and reps (lazy loads
    would show)."""
    sites = [create_site(admin.organization_id, f"s{start}-{i}.example.com") for i in range(3)]
    reps = [make_member(admin.organization_id, f"r{start}-{i}@example.com") for i in range(3)]
    now, recordings = utcnow(), []
    for i in range(start, start + count):
        contact = Contact(organization_id=admin.organization_id, fingerprint=f"fp{i}", name=f"Visitor {i}",
                          email=f"v{i}@example.org", last_seen_at=now - timedelta(minutes=i))
        org, when = admin.organization_id, now - timedelta(minutes=i)
        call = Call(id=uuid.uuid4(), organization_id=org, site=sites[i % 3], contact=contact,
                    accepted_by=reps[i % 3], status="ended", visitor_fingerprint=f"fp{i}", requested_at=when)
        db.session.add(call)
        recordings.append(Recording(organization_id=org, call_id=call.id, policy="notice", status="ready",
                                    duration_seconds=60.0, created_at=when))
    db.session.flush()  # the calls first: nothing tells the unit of work a recording needs its call
    db.session.add_all(recordings)
    db.session.commit()


@pytest.mark.parametrize("path", ["/calls", "/contacts", "/recordings"])
def test_a_page_costs_the_same_few_statements_at_any_size(client, auth, admin, path):
    auth.login(admin.email)
    add_calls(admin, 3)
    client.get(path)  # the first request of a process loads what it keeps
    with statements() as small:
        assert client.get(path).status_code == 200
    add_calls(admin, 60, start=3)
    with statements() as large:
        html = client.get(path).get_data(as_text=True)
    assert len(large) <= MAX_STATEMENTS, "\n".join(large)
    assert len(large) == len(small)
    assert not any("count(" in s.lower() for s in large)
    older = re.search(r'href="([^"]+before=[^"]+)"', html).group(1).replace("&amp;", "&")
    with statements() as deep:
        assert client.get(older).status_code == 200
    assert len(deep) == len(large)


def test_older_and_newer_walk_every_call_once(client, auth, admin):
    add_calls(admin, 60)
    auth.login(admin.email)
    seen, url = [], "/calls"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r'href="/contacts/[^"]+">(Visitor \d+)<', html)
        found = re.search(r'href="(/calls\?before=[^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == [f"Visitor {i}" for i in range(60)]


@pytest.mark.parametrize(("query", "found"), [
    ("zoe", True), ("ZOË", True), ("Åström", True), ("astrom", True), ("zoe.astrom@exa", True),
    ("512 555-0100", True), ("5125550100", True), ("zoe nobody", False), ("100%", False),
])
def test_search_finds_by_folded_text(client, auth, admin, query, found):
    db.session.add(Contact(organization_id=admin.organization_id, fingerprint="fp-zoe", name="Zoë Åström",
                           email="Zoe.Astrom@Example.com", phone="+1 (512) 555-0100"))
    db.session.add(Contact(organization_id=admin.organization_id, fingerprint="fp-bob", name="Bob Other"))
    db.session.commit()
    auth.login(admin.email)
    html = client.get("/contacts", query_string={"q": query}).get_data(as_text=True)
    assert ("Zoë Åström" in html) is found
    assert "Bob Other" not in html


def test_a_changed_name_is_searchable(app, admin):
    from app.contacts import service

    contact = Contact(organization_id=admin.organization_id, fingerprint="fp-1", name="Old Name")
    db.session.add(contact)
    db.session.commit()
    service.update(contact, {"name": "Renée Nouveau"})
    found = db.session.scalars(service.matching(sa.select(Contact), "renee")).all()
    assert [c.id for c in found] == [contact.id]


def test_search_uses_the_index(app, admin):
    from app.contacts import service

    query = service.matching(sa.select(Contact), "astrom")
    if db.engine.dialect.name != "postgresql":
        # SQLite: one LIKE on the folded column, no function over every row's name
        sql = str(query.compile(db.engine)).lower()
        assert "contact.search_text like" in sql and "lower(" not in sql
        return
    with db.engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))  # a tiny table: ask the planner what it would use
        compiled = query.compile(dialect=conn.dialect)
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
    assert "ix_contact_search_trgm" in plan, plan
