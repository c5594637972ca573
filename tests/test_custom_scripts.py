"""Custom Scripts: the admin page (versions, rollback, audit log, kill switch), the files and CSP
that let a dashboard page run them, the widget config that carries them, and their reports."""

import json
import re

import pytest
import sqlalchemy as sa

from app.calls import service as calls
from app.custom_scripts import service as svc
from app.extensions import db
from app.models.custom_scripts import CustomScript, CustomScriptAudit, CustomScriptLog
from tests.calls_support import go_online, make_site

BUTTON = (
    "export default function (ctx) { const b = document.createElement('button'); ctx.mount(b); "
    "return () => {}; }"
)
BUTTON_V2 = BUTTON.replace("button'", "button' /* v2 */")


def file_path(script) -> str:
    version = script.current
    return f"/custom-scripts/files/{version.id}-{version.sha256[:20]}.{script.kind}"


def form(**fields):
    data = {"name": "CRM button", "surface": "dashboard", "kind": "js", "enabled": "y", "content": BUTTON}
    data.update(fields)
    return data


def create(auth, **fields):
    response = auth.post("/custom-scripts", form(**fields))
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalar(sa.select(CustomScript).order_by(CustomScript.created_at.desc()))


def actions(org_id):
    return [
        a.action
        for a in db.session.scalars(
            sa.select(CustomScriptAudit)
            .where(CustomScriptAudit.organization_id == org_id)
            .order_by(CustomScriptAudit.created_at)
        )
    ]


def test_create_edit_version_rollback_delete_with_audit_log(client, auth, admin):
    auth.login(admin.email)
    page = client.get("/custom-scripts").get_data(as_text=True)
    assert "Help Center portal" in page and "Stop all scripts" in page

    script = create(auth, pages=["call"])
    assert (script.surface, script.kind, script.screens, script.version) == ("dashboard", "js", ["call"], 1)
    shown = client.get(f"/custom-scripts/{script.id}").get_data(as_text=True)
    assert "CRM button" in shown and "v1" in shown and "Roll back" not in shown

    # new code is a new version; a rename alone is not
    assert (
        auth.post(
            f"/custom-scripts/{script.id}",
            form(name="CRM", pages=["call"], content=BUTTON_V2, note="Bigger button"),
        ).status_code
        == 303
    )
    db.session.refresh(script)
    assert (script.name, script.version, script.current.content) == ("CRM", 2, BUTTON_V2)
    assert (
        auth.post(
            f"/custom-scripts/{script.id}", form(name="CRM button", pages=["call"], content=BUTTON_V2)
        ).status_code
        == 303
    )
    db.session.refresh(script)
    assert script.version == 2

    # one click: version 1 runs again, as version 3 (the history only grows)
    page = client.get(f"/custom-scripts/{script.id}").get_data(as_text=True)
    assert "Roll back to v1" in page and "Bigger button" in page
    assert auth.post(f"/custom-scripts/{script.id}/rollback", {"version": "1"}).status_code == 303
    db.session.refresh(script)
    assert (script.version, script.current.content, len(script.versions)) == (3, BUTTON, 3)
    assert script.current.note == "Rollback to version 1"
    assert auth.post(f"/custom-scripts/{script.id}/rollback", {"version": "3"}).status_code == 422

    assert auth.post(f"/custom-scripts/{script.id}/enabled", {"enabled": "0"}).status_code == 303
    db.session.refresh(script)
    assert script.enabled is False

    script_id = script.id
    assert auth.post(f"/custom-scripts/{script_id}/delete").status_code == 303
    assert db.session.scalar(sa.select(CustomScript).where(CustomScript.id == script_id)) is None
    assert actions(admin.organization_id) == [
        "created",
        "updated",
        "updated",
        "rolled back",
        "disabled",
        "deleted",
    ]
    log = client.get("/custom-scripts").get_data(as_text=True)
    assert "Ada Admin" in log and "rolled back" in log and "to version 1 (now version 3)" in log


