"""NAT traversal, tested: a real coturn with the REST-secret credentials the app mints, and a
call through the real widget whose browsers may only use TURN (ICE_TRANSPORT_POLICY=relay):
it connects, the selected candidate pair is relay on both sides, video is decoded both ways,
and coturn's log shows both participants' allocations."""

import time

import pytest
from playwright.sync_api import expect

from app.calls import connection
from app.extensions import db
from tests.browser.conftest import call_through_the_widget, start_server
from tests.browser.test_calls import the_call, wait_for_media
from tests.network.turn import Turn
from tests.network.webrtc import selected_pair


@pytest.fixture
def turn(tmp_path):
    server = Turn(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def live_server(app, settings, turn):
    """The app as `make run` starts it, told to hand out the coturn's URLs and to relay only."""
    proc, url = start_server(settings, extra_env={**turn.app_env(), "ICE_TRANSPORT_POLICY": "relay"})
    yield url
    proc.terminate()
    proc.wait(10)


def test_media_flows_through_turn_when_relay_is_forced(rep_page, visitor, customer_site, turn):
    _, url = customer_site
    call_through_the_widget(visitor, url)
    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    alert.get_by_role("button", name="Accept").click()
    rep_page.wait_for_url("**/calls/*/live")

    wait_for_media(visitor, "ConvercCall.current", timeout=45)
    wait_for_media(rep_page, "ConvercCallScreen.session", timeout=45)
    for page, session in ((visitor, "ConvercCall.current"), (rep_page, "ConvercCallScreen.session")):
        pair = selected_pair(page, session)
        assert (pair["local"], pair["remote"]) == ("relay", "relay") and pair["bytesReceived"] > 0
    expect(rep_page.locator("#call-status")).to_contain_text("Connected")
    # both browsers allocated on our coturn with the credentials the app minted for them
    assert turn.allocations_for("visitor-") >= 1 and turn.allocations_for("rep-") >= 1

    # each browser reported its connection over the call socket; the call page shows it
    call_id = the_call().id
    deadline = time.monotonic() + 40
    while True:
        db.session.expire_all()
        facts = connection.for_call(call_id)
        if len(facts) == 2 and all(f.connected and f.quality for f in facts.values()):
            break
        assert time.monotonic() < deadline, f"no full report from both browsers: {facts}"
        time.sleep(0.5)
    for side in facts.values():
        assert (side.local_candidate, side.remote_candidate) == ("relay", "relay")
        assert side.quality["framesDecoded"] > 0 and side.quality["rttMs"] >= 0
        assert any(s["state"] == "connected" for s in side.ice_states)
    rep_page.get_by_role("button", name="Hang up").click()
    rep_page.wait_for_url(f"**/calls/{call_id}")
    facts_card = rep_page.locator(".connection-facts")
    expect(facts_card).to_contain_text("relay → relay (udp) · relayed through TURN")
