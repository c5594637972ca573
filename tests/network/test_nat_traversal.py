"""The visitor's and the rep's Chromium each behind its own NAT (network namespaces, nftables
masquerade; see netns.py), the app and coturn on the "public" side. The call connects, on a
candidate pair STUN or TURN provided; the same two browsers without ICE servers cannot connect
at all, so it connected only thanks to STUN/TURN. Then the visitor's network drops for 5 s
mid-call: the rep is told "reconnecting…", and the same call's media resumes."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, call_through_the_widget, log_in, snippet
from tests.browser.test_calls import wait_for_media
from tests.browser.test_widget import add_question
from tests.calls_support import make_site
from tests.conftest import free_port
from tests.network.netns import PUBLIC, NattedNetworks, require_netns
from tests.network.nodes import start_node, stop_node
from tests.network.turn import Turn
from tests.network.webrtc import selected_pair

APP_HOST, SHOP_HOST = "converc.test", "shop.test"


@pytest.fixture
def nets():
    require_netns()
    networks = NattedNetworks().up()
    yield networks
    networks.down()


@pytest.fixture
def turn(nets, tmp_path):
    server = Turn(tmp_path, listen_ip=PUBLIC, allowed_peers=("10.231.0.0-10.231.255.255",))
    yield server
    server.stop()


@pytest.fixture
def public_app(app, settings, turn):
    port = free_port()
    proc, _ = start_node(settings, workers=1, port=port, bind_host=PUBLIC,
                         BASE_URL=f"http://{APP_HOST}:{port}", **turn.app_env())
    yield port
    stop_node(proc)


class ShopServer:
    """The customer's site, on the public address: one page with the real snippet."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer((PUBLIC, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def browser_in(playwright, nets, side, tmp_path, app_port, shop_port):
    """Chromium started inside that side's namespace; our two names resolve to the public address."""
    wrapper = Path(tmp_path) / f"chromium-{side}"
    wrapper.write_text(f"#!/bin/sh\nexec {' '.join(nets.exec_prefix(side))} {CHROMIUM} \"$@\"\n")
    wrapper.chmod(0o755)
    origins = f"http://{APP_HOST}:{app_port},http://{SHOP_HOST}:{shop_port}"
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {APP_HOST} {PUBLIC},MAP {SHOP_HOST} {PUBLIC}",
            # camera and microphone need a secure context: these plain-HTTP test origins count as one
            f"--unsafely-treat-insecure-origin-as-secure={origins}"]
    return playwright.chromium.launch(executable_path=str(wrapper), headless=True, args=args)


# two bare RTCPeerConnections without ICE servers, offer/answer carried by the test
BARE_PEER = """async (offer) => {
  const pc = new RTCPeerConnection({iceServers: []});
  window.barePc = pc;
  pc.addTransceiver("audio");
  const done = new Promise((resolve) => {
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") resolve(); };
  });
  if (offer) { await pc.setRemoteDescription(offer); await pc.setLocalDescription(await pc.createAnswer()); }
  else { await pc.setLocalDescription(await pc.createOffer()); }
  await done;
  return pc.localDescription.toJSON();
}"""