@pytest.mark.parametrize(
    "fields, field_error",
    [
        ({"name": ""}, "Give the script a name."),
        ({"content": "document.title = 'x'"}, "A JavaScript script is a module"),
        ({"content": "   "}, "Write the script&#39;s code."),
        ({"surface": "helpcenter"}, "Not a valid choice"),
        ({"pages": ["settings"]}, "not a valid choice"),
    ],
)
def test_bad_input_rerenders_with_the_message_and_saves_nothing(client, auth, admin, fields, field_error):
    auth.login(admin.email)
    response = auth.post("/custom-scripts", form(**fields))
    assert response.status_code == 422
    assert field_error in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomScript)) == 0


def test_admins_only_csrf_and_other_organizations(client, auth, admin, rep, other_admin):
    auth.login(admin.email)
    script = create(auth)
    auth.logout()

    auth.login(rep.email)
    for url in ("/custom-scripts", "/custom-scripts/new", f"/custom-scripts/{script.id}"):
        assert client.get(url).status_code == 403
    assert auth.post("/custom-scripts", form()).status_code == 403
    assert auth.post(f"/custom-scripts/{script.id}/delete").status_code == 403
    assert auth.post("/custom-scripts/kill-switch", {"disabled": "1"}).status_code == 403
    assert "Custom Scripts" not in client.get("/calls").get_data(as_text=True)  # not in a rep's sidebar
    # a rep's dashboard runs the org's scripts, so a rep's browser may read their files
    assert client.get(file_path(script)).status_code == 200
    auth.logout()

    auth.login(other_admin.email)
    assert client.get(f"/custom-scripts/{script.id}").status_code == 404
    assert auth.post(f"/custom-scripts/{script.id}", form(content=BUTTON_V2)).status_code == 404
    assert auth.post(f"/custom-scripts/{script.id}/rollback", {"version": "1"}).status_code == 404
    assert auth.post(f"/custom-scripts/{script.id}/delete").status_code == 404
    assert client.get(file_path(script)).status_code == 404  # a dashboard file is private
    assert "CRM button" not in client.get("/custom-scripts").get_data(as_text=True)
    auth.logout()

    # without the CSRF token nothing is saved
    auth.login(admin.email)
    assert client.post("/custom-scripts", data=form(name="No token")).status_code == 400
    assert client.post(f"/custom-scripts/{script.id}/delete").status_code == 400
    assert db.session.get(CustomScript, script.id) is not None
    assert db.session.scalar(sa.select(CustomScript).where(CustomScript.name == "No token")) is None


@pytest.fixture
def live_call(admin, rep):
    site = make_site(admin.organization_id, "shop.example.com")
    go_online(rep)
    call = calls.request_call(
        site,
        fingerprint="fp-a",
        qualification={"answers": []},
        contact={"name": "Alice Answered", "email": "alice@example.org"},
    )
    calls.accept(call.id, rep)
    return call, site


