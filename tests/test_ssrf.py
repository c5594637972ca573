"""Webhook URLs are checked against SSRF (OWASP's cheat sheet, webhook case), at creation and delivery."""

import pytest

from app import outbound
from tests.conftest import bearer

BAD_URLS = [
    "http://93.184.215.14/hook",              # https required unless configuration allows http
    "https://127.0.0.1/hook", "https://127.9.9.9/", "https://localhost/hook", "https://localhost./hook",
    "https://[::1]/hook", "https://0.0.0.0/", "https://[::]/",
    "https://10.0.0.1/", "https://172.16.5.4/", "https://192.168.1.1/", "https://100.64.0.1/",
    "https://198.18.0.1/", "https://255.255.255.255/",
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/", "https://[fd00:ec2::254]/",
    "https://100.100.100.200/", "https://168.63.129.16/", "https://192.0.0.192/",
    "https://224.0.0.1/", "https://[ff02::1]/",
    "https://2130706433/", "https://017700000001/", "https://0177.0.0.1/", "https://0x7f.0.0.1/",
    "https://0x7f000001/", "https://127.1/", "https://0/",
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/", "https://[::ffff:93.184.215.14]/",
    "https://[64:ff9b::a9fe:a9fe]/", "https://[2002:7f00:1::]/",
    "https://user:pass@93.184.215.14/", "https://93.184.215.14@127.0.0.1/",
    "gopher://93.184.215.14/", "file:///etc/passwd", "javascript:alert(1)", "https:///nohost",
    "https://no-such-host.invalid/", "https://exa mple.com/", "https://93.184.215.14:99999/",
]


def test_the_matrix_is_big_enough():
    assert len(BAD_URLS) >= 25


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_url_is_refused_by_the_api(client, api_key, url):
    response = client.post("/integrations/webhooks", json={"url": url}, headers=bearer(api_key[1]))
    assert response.status_code == 400, url
    assert response.get_json()["error"]["message"].startswith("url")


@pytest.mark.parametrize("url", ["https://93.184.215.14/hook", "https://[2606:4700::1111]/in?x=1",
                                 "https://93.184.215.14:8443/"])
def test_public_addresses_pass(app, url):
    target = outbound.resolve(url)
    assert all(ip.is_global for ip in target.addresses)


def test_configuration_can_allow_a_range_and_http(make_app):
    app = make_app(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"], WEBHOOK_ALLOW_HTTP=True)
    with app.app_context():
        assert outbound.resolve("http://127.0.0.1:8080/x").addresses[0].is_loopback
        for still_bad in ("https://10.0.0.1/", "https://169.254.169.254/", "https://2130706433/"):
            with pytest.raises(outbound.UnsafeURL):
                outbound.resolve(still_bad)


def test_refused_delivery_says_why(app):
    response = outbound.post("https://169.254.169.254/", b"{}", {}, 1)
    assert response.status is None and response.error.startswith("Refused") and not response.ok
