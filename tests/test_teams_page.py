"""Teams and routing on the dashboard: teams with members, ringing and overflow; routing rules as a
readable, reorderable list; bad input re-rendered with its message; other organizations out of
reach. And which team a visitor's facts pick (the first matching rule; a qualification rule's team
first)."""

import json

import pytest
import sqlalchemy as sa

from app.calls import service
from app.extensions import db
from app.models import Call, RoutingRule, Team
from app.routing import outcomes, teams
from tests.calls_support import make_site
from tests.conftest import Auth, make_member
from tests.test_widget import add_question


@pytest.fixture
def admin_auth(client, admin):
    auth = Auth(client)
    auth.login(admin.email)
    return auth


@pytest.fixture
def site(admin):
    return make_site(admin.organization_id, "shop.example.com")


@pytest.fixture
def reps(admin):
    return [make_member(admin.organization_id, f"{n.lower()}@acme.example.com", "rep", n)
            for n in ("Anna", "Ben")]


def new_team(org, name, strategy="ring_all", members=()):
    return teams.save_team(org, None, name=name, strategy=strategy, overflow_seconds=None,
                           overflow_team_id=None, member_ids=list(members))


def page(client) -> str:
    return client.get("/teams").get_data(as_text=True)


def test_admins_make_teams_and_read_how_they_ring(client, admin_auth, reps):
    anna, ben = reps
    made = admin_auth.post("/teams", {"name": "Enterprise", "strategy": "ring_all",
                                      "members": [str(anna.id)]})
    assert made.status_code == 200
    enterprise = db.session.scalar(sa.select(Team))
    dach = admin_auth.post("/teams", {"name": "DACH", "strategy": "round_robin", "overflow_seconds": "20",
                                      "overflow_team": str(enterprise.id),
                                      "members": [str(anna.id), str(ben.id)]})
    assert dach.status_code == 200
    html = page(client)
    assert ("<strong>DACH</strong>: Anna, Ben · Round robin (one at a time, in turn) · "
            "after 20 s, team Enterprise") in html
    assert "<strong>Enterprise</strong>: Anna · Ring everyone in the team" in html

    edited = admin_auth.post(f"/teams/{enterprise.id}", {
        "name": "Enterprise", "strategy": "longest_idle", "overflow_seconds": "15",
        "overflow_team": "everyone", "members": [str(ben.id)]})
    assert edited.status_code == 200
    assert ("<strong>Enterprise</strong>: Ben · Longest idle first (one at a time) · "
            "after 15 s, everyone") in page(client)
    admin_auth.post(f"/teams/{enterprise.id}/delete")
    db.session.expire_all()
    assert db.session.scalars(sa.select(Team.name)).all() == ["DACH"]
    assert db.session.scalar(sa.select(Team)).overflow_team_id is None  # its fallback is gone


@pytest.mark.parametrize("form, message", [
    ({"name": ""}, "Enter a name of at most 80 characters."),
    ({"name": "Taken"}, "Another team already has this name."),
    ({"strategy": "lottery"}, "Choose how the team rings."),
    ({"overflow_seconds": "soon"}, "Enter whole seconds, or leave empty for no overflow."),
    ({"overflow_seconds": "2"}, "Between 5 and 600 seconds."),
    ({"overflow_seconds": "30", "overflow_team": "00000000-0000-0000-0000-000000000000"},
     "Choose another team, or everyone."),
])
def test_a_bad_team_re_renders_with_the_message(client, admin_auth, reps, form, message):
    new_team(reps[0].organization_id, "Taken")
    db.session.commit()
    response = admin_auth.post("/teams", {"name": "New", "strategy": "ring_all", **form})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'value="' + form.get("name", "New") + '"' in html  # nothing typed is lost
    assert db.session.scalar(sa.select(sa.func.count(Team.id))) == 1