def test_call_screen_runs_its_scripts_with_their_hashes_in_the_csp(client, auth, admin, rep, live_call):
    call, site = live_call
    auth.login(admin.email)
    js = create(auth, pages=["call"])
    css = create(auth, name="Wide", kind="css", content=".call-grid{gap:3rem}", pages=["call"])
    create(
        auth,
        name="Other site only",
        pages=["call"],
        sites=[str(make_site(admin.organization_id, "b.example").id)],
    )
    create(auth, name="Calls list only", pages=["calls"], content=BUTTON_V2)
    create(auth, name="Off", enabled="", content=BUTTON + "//off")
    auth.logout()

    auth.login(rep.email)
    response = client.get(f"/calls/{call.id}/live")
    html = response.get_data(as_text=True)
    data = re.search(r'<script type="application/json" id="converc-scripts-data">(.*?)</script>', html).group(
        1
    )
    data = json.loads(data)
    assert [s["name"] for s in data["scripts"]] == ["CRM button", "Wide"]
    assert (data["surface"], data["screen"], data["site"]["domain"]) == (
        "dashboard",
        "call",
        "shop.example.com",
    )
    assert data["call"]["id"] == str(call.id) and data["contact"]["name"] == "Alice Answered"
    assert svc.sri(js.current) in html and f'rel="modulepreload" href="{file_path(js)}"' in html
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1).split()
    assert script_src == ["'self'", f"'{svc.sri(js.current)}'"]  # the CSS has no business in script-src
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp

    # the files: our origin, content-hashed URL, cached for good
    for script, mimetype in ((js, "text/javascript"), (css, "text/css")):
        file = client.get(file_path(script))
        assert file.status_code == 200 and file.mimetype == mimetype
        assert file.get_data(as_text=True) == script.current.content
        assert file.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    stale = file_path(js).replace(js.current.sha256[:20], "0" * 20)
    assert client.get(stale).status_code == 404

    # a page without scripts keeps the plain policy; the Custom Scripts page never runs any
    plain = client.get("/callbacks")
    assert "converc-scripts-data" not in plain.get_data(as_text=True)
    assert "sha256-" not in plain.headers["Content-Security-Policy"]
    auth.logout()
    auth.login(admin.email)
    assert "converc-scripts-data" not in client.get("/custom-scripts").get_data(as_text=True)

    # the kill switch: nothing runs anywhere, and it is in the audit log
    assert auth.post("/custom-scripts/kill-switch", {"disabled": "1"}).status_code == 303
    assert svc.dashboard_scripts(admin.organization_id, "calls.live", site.id) == []
    assert "The kill switch is on" in client.get("/custom-scripts").get_data(as_text=True)
    assert actions(admin.organization_id)[-1] == "kill switch on"
    auth.post("/custom-scripts/kill-switch", {"disabled": "0"})
    assert [s.name for s in svc.dashboard_scripts(admin.organization_id, "calls.live", site.id)] == [
        "CRM button",
        "Wide",
    ]


def widget_config(client, site):
    response = client.get(f"/widget/config?public_key={site.public_key}&domain={site.domain}")
    assert response.status_code == 200
    return response.get_json()


def test_widget_config_carries_only_this_sites_scripts_and_obeys_the_kill_switch(
    client, auth, admin, other_admin
):
    shop = make_site(admin.organization_id, "shop.example.com")
    blog = make_site(admin.organization_id, "blog.example.com")
    globex = make_site(other_admin.organization_id, "globex.example.com")
    assert widget_config(client, shop)["customScripts"] is None  # nothing to load: no runtime either

    auth.login(other_admin.email)
    create(auth, name="Globex note", surface="widget", steps=["contact"])
    auth.logout()
    auth.login(admin.email)
    note = create(auth, name="Contact note", surface="widget", steps=["contact"])
    create(auth, name="Blog only", surface="widget", sites=[str(blog.id)], content=BUTTON_V2)
    create(auth, name="Dashboard", pages=["call"])
    create(auth, name="Off", surface="widget", enabled="")

    config = widget_config(client, shop)["customScripts"]  # a save dropped the cached config
    assert [s["name"] for s in config["scripts"]] == ["Contact note"]
    assert config["scripts"][0]["screens"] == ["contact"] and config["runtime"].startswith(
        "/widget/custom-scripts.js?v="
    )
    assert [s["name"] for s in widget_config(client, blog)["customScripts"]["scripts"]] == [
        "Contact note",
        "Blog only",
    ]
    assert [s["name"] for s in widget_config(client, globex)["customScripts"]["scripts"]] == ["Globex note"]

    # a widget file is public (customer pages load it), cross-origin, immutable
    file = client.get(config["scripts"][0]["url"], headers={"Origin": "https://shop.example.com"})
    assert file.status_code == 200 and file.get_data(as_text=True) == note.current.content
    assert file.headers["Access-Control-Allow-Origin"] == "*"
    assert file.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    runtime = client.get(config["runtime"])
    assert runtime.status_code == 200 and b"ConvercScripts" in runtime.get_data()

    auth.post("/custom-scripts/kill-switch", {"disabled": "1"})
    assert widget_config(client, shop)["customScripts"] is None
    assert widget_config(client, blog)["customScripts"] is None
    assert widget_config(client, globex)["customScripts"]["scripts"][0]["name"] == "Globex note"


