"""The widget's languages: one catalogue per language, the site's language and "follow the
browser" on Widget Settings, the admin's copy kept per language, the catalogues served to the flow."""

import re
from pathlib import Path

import pytest

from app import i18n
from app.extensions import db
from app.models.widget import DEFAULT_COPY, settings_for, theme_for
from app.sites.service import create_site
from tests.test_widget_admin import SETTINGS, THEME, config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site(admin):
    return create_site(admin.organization_id, "example.com")


@pytest.fixture
def logged_in(auth, admin):
    auth.login(admin.email)
    return auth


@pytest.mark.parametrize("code", sorted(i18n.LANGUAGES))
def test_every_catalogue_has_exactly_the_english_keys_and_placeholders(code):
    english, other = i18n.catalogue("en"), i18n.catalogue(code)
    assert set(other) == set(english)
    for key, text in english.items():
        assert text and other[key], key
        assert set(re.findall(r"\{\w+\}", other[key])) == set(re.findall(r"\{\w+\}", text)), key


def test_the_theme_defaults_are_the_english_catalogue():
    assert {k: i18n.catalogue("en")[k] for k in DEFAULT_COPY} == DEFAULT_COPY


def test_every_string_the_widget_uses_is_in_the_catalogue():
    """flow.js and call.js look strings up by key: each key they name exists."""
    keys = set(i18n.catalogue("en"))
    for name in ("flow.js", "call.js"):
        source = (ROOT / "static" / "widget" / name).read_text()
        used = set(re.findall(r"""\bt\(\s*"([\w.]+)""", source))
        used |= set(re.findall(r'[:?]\s*"((?:flow|call)\.[a-zA-Z]+)"', source))  # the error maps, a ? b : c
        used = {k for k in used if not k.endswith(".")}  # t("flow." + name): flow.name/email/phone
        assert used and used <= keys, (name, used - keys)


def test_the_catalogue_is_served_to_any_origin_with_a_long_cache(client):
    response = client.get(f"/widget/strings/ar.json?v={i18n.version()}", headers={"Origin": "https://shop.example"})
    assert response.status_code == 200 and response.get_json()["call.hangUp"] == "إنهاء المكالمة"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "immutable" in response.headers["Cache-Control"]
    assert "immutable" not in client.get("/widget/strings/ar.json").headers["Cache-Control"]
    missing = client.get("/widget/strings/xx.json")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "language_not_found"


def test_language_and_follow_browser_reach_the_widget(logged_in, client, site):
    assert config(client, site)["language"] == {"default": "en", "followBrowser": False,
                                               "available": list(i18n.LANGUAGES)}
    response = logged_in.post(f"/widget/settings/{site.id}", {**SETTINGS, "language": "de",
                                                              "follow_browser_language": "y"})
    assert response.status_code == 200
    body = config(client, site)
    assert body["language"]["default"] == "de" and body["language"]["followBrowser"] is True
    # the badge and the panel's title, before the flow loads, speak the site's language
    assert body["theme"]["copy"]["welcomeTitle"] == "Sprechen Sie mit unserem Team"
    assert body["assets"]["strings"] == i18n.version()


def test_the_loaders_own_strings_come_in_each_language_it_may_pick(logged_in, client, site):
    """The badge, "Loading…", the load error and ×, before flow.js: the site's language only, or
    every language when the widget follows the browser; the admin's own badge label stays theirs."""
    assert config(client, site)["strings"] == {"en": {
        "badge": "Talk to us live", "loading": "Loading…", "close": "Close",
        "welcomeTitle": "Talk to our team", "start": "Start",
        "unavailable": "Nobody can take a call right now.",
        "failed": "This could not load. Check your connection and try again."}}
    follow = {**SETTINGS, "language": "de", "follow_browser_language": "y", "badge_label": "Talk to us live"}
    logged_in.post(f"/widget/settings/{site.id}", follow)  # the badge label left at its default
    strings = config(client, site)["strings"]
    assert set(strings) == set(i18n.LANGUAGES)
    assert strings["ar"]["badge"] == i18n.catalogue("ar")["loader.badge"] == "تحدّث معنا مباشرة"
    assert strings["de"]["welcomeTitle"] == "Sprechen Sie mit unserem Team"
    assert strings["fr"]["failed"] == i18n.catalogue("fr")["loader.failed"]

    logged_in.post(f"/widget/settings/{site.id}", {**SETTINGS, "badge_label": "Frag Anna", "language": "de"})
    strings = config(client, site)["strings"]
    assert list(strings) == ["de"] and strings["de"]["badge"] == "Frag Anna"


def test_an_unknown_language_is_refused_next_to_the_field(logged_in, site):
    response = logged_in.post(f"/widget/settings/{site.id}", {**SETTINGS, "language": "xx"},
                              headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Choose a language from the list." in response.get_data(as_text=True)
    assert settings_for(site).language == "en"


def test_the_admins_copy_is_kept_per_language(logged_in, client, site):
    logged_in.post(f"/widget/theme/{site.id}", {**THEME, "copy_unavailable": "Back soon!"})
    page = client.get(f"/widget/theme?site={site.id}&lang=es").get_data(as_text=True)
    assert 'value="Ahora mismo nadie puede atender una llamada."' in page  # the Spanish default
    logged_in.post(f"/widget/theme/{site.id}", {**THEME, "copy_language": "es",
                                               "copy_unavailable": "¡Volvemos pronto!",
                                               "copy_ready": i18n.catalogue("es")["ready"]})
    both = {"en": {"unavailable": "Back soon!"}, "es": {"unavailable": "¡Volvemos pronto!"}}
    assert theme_for(site).copy == both
    overrides = config(client, site)["theme"]["copyOverrides"]
    assert overrides == both
    assert 'value="Back soon!"' in client.get(f"/widget/theme?site={site.id}&lang=en").get_data(as_text=True)


def test_copy_saved_before_languages_is_the_english_copy(site):
    theme = theme_for(site)
    theme.copy = {"unavailable": "Back soon!"}
    db.session.commit()
    assert theme.overrides() == {"en": {"unavailable": "Back soon!"}}
    assert theme.copy_with_defaults("en")["unavailable"] == "Back soon!"
    assert theme.copy_with_defaults("fr")["unavailable"] == i18n.catalogue("fr")["unavailable"]


def test_qualify_answers_in_the_visitors_language(client, site):
    body = client.post("/widget/qualify", json={"publicKey": site.public_key, "domain": "example.com",
                                                "answers": {}, "contact": {"email": "v@example.org"},
                                                "language": "fr"}).get_json()
    assert body["message"] == i18n.catalogue("fr")["ready"]
