"""The Recordings page (the organization's recordings, newest first, keyset pages) and the
Calls list's Recorded column."""

import re
from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import Contact, DefaultSchedule
from tests.recording_helpers import new_call, new_recording


def recorded(org_id, when=None, status="ready", duration=73.4, visitor=None, rep=None):
    recording = new_recording(org_id)
    recording.status, recording.duration_seconds = status, duration
    recording.created_at = when or datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    if visitor:
        contact = Contact(organization_id=org_id, fingerprint=f"fp-{visitor}", name=visitor)
        db.session.add(contact)
        db.session.flush()
        recording.call.contact_id = contact.id
    recording.call.accepted_by_id = rep.id if rep else None
    db.session.commit()
    return recording


def test_lists_the_organizations_recordings_in_its_timezone(client, auth, admin, rep, other_admin):
    db.session.add(DefaultSchedule(organization_id=admin.organization_id, timezone="Europe/Paris"))
    mine = recorded(admin.organization_id, visitor="Vera Visitor", rep=rep)
    preparing = recorded(admin.organization_id, status="assembling", duration=None,
                         when=datetime(2026, 11, 27, 15, 0, tzinfo=UTC))
    theirs = recorded(other_admin.organization_id, visitor="Gus Globex")
    auth.login(admin.email)
    html = client.get("/recordings").get_data(as_text=True)
    assert "2026-11-27 15:05 CET" in html  # 14:05 UTC, in the organization's timezone
    assert "Vera Visitor" in html and "Rex Rep" in html and "1:13" in html
    assert f'href="/calls/{mine.call_id}"' in html
    assert f'href="/calls/{mine.call_id}/recording">Listen<' in html
    assert f'href="/calls/{preparing.call_id}/recording">Preparing<' in html
    assert html.index(str(preparing.call_id)) < html.index(str(mine.call_id))  # newest first
    assert "Gus Globex" not in html and str(theirs.call_id) not in html
    assert 'href="/recordings"' in html  # in the sidebar


def test_recordings_are_keyset_paginated_and_htmx_gets_the_fragment(client, auth, admin):
    start = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    for i in range(30):
        recorded(admin.organization_id, when=start - timedelta(minutes=i))
    auth.login(admin.email)
    first = client.get("/recordings").get_data(as_text=True)
    assert first.count(">Listen<") == 25 and "Older" in first and "← Newer" not in first
    older = re.search(r'href="(/recordings\?before=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older, headers={"HX-Request": "true"})
    html = second.get_data(as_text=True)
    assert html.count(">Listen<") == 5 and "Older" not in html and "← Newer" in html
    assert "<!doctype" not in html.lower()
    newer = re.search(r'href="(/recordings\?after=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(newer).get_data(as_text=True).count(">Listen<") == 25


def test_no_recordings_says_how_calls_get_recorded(client, auth, admin):
    auth.login(admin.email)
    assert "Calls are recorded when a site" in client.get("/recordings").get_data(as_text=True)


def test_the_recordings_page_needs_a_login(client, admin):
    assert client.get("/recordings").status_code == 302


def test_the_calls_list_marks_recorded_calls(client, auth, admin):
    recording = recorded(admin.organization_id)
    failed = recorded(admin.organization_id, status="failed", when=datetime(2026, 11, 27, 16, 0, tzinfo=UTC))
    plain = new_call(admin.organization_id)
    db.session.commit()
    auth.login(admin.email)
    html = client.get("/calls").get_data(as_text=True)
    assert "<th>Recorded</th>" in html
    assert f'href="/calls/{recording.call_id}/recording">Listen<' in html
    assert f'href="/calls/{failed.call_id}/recording">Failed<' in html
    row = re.search(rf'<tr>\s*<td><a href="/calls/{plain.id}".*?</tr>', html, re.S).group(0)
    assert "/recording" not in row