def test_routing_rules_read_in_order_move_change_team_and_go(client, admin_auth, admin, site, reps):
    question = add_question(site, "Seats", "number", min_value=1, max_value=10000)
    dach = new_team(admin.organization_id, "DACH")
    big = new_team(admin.organization_id, "Enterprise")
    db.session.commit()
    forms = [
        ({"source": "country", "op": "any_of", "value": "de, AT", "team": str(dach.id)},
         "If the visitor&#39;s country is any of “DE”, “AT” → DACH"),
        ({"source": "site", "op": "any_of", "value": "SHOP.example.com", "team": str(big.id)},
         "If the site is any of “shop.example.com” → Enterprise"),
        ({"source": "pageUrl", "op": "contains", "value": "/enterprise", "team": str(big.id)},
         "If the page URL contains “/enterprise” → Enterprise"),
        ({"source": "attribute", "key": "plan", "op": "equals", "value": "pro", "team": str(big.id)},
         "If the attribute “plan” is “pro” → Enterprise"),
        ({"source": f"answer:{question.id}", "op": "between", "minimum": "100", "team": str(big.id)},
         "If “Seats” is at least 100 → Enterprise"),
    ]
    for form, _ in forms:
        assert admin_auth.post("/teams/rules", form).status_code == 200
    html = page(client)
    positions = [html.index(line) for _, line in forms]
    assert positions == sorted(positions)

    last = db.session.scalars(sa.select(RoutingRule).order_by(RoutingRule.position)).all()[-1]
    admin_auth.post(f"/teams/rules/{last.id}/move", {"direction": "up"})
    admin_auth.post(f"/teams/rules/{last.id}/team", {"team": str(dach.id)})
    html = page(client)
    moved = "If “Seats” is at least 100 → DACH"
    assert html.index(moved) < html.index(forms[3][1])
    admin_auth.post(f"/teams/rules/{last.id}/delete")
    assert moved not in page(client)


@pytest.mark.parametrize("form, message", [
    ({"source": "site", "op": "any_of", "value": "elsewhere.example.com"},
     "Not a site of yours: elsewhere.example.com."),
    ({"source": "country", "op": "any_of", "value": "Germany"}, "Use two-letter country codes"),
    ({"source": "country", "op": "contains", "value": "DE"},
     "For the visitor&#39;s country choose is any of."),
    ({"source": "attribute", "op": "equals", "value": "pro"}, "Enter the attribute&#39;s name"),
    ({"source": "pageUrl", "op": "contains", "value": " "}, "Enter the value to compare with."),
    ({"source": "moon", "op": "equals", "value": "x"}, "Choose what the rule looks at."),
    ({"source": "country", "op": "any_of", "value": "DE", "team": "nope"}, "Choose the team it rings."),
])
def test_a_bad_routing_rule_re_renders_with_the_message(client, admin_auth, admin, site, form, message):
    team = new_team(admin.organization_id, "DACH")
    db.session.commit()
    response = admin_auth.post("/teams/rules", {"team": str(team.id), **form})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(RoutingRule.id))) == 0


def test_reps_and_other_organizations_are_kept_out(client, admin, other_admin, reps):
    team = new_team(admin.organization_id, "DACH")
    teams.add_routing_rule(admin.organization_id, [], team)
    db.session.commit()
    auth = Auth(client)
    auth.login(reps[0].email)
    assert client.get("/teams").status_code == 403
    auth.logout()
    auth.login(other_admin.email)
    rule_id = db.session.scalar(sa.select(RoutingRule.id))
    for url in (f"/teams/{team.id}", f"/teams/{team.id}/delete", f"/teams/rules/{rule_id}/delete",
                f"/teams/rules/{rule_id}/move"):
        assert auth.post(url, {"name": "Mine", "strategy": "ring_all"}).status_code == 404
    # their own rule cannot name our team
    own = new_team(other_admin.organization_id, "Theirs", members=[str(reps[0].id)])
    db.session.commit()
    assert own.members == []  # another organization's rep is not theirs to add
    assert auth.post("/teams/rules", {"source": "country", "op": "any_of", "value": "DE",
                                      "team": str(team.id)}).status_code == 422
    assert db.session.get(Team, team.id).name == "DACH"


# ---- which team: the first matching rule, a qualification rule's team first ------------------

