"""Connection facts from the browsers: stored checked and bounded, shown on the call page, failed
connections counted on the troubleshooter; the TURN warning on the Sites and troubleshooter pages."""

import pytest

from app.calls import connection, service
from app.extensions import db
from tests.calls_support import go_online, make_site


def answered_call(admin, rep, fingerprint="fp-a"):
    site = make_site(admin.organization_id, f"{fingerprint}.example.com")
    go_online(rep)
    call = service.request_call(site, fingerprint=fingerprint, qualification={"answers": []})
    service.accept(call.id, rep)
    return call.id


def test_reports_build_the_sides_facts_and_junk_is_dropped(app, admin, rep):
    call_id = answered_call(admin, rep)
    for report in [
        {"event": "ice", "state": "checking", "at": 120},
        {"event": "ice", "state": "<script>", "at": 130},                      # not a state: ignored
        {"event": "ice", "state": "connected", "at": 850.5},
        {"event": "connected", "at": 851, "pair": {"local": "relay", "remote": "srflx", "protocol": "udp"}},
        {"event": "quality", "at": 5000, "quality": {"rttMs": 41.234, "jitterMs": "x", "packetLossPct": 700,
                                                     "bitrateKbps": 612.5, "framesDecoded": 140, "evil": 1}},
        {"event": "failed", "reason": "ice_failed", "at": 9000},               # it had connected: kept
        {"event": "bogus"},
    ]:
        connection.record_report(call_id, "visitor", report)
    connection.record_report(call_id, "rep", {"event": "connected", "at": 900,
                                              "pair": {"local": "host'", "remote": "relay"}})
    facts = connection.for_call(call_id)
    visitor = facts["visitor"]
    assert [s["state"] for s in visitor.ice_states] == ["checking", "connected"]
    assert (visitor.local_candidate, visitor.remote_candidate, visitor.protocol) == ("relay", "srflx", "udp")
    assert visitor.connected_after_ms == 851 and visitor.failure_reason is None
    assert visitor.quality == {"rttMs": 41.23, "packetLossPct": 100.0, "bitrateKbps": 612.5,
                               "framesDecoded": 140.0}
    assert facts["rep"].local_candidate is None and facts["rep"].remote_candidate == "relay"
    assert facts["rep"].organization_id == admin.organization_id


def test_the_call_page_shows_both_sides_and_the_troubleshooter_counts_failures(client, auth, admin, rep):
    connected = answered_call(admin, rep, "fp-ok")
    connection.record_report(connected, "visitor", {"event": "connected", "at": 1500,
                                                    "pair": {"local": "relay", "remote": "relay"}})
    quality = {"rttMs": 80, "jitterMs": 3}
    connection.record_report(connected, "visitor", {"event": "quality", "quality": quality})
    service.end(connected, "rep_hung_up")
    broken = answered_call(admin, rep, "fp-ko")
    connection.record_report(broken, "rep", {"event": "ice", "state": "checking", "at": 10})
    connection.record_report(broken, "rep", {"event": "failed", "reason": "ice_failed", "at": 30000})
    service.end(broken, "rep_hung_up")
    db.session.commit()
    auth.login(admin.email)

    page = client.get(f"/calls/{connected}").get_data(as_text=True)
    assert "after 1.5 s" in page and "relay → relay" in page and "relayed through TURN" in page
    assert "RTT 80 ms" in page and "jitter 3 ms" in page
    page = client.get(f"/calls/{broken}").get_data(as_text=True)
    assert "ice failed" in page and "<strong>no</strong>" in page

    status = client.get("/settings/availability/status").get_data(as_text=True)
    assert "<strong>1</strong> of 2 answered calls" in status


@pytest.mark.parametrize("path", ["/sites", "/settings/availability/status"])
def test_pages_warn_when_no_turn_server_is_configured(make_app, admin, path):
    from tests.conftest import Auth

    for turn_urls, warned in (([], True), (["turn:turn.example.com:3478"], False)):
        app = make_app(ICE_TURN_URLS=turn_urls)
        with app.app_context():
            client = app.test_client()
            Auth(client).login(admin.email)
            page = client.get(path).get_data(as_text=True)
            assert ("calls between networks may fail" in page) is warned
            assert ("ICE_TURN_URLS=" in page and "ICE_TURN_SECRET=" in page) is warned