@pytest.fixture
def natted_call(playwright_instance, nets, turn, public_app, admin, rep, tmp_path):
    """A call through the real widget between the two NATed browsers, connected, media flowing."""
    app_port = public_app
    site = make_site(admin.organization_id, SHOP_HOST, ring_timeout_seconds=60)
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    shop = ShopServer(snippet(f"http://{APP_HOST}:{app_port}", site.public_key))
    rep.available = True
    db.session.commit()
    browsers = [browser_in(playwright_instance, nets, side, tmp_path, app_port, shop.port)
                for side in ("visitor", "rep")]
    try:
        visitor = browsers[0].new_context().new_page()
        rep_page = browsers[1].new_context(base_url=f"http://{APP_HOST}:{app_port}").new_page()
        for page in (visitor, rep_page):  # four processes of Chromium and the app: a loaded machine is slow
            page.set_default_timeout(90_000)
        log_in(rep_page, rep.email)
        call_through_the_widget(visitor, f"http://{SHOP_HOST}:{shop.port}/pricing")
        alert = rep_page.get_by_role("alertdialog", name="Incoming call")
        alert.get_by_role("button", name="Accept").click()
        rep_page.wait_for_url("**/calls/*/live")
        wait_for_media(visitor, "ConvercCall.current", timeout=60)
        wait_for_media(rep_page, "ConvercCallScreen.session", timeout=60)
        expect(rep_page.locator("#call-status")).to_contain_text("Connected")
        yield visitor, rep_page
    finally:
        for browser in browsers:
            browser.close()
        shop.server.shutdown()


def test_a_call_between_two_natted_networks_connects_only_thanks_to_stun_and_turn(natted_call):
    visitor, rep_page = natted_call
    for page, session in ((visitor, "ConvercCall.current"), (rep_page, "ConvercCallScreen.session")):
        pair = selected_pair(page, session)
        # a path STUN (srflx, or peer-reflexive learnt from it) or TURN (relay) found: never host to host
        assert {pair["local"], pair["remote"]} & {"relay", "srflx", "prflx"}, pair

    # the control: the same two browsers, no STUN, no TURN: ICE finds no path at all
    offer = visitor.evaluate(BARE_PEER, None)
    answer = rep_page.evaluate(BARE_PEER, offer)
    visitor.evaluate("(answer) => window.barePc.setRemoteDescription(answer)", answer)
    deadline, seen = time.monotonic() + 90, []
    while time.monotonic() < deadline and not {"failed", "disconnected", "connected"} & set(seen):
        seen.append(visitor.evaluate("window.barePc.iceConnectionState"))
        time.sleep(0.5)
    # the connectivity checks ran and nothing answered them (Chromium: disconnected, later failed)
    assert seen[-1] in ("failed", "disconnected") and "connected" not in seen, seen


# every status line the rep's call screen shows, kept in order
WATCH_STATUS = """() => {
  const line = document.getElementById("call-status");
  window.statusSeen = [line.textContent];
  new MutationObserver(() => window.statusSeen.push(line.textContent))
    .observe(line, {childList: true, characterData: true, subtree: true});
}"""


def frames(page, session):
    return page.evaluate(f"() => {session}.stats()")["framesDecoded"]


def test_a_five_second_network_drop_mid_call_and_the_media_resumes(natted_call, nets):
    visitor, rep_page = natted_call
    rep_page.evaluate(WATCH_STATUS)
    nets.drop("visitor")  # the visitor's router forwards nothing, either way
    time.sleep(5)
    # ICE notices the silence after a few seconds of missed checks, later on a busy machine: the
    # path stays cut until the rep is told, however long that takes
    expect(rep_page.locator("#call-status")).to_contain_text("reconnecting", timeout=60000)
    before = (frames(visitor, "ConvercCall.current"), frames(rep_page, "ConvercCallScreen.session"))
    nets.restore("visitor")

    # the same call comes back (ICE mends the path; the signalling socket held or reconnected)
    deadline = time.monotonic() + 60
    while True:
        after = (frames(visitor, "ConvercCall.current"), frames(rep_page, "ConvercCallScreen.session"))
        if after[0] > before[0] + 30 and after[1] > before[1] + 30:
            break
        assert time.monotonic() < deadline, f"media did not resume: {before} -> {after}"
        time.sleep(0.5)
    expect(rep_page.locator("#call-status")).to_contain_text("Connected")
    seen = rep_page.evaluate("window.statusSeen")
    assert any("reconnecting" in text for text in seen), seen  # the rep was told while it was down
    assert visitor.evaluate("ConvercCall.current.pc.iceConnectionState") in ("connected", "completed")
