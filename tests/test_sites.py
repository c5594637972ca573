import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Site
from app.sites.service import InvalidDomain, normalize_domain


@pytest.mark.parametrize(("raw", "expected"), [
    ("example.com", "example.com"),
    ("https://WWW.Example.com:443/pricing?x=1", "www.example.com"),
    ("  shop.example.co.uk/  ", "shop.example.co.uk"),
    ("http://example.com.", "example.com"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("localhost:5000", "localhost"),
    ("127.0.0.1:8080", "127.0.0.1"),
])
def test_domains_are_normalized(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize("raw", ["", "example", "exa mple.com", "-bad.com", "a..b.com",
                                 "http://", "1.2.3", "ex_ample.com", "x" * 64 + ".com"])
def test_invalid_domains_are_refused(raw):
    with pytest.raises(InvalidDomain):
        normalize_domain(raw)


def test_admin_adds_site_and_sees_both_snippets(auth, admin):
    auth.login(admin.email)
    response = auth.post("/sites", {"domain": "https://Example.com/"})
    assert response.status_code == 303
    site = db.session.scalar(sa.select(Site))
    assert site.domain == "example.com" and site.public_key.startswith("pk_")
    html = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'data-ic-public-key="{site.public_key}"' in html
    assert 'src="http://converc.test/widget.js"' in html
    assert 'src="http://converc.test/embed.js"' in html
    assert 'data-ic-container="ic-embed"' in html and 'data-ic-embed-style="0"' in html


@pytest.mark.parametrize(("domain", "message"), [
    ("not a domain", "not a valid domain"),
    ("example.com", "already one of your sites"),
])
def test_bad_or_duplicate_domain_keeps_form_and_writes_nothing(auth, admin, domain, message):
    auth.login(admin.email)
    auth.post("/sites", {"domain": "example.com"})
    response = auth.post("/sites", {"domain": domain}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and "<html" not in html  # the fragment, for htmx
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 1


def test_several_sites_and_delete(auth, admin):
    auth.login(admin.email)
    for domain in ("a.example.com", "b.example.com"):
        auth.post("/sites", {"domain": domain})
    sites = db.session.scalars(sa.select(Site).order_by(Site.domain)).all()
    assert [s.domain for s in sites] == ["a.example.com", "b.example.com"]
    assert auth.post(f"/sites/{sites[0].id}/delete").status_code == 303
    assert [s.domain for s in db.session.scalars(sa.select(Site))] == ["b.example.com"]


def test_same_domain_in_two_organizations_gets_two_keys(auth, admin, other_admin):
    from app.sites.service import create_site

    a = create_site(admin.organization_id, "example.com")
    b = create_site(other_admin.organization_id, "example.com")
    assert a.public_key != b.public_key


def test_the_site_page_offers_a_domain_the_widget_was_refused_on(auth, admin, other_admin):
    """#18: the server saw the widget load on a domain the site does not list; the site's page
    says so and one click adds it, after which that page gets the config."""
    from app.sites.service import create_site

    site = create_site(admin.organization_id, "example.com")
    db.session.commit()
    client = auth.client

    def config(domain, origin=None):
        headers = {"Origin": origin} if origin else {}
        return client.get(f"/widget/config?public_key={site.public_key}&domain={domain}", headers=headers)

    assert config("127.0.0.1").status_code == 403
    assert config("<script>x</script>").status_code == 403  # nothing an admin could register: not noted
    assert config("example.com", origin="https://www.example.com").status_code == 403  # the Origin's host
    auth.login(admin.email)
    html = client.get(f"/sites/{site.id}").get_data(as_text=True)
    assert "We saw your widget load on <strong>127.0.0.1</strong>" in html
    assert "<strong>www.example.com</strong>" in html and "script" not in html.split("unregistered")[1][:2000]

    auth.login(other_admin.email)  # another organization's admin cannot add domains to it
    assert auth.post(f"/sites/{site.id}/domains", {"domain": "127.0.0.1"}).status_code == 404
    auth.login(admin.email)
    assert client.post(f"/sites/{site.id}/domains", data={"domain": "127.0.0.1"}).status_code == 400  # CSRF
    response = auth.post(f"/sites/{site.id}/domains", {"domain": "127.0.0.1"})
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "127.0.0.1 is now one of this site&#39;s domains" in html
    assert "<strong>127.0.0.1</strong>" not in html and "<strong>www.example.com</strong>" in html
    db.session.expire_all()
    assert db.session.get(Site, site.id).widget_settings.domain_aliases == ["127.0.0.1"]
    assert config("127.0.0.1").status_code == 200

    assert auth.post(f"/sites/{site.id}/domains", {"domain": "not a domain"}).status_code == 303
    html = client.get(f"/sites/{site.id}").get_data(as_text=True)
    assert "Not added: This is not a valid domain" in html
    db.session.expire_all()
    assert db.session.get(Site, site.id).widget_settings.domain_aliases == ["127.0.0.1"]


def test_only_the_newest_unregistered_domains_are_kept(app, admin):
    from app.sites import seen

    for i in range(seen.KEEP + 5):
        seen.note("site-1", f"host{i}.example.com")
    seen.note("site-1", "host0.example.com")  # noted again within the minute: one note is enough
    hosts = [h for h, _ in seen.recent("site-1", ["host14.example.com"])]
    assert hosts == [f"host{i}.example.com" for i in range(seen.KEEP + 4, 4, -1) if i != 14]