def test_the_first_matching_rule_picks_the_team(admin, site):
    org = admin.organization_id
    dach, big, web = (new_team(org, n) for n in ("DACH", "Big", "Web"))
    teams.add_routing_rule(org, [{"source": "country", "op": "any_of", "value": ["DE", "AT"]}], dach)
    teams.add_routing_rule(org, [{"source": "attribute", "key": "seats", "op": "between",
                                  "value": {"min": 100, "max": None}}], big)
    teams.add_routing_rule(org, [{"source": "site", "op": "any_of", "value": [str(site.id)]},
                                 {"source": "pageUrl", "op": "contains", "value": "/docs"}], web)
    db.session.commit()

    def chosen(country=None, page=None, attributes=None, team_id=None):
        facts = teams.visitor_facts(site.id, [], country, page, attributes or {})
        team, _ = teams.choose_team(org, facts, team_id)
        return team.name if team else None
    assert chosen("de") == "DACH"
    assert chosen("DE", attributes={"seats": "500"}) == "DACH"  # first match wins
    assert chosen("US", attributes={"seats": 500}) == "Big"
    assert chosen("US", attributes={"seats": "few"}) is None
    assert chosen(None, "https://shop.example.com/docs/api") == "Web"
    assert chosen(None, "https://shop.example.com/pricing") is None
    assert chosen("DE", team_id=str(web.id)) == "Web"  # the qualification rule's team comes first
    assert chosen("DE", team_id="not-a-team") == "DACH"


def test_a_qualification_rule_routes_its_call_to_a_team(client, admin, site, reps):
    question = add_question(site, "Seats", "number", min_value=1, max_value=10000)
    big = new_team(admin.organization_id, "Enterprise", members=[str(reps[1].id)])
    db.session.flush()
    condition = outcomes.build_condition(question, "between", "", "100", "")
    outcomes.add_rule(site, condition, "call", big)
    db.session.commit()
    body = {"publicKey": site.public_key, "domain": "shop.example.com", "answers": {str(question.id): 250},
            "contact": {"email": "v@example.org"}, "fingerprint": "fp-1"}
    qualified = client.post("/widget/qualify", data=json.dumps(body), content_type="text/plain",
                            headers={"Origin": "https://shop.example.com"}).get_json()
    assert qualified["action"] == "call"
    called = client.post("/widget/calls", json={
        "publicKey": site.public_key, "qualificationToken": qualified["qualificationToken"],
        "fingerprint": "fp-1", "mediaType": "video"}, headers={"Origin": "https://shop.example.com"})
    assert called.status_code == 201, called.get_json()
    call = db.session.get(Call, service.as_uuid(called.get_json()["call"]["id"]))
    assert call.team_id == big.id
    assert outcomes.describe(outcomes.site_rules(site.id)[0], {str(question.id): question},
                             {big.id: "Enterprise"}) == "If “Seats” is at least 100 → Call (team Enterprise)"


def test_the_routing_test_says_who_would_ring(client, admin_auth, admin, site, reps):
    from tests.calls_support import go_online

    anna, ben = reps
    carla = make_member(admin.organization_id, "carla@acme.example.com", "rep", "Carla")
    go_online(anna)
    go_online(carla)  # Ben is offline
    question = add_question(site, "Seats", "number", min_value=1, max_value=10000)
    outcomes.add_rule(site, outcomes.build_condition(question, "between", "", "", "2"), "leave_details")
    big = new_team(admin.organization_id, "Enterprise", members=[str(carla.id)])
    dach = teams.save_team(admin.organization_id, None, name="DACH", strategy="round_robin",
                           overflow_seconds=20, overflow_team_id=str(big.id),
                           member_ids=[str(anna.id), str(ben.id)])
    teams.add_routing_rule(admin.organization_id, [{"source": "country", "op": "any_of", "value": ["DE"]}],
                           dach)
    db.session.commit()
    assert "Routing test" in client.get("/settings/availability/status").get_data(as_text=True)

    def test(**args):
        response = client.get("/teams/test", query_string={"site": str(site.id), **args},
                              headers={"HX-Request": "true"})
        return response.status_code, " ".join(response.get_data(as_text=True).split())
    status, german = test(country="de", question=str(question.id), answer="50")
    assert status == 200
    assert "Team <strong>DACH</strong>, chosen by a routing rule" in german
    assert "<strong>Would ring now:</strong> Anna (next in turn;" in german
    assert "not available now (away, offline, outside their hours or on a call): Ben." in german
    assert "<strong>After 20 s without an answer, also:</strong> team Enterprise: Carla." in german
    _, american = test(country="US")
    assert "No routing rule matches: <strong>everyone</strong>" in american
    assert "<strong>Would ring now:</strong> Anna, Carla." in american
    _, small = test(country="DE", question=str(question.id), answer="1")
    assert "the answers lead to “Ask them to leave details”" in small
    assert test(question=str(question.id), answer="many")[0] == 422
    assert client.get("/teams/test", query_string={"site": "nope"}).status_code == 422
    # a test rings nobody and does not move the round robin's turn
    assert test(country="DE") == test(country="DE")