def test_reports_count_errors_and_are_rate_limited(make_app, admin, other_admin):
    app = make_app(CUSTOM_SCRIPT_REPORTS_PER_MINUTE=3)
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        script = svc.create_script(
            admin.organization_id,
            admin,
            name="Note",
            surface="widget",
            kind="js",
            screens=["contact"],
            site_ids=[],
            enabled=True,
            content=BUTTON,
        )
        client = app.test_client()

        def post(body, key=site.public_key):
            return client.post(
                "/widget/custom-scripts/reports",
                data=json.dumps({"publicKey": key, **body}),
                headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://shop.example.com"},
            )

        ok = post(
            {
                "scriptId": str(script.id),
                "level": "error",
                "message": "run: boom",
                "screen": "contact",
                "version": 1,
            }
        )
        assert (
            ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == "http://shop.example.com"
        )
        assert post({"scriptId": str(script.id), "level": "info", "message": "hello"}).status_code == 204
        # another organization's site cannot report for this script
        other = make_site(other_admin.organization_id, "globex.example.com")
        assert (
            post({"scriptId": str(script.id), "level": "error", "message": "x"}, other.public_key).status_code
            == 404
        )
        assert post({"scriptId": "nope"}).status_code == 404
        assert client.post("/widget/custom-scripts/reports", data="{oops").status_code == 400
        assert (
            post({"scriptId": str(script.id), "level": "error", "message": "run: again"}).status_code == 204
        )
        assert post({"scriptId": str(script.id), "level": "error", "message": "dropped"}).status_code == 429

        db.session.refresh(script)
        assert (script.error_count, script.last_error) == (2, "run: again")
        lines = db.session.scalars(
            sa.select(CustomScriptLog.message).order_by(CustomScriptLog.created_at)
        ).all()
        assert lines == ["run: boom", "hello", "run: again"]


def test_dashboard_reports_need_the_csrf_token_and_show_on_the_scripts_page(client, auth, admin, rep):
    from tests.conftest import csrf_token

    auth.login(admin.email)
    script = create(auth, pages=["call"])
    widget = create(auth, name="Widget note", surface="widget")
    auth.logout()

    auth.login(rep.email)  # a rep's dashboard runs the scripts, so a rep's browser reports
    body = {"level": "error", "message": "run: boom", "screen": "call", "version": 1}
    assert client.post(f"/custom-scripts/{script.id}/reports", json=body).status_code == 400  # no CSRF token
    headers = {"X-CSRFToken": csrf_token(client)}
    assert client.post(f"/custom-scripts/{script.id}/reports", json=body, headers=headers).status_code == 204
    assert client.post(f"/custom-scripts/{script.id}/reports", json={"message": "clicked"},
                       headers=headers).status_code == 204
    # a widget script reports from customers' pages, not through a teammate's session
    assert client.post(f"/custom-scripts/{widget.id}/reports", json=body, headers=headers).status_code == 404
    auth.logout()

    auth.login(admin.email)
    page = client.get(f"/custom-scripts/{script.id}").get_data(as_text=True)
    assert "1 error" in page and "run: boom" in page and "clicked" in page
    assert '<span class="badge bad">1</span>' in client.get("/custom-scripts").get_data(as_text=True)
    assert auth.post(f"/custom-scripts/{script.id}/errors/reset").status_code == 303
    db.session.refresh(script)
    assert (script.error_count, actions(admin.organization_id)[-1]) == (0, "errors reset")
