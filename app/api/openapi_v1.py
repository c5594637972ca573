"""The OpenAPI paths and schemas of /api/v1 (merged into /api/openapi.json by app.api.openapi)."""

from app.events import schemas as s

TS = s.TS


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def error(description: str, code: str = "invalid_request") -> dict:
    return {"description": description, "content": {"application/json": {
        "schema": ref("Error"), "example": {"error": {"code": code, "message": description}}}}}


COMMON_ERRORS = {
    "400": error("Invalid input: malformed body or query parameter."),
    "401": error("The API key is missing or invalid.", "unauthorized"),
    "403": error("The key lacks a scope (the message names it), or its user's role does not allow it.",
                 "forbidden"),
    "429": error("Too many requests for this key; see Retry-After.", "rate_limited"),
}
NOT_FOUND = {"404": error("Not found (or it belongs to another organization).", "not_found")}
IDEMPOTENCY_ERRORS = {
    "409": error("A request with this Idempotency-Key is still running.", "idempotency_key_in_use"),
    "422": error("This Idempotency-Key was used with a different request.", "idempotency_key_reused"),
}
CONFLICT = {"409": error("Conflicts with the current state (e.g. the domain is already a site).", "conflict")}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retries with the same key within 24 h get the first answer again.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
LIST_PARAMS = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "next_cursor of the previous page",
        "schema": {"type": "string"},
    },
]
SINCE = {
    "name": "updated_since",
    "in": "query",
    "required": False,
    "description": "Only rows changed at or after this time, oldest change first (sync jobs).",
    "schema": {"type": "string", "format": "date-time"},
}

UUID_EX = "5f1c2e9a-3b7d-4c11-9a0e-0c7f3c1d2b4a"
CONTACT_EX = {
    "id": UUID_EX,
    "identityId": UUID_EX,
    "fingerprint": "fp",
    "name": "Vera Visitor",
    "email": "vera@example.org",
    "phone": "+1 512 555 0100",
    "location": None,
    "lastSeenAt": "2024-01-02T00:00:00.000Z",
    "createdAt": "2024-01-02T00:00:00.000Z",
    "updatedAt": "2024-01-02T00:00:00.000Z",
}
SITE_EX = {
    "id": UUID_EX,
    "domain": "example.com",
    "publicKey": "pk_3kz9",
    "createdAt": "2024-01-01T00:00:00.000Z",
    "updatedAt": "2024-01-01T00:00:00.000Z",
    "settings": {"badgeLabel": "Talk to us live", "paused": False},
}
TEAMMATE_EX = {
    "id": UUID_EX,
    "email": "rex@example.com",
    "name": "Rex Rep",
    "role": "rep",
    "available": True,
    "createdAt": "2024-01-01T00:00:00.000Z",
}
CALL_EX = {
    "id": UUID_EX,
    "status": "ended",
    "mediaType": "video",
    "requestedAt": "2024-01-02T00:00:00.000Z",
    "acceptedAt": "2024-01-02T00:00:10.000Z",
    "endedAt": "2024-01-02T00:00:35.000Z",
    "acceptedBy": UUID_EX,
    "sessionId": UUID_EX,
    "siteId": UUID_EX,
    "visitorFingerprint": "fp",
    "qualificationFlowId": None,
    "endReason": "rep_hung_up",
    "durationSeconds": 25,
    "pageUrl": "https://example.com/pricing",
    "updatedAt": "2024-01-02T00:00:35.000Z",
    "contact": None,
    "qualificationAnswers": [],
    "recording": None,
    "routing": {"team": {"id": UUID_EX, "name": "Enterprise"}, "strategy": "round_robin", "ruleId": None,
                "overflowAt": None, "overflowedAt": "2024-01-02T00:00:20.000Z", "overflowTo": "everyone",
                "overflowTeam": None},
}
CALLBACK_EX = {
    "id": UUID_EX,
    "status": "claimed",
    "reason": "missed",
    "name": "Vera Visitor",
    "email": "vera@example.org",
    "phone": None,
    "preferredWindow": "today",
    "note": "About the enterprise plan",
    "dueAt": "2024-01-02T08:00:00.000Z",
    "createdAt": "2024-01-02T00:00:00.000Z",
    "updatedAt": "2024-01-02T00:05:00.000Z",
    "claimedBy": UUID_EX,
    "claimedAt": "2024-01-02T00:05:00.000Z",
    "completedAt": None,
    "notes": None,
    "siteId": UUID_EX,
    "pageUrl": "https://example.com/pricing",
    "callId": UUID_EX,
    "contactId": UUID_EX,
    "overdue": False,
    "qualificationAnswers": [],
    "attributes": {"plan": "pro"},
}
SCHEDULE_EX = {
    "userId": UUID_EX,
    "timezone": "Europe/Berlin",
    "followsDefault": False,
    "weekly": {
        "monday": [["09:00", "17:00"]],
        "tuesday": [],
        "wednesday": [],
        "thursday": [],
        "friday": [],
        "saturday": [],
        "sunday": [],
    },
}

CALL = {
    **s.CALL,
    "properties": {
        **s.CALL["properties"],
        "endReason": s.NULL_STR,
        "durationSeconds": {"type": ["integer", "null"]},
        "pageUrl": s.NULL_STR,
        "updatedAt": TS,
        "contact": {**s.CONTACT, "type": ["object", "null"]},
        "qualificationAnswers": {"type": "array", "items": s.ANSWER},
        "recording": {
            "type": ["object", "null"],
            "required": ["status", "transcriptStatus"],
            "properties": {"status": {"type": "string"}, "transcriptStatus": {"type": "string"}},
        },
        "routing": {**s.ROUTING, "description": "the team it rang first (null: everyone), its overflow"},
    },
    "required": [*s.CALL["required"], "updatedAt", "contact", "qualificationAnswers", "recording", "routing"],
}

DAY = {
    "type": "array",
    "items": {
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "items": {"type": "string", "pattern": "^[0-2]?[0-9]:[0-5][0-9]$"},
    },
}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

SCHEMAS = {
    "Call": CALL,
    "Contact": s.CONTACT_OBJECT,
    "Site": s.SITE_OBJECT,
    "Teammate": s.TEAMMATE_OBJECT,
    "Schedule": s.obj(
        ["userId", "timezone", "followsDefault", "weekly"],
        {
            "userId": s.ID,
            "timezone": {"type": "string"},
            "followsDefault": {"type": "boolean"},
            "weekly": {"type": "object", "properties": {d: DAY for d in DAYS}},
        },
    ),
    "ScheduleWrite": s.obj(
        ["timezone"],
        {
            "timezone": {"type": "string"},
            "followsDefault": {"type": "boolean"},
            "weekly": {"type": "object", "additionalProperties": False, "properties": {d: DAY for d in DAYS}},
        },
    ),
    "Callback": s.obj(
        list(CALLBACK_EX),
        {
            "id": s.ID,
            "status": {"type": "string", "enum": ["open", "claimed", "done"]},
            "reason": {
                "type": "string",
                "enum": ["no_one_available", "missed", "disqualified", "rate_limited", "chose"],
            },
            "name": s.NULL_STR,
            "email": s.NULL_STR,
            "phone": s.NULL_STR,
            "preferredWindow": {"type": "string", "enum": ["asap", "today", "tomorrow", "this_week"]},
            "note": {**s.NULL_STR, "description": "the visitor's note"},
            "dueAt": TS,
            "createdAt": TS,
            "updatedAt": TS,
            "claimedBy": {**s.NULL_ID, "description": "the teammate calling them back"},
            "claimedAt": s.NULL_TS,
            "completedAt": s.NULL_TS,
            "notes": {**s.NULL_STR, "description": "the team's notes"},
            "siteId": s.NULL_ID,
            "pageUrl": s.NULL_STR,
            "callId": {**s.NULL_ID, "description": "the call that rang out, when there was one"},
            "contactId": s.NULL_ID,
            "overdue": {"type": "boolean", "description": "not done and past dueAt"},
            "qualificationAnswers": {"type": "array", "items": s.ANSWER},
            "attributes": {"type": "object"},
        },
        closed=True,
    ),
    "CallbackUpdate": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "status": {
                "type": "string",
                "enum": ["claimed", "done"],
                "description": "claimed: I call them back; done: called back (callback.completed)",
            },
            "notes": {"type": ["string", "null"], "maxLength": 5000},
            "claimedBy": {
                **s.ID,
                "description": "with an organization key, the teammate claiming; a personal token claims "
                "as its user",
            },
        },
    },
    "ContactWrite": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": ["string", "null"], "maxLength": 120},
            "email": {"type": ["string", "null"], "maxLength": 254},
            "phone": {"type": ["string", "null"], "maxLength": 40},
        },
    },
}


def _list_of(name: str, example: dict) -> dict:
    return {
        "description": "One page, in a stable order",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data", "has_more", "next_cursor"],
                    "additionalProperties": False,
                    "properties": {
                        "data": {"type": "array", "items": ref(name)},
                        "has_more": {"type": "boolean"},
                        "next_cursor": {"type": ["string", "null"]},
                    },
                },
                "example": {"data": [example], "has_more": False, "next_cursor": None},
            }
        },
    }


def _one(schema: dict, example: dict, description: str = "OK") -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema, "example": example}},
    }


def _body(schema: dict, example: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}


def _op(op_id: str, summary: str, scopes: list[str], responses: dict, **extra) -> dict:
    return {
        "operationId": op_id,
        "summary": summary,
        "security": [{"apiKey": scopes}],
        "responses": {**responses, **COMMON_ERRORS},
        **extra,
    }


def _write(op: dict) -> dict:
    """A write takes an Idempotency-Key, and may answer its errors too: beside, not instead of, a
    409 of the operation's own (a claimed callback)."""
    op["parameters"] = [*op.get("parameters", []), IDEMPOTENCY_KEY]
    for status, response in IDEMPOTENCY_ERRORS.items():
        own = op["responses"].get(status)
        op["responses"][status] = response if own is None else _either(own, response)
    return op


def _either(first: dict, second: dict) -> dict:
    """One status, two reasons: both descriptions, each example under its error code."""
    examples = {r["content"]["application/json"]["example"]["error"]["code"]:
                {"value": r["content"]["application/json"]["example"]} for r in (first, second)}
    return {"description": f"{first['description']} Or: {second['description']}",
            "content": {"application/json": {"schema": ref("Error"), "examples": examples}}}


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


CALL_FILTERS = [
    _query("status", {"type": "string", "enum": ["requested", "accepted", "ended", "canceled", "missed"]}),
    _query("media_type", {"type": "string", "enum": ["video", "audio"]}),
    _query("site_id", {"type": "string", "format": "uuid"}),
    _query("rep_id", {"type": "string", "format": "uuid"}, "the rep who accepted"),
    _query("created_after", {"type": "string", "format": "date-time"}, "requested at or after"),
    _query("created_before", {"type": "string", "format": "date-time"}, "requested before"),
]
DELETED = s.obj(
    ["id", "deleted"],
    {
        "id": s.ID,
        "deleted": {"const": True},
        "erased": s.obj(
            ["calls", "recordings"], {"calls": {"type": "integer"}, "recordings": {"type": "integer"}}
        ),
    },
)
RECORDING = s.obj(
    ["callId", "status", "available", "videoUrl", "audioUrl", "expiresInSeconds"],
    {
        "callId": s.ID,
        "status": {"type": "string"},
        **s.RECORDING["properties"],
        "durationSeconds": {"type": ["number", "null"]},
    },
)
TRANSCRIPT = s.obj(
    ["callId", "status", "transcript"],
    {"callId": s.ID, "status": {"type": "string"}, "transcript": s.TRANSCRIPT},
)
AVAILABILITY = s.obj(
    ["available", "nextAvailableAt", "reps"],
    {
        "available": {"type": "boolean"},
        "nextAvailableAt": s.NULL_TS,
        "at": TS,
        "reps": {
            "type": "array",
            "items": s.obj(
                ["id", "name", "available", "reason", "explanation"],
                {
                    "id": s.ID,
                    "name": {"type": "string"},
                    "available": {"type": "boolean"},
                    "reason": {
                        "type": "string",
                        "enum": ["available", "inactive", "toggled_off", "offline", "outside_hours", "busy"],
                    },
                    "explanation": {"type": "string"},
                    "until": s.NULL_TS,
                    "nextAvailableAt": s.NULL_TS,
                    "timezone": {"type": "string"},
                },
            ),
        },
    },
)
INVITATION = s.obj(
    ["id", "email", "role", "expiresAt", "inviteUrl"],
    {
        "id": s.ID,
        "email": {"type": "string"},
        "role": {"type": "string"},
        "expiresAt": TS,
        "inviteUrl": {"type": "string"},
    },
)

PATHS = {
    "/api/v1/calls": {
        "get": _op(
            "listCalls",
            "List calls (newest first; with updated_since oldest change first)",
            ["calls:read"],
            {"200": _list_of("Call", CALL_EX)},
            parameters=[*LIST_PARAMS, SINCE, *CALL_FILTERS],
        )
    },
    "/api/v1/calls/{callId}": {
        "parameters": [_path_id("callId")],
        "get": _op("getCall", "Get a call", ["calls:read"], {"200": _one(ref("Call"), CALL_EX), **NOT_FOUND}),
    },
    "/api/v1/calls/{callId}/transcript": {
        "parameters": [_path_id("callId")],
        "get": _op(
            "getCallTranscript",
            "The call's transcript",
            ["calls:read", "recordings:read"],
            {
                "200": _one(
                    TRANSCRIPT,
                    {
                        "callId": UUID_EX,
                        "status": "ready",
                        "transcript": {"language": "en", "text": "Hello", "segments": []},
                    },
                ),
                **NOT_FOUND,
            },
        ),
    },
    "/api/v1/calls/{callId}/recording": {
        "parameters": [_path_id("callId")],
        "get": _op(
            "getCallRecording",
            "Fresh signed URLs of the call's recording",
            ["calls:read", "recordings:read"],
            {
                "200": _one(
                    RECORDING,
                    {
                        "callId": UUID_EX,
                        "status": "ready",
                        "available": True,
                        "videoUrl": "https://converc.example.com/recordings/…",
                        "audioUrl": "https://converc.example.com/recordings/…",
                        "expiresInSeconds": 86400,
                        "durationSeconds": 25.0,
                    },
                ),
                **NOT_FOUND,
            },
        ),
    },
    "/api/v1/contacts": {
        "get": _op(
            "listContacts",
            "List contacts, search them (q), or find them by email or phone",
            ["contacts:read"],
            {"200": _list_of("Contact", CONTACT_EX)},
            parameters=[
                *LIST_PARAMS,
                SINCE,
                _query(
                    "q",
                    {"type": "string", "maxLength": 100},
                    "free text: every word in the name, email or phone (any case; phone digits compared)",
                ),
                _query("email", {"type": "string"}, "exact, any case"),
                _query("phone", {"type": "string"}, "digits compared, punctuation ignored"),
            ],
        ),
        "post": _write(
            _op(
                "createContact",
                "Create a contact",
                ["contacts:write"],
                {"201": _one(ref("Contact"), CONTACT_EX, "Created")},
                requestBody=_body(ref("ContactWrite"), {"name": "Vera Visitor", "email": "vera@example.org"}),
            )
        ),
    },
    "/api/v1/contacts/{contactId}": {
        "parameters": [_path_id("contactId")],
        "get": _op(
            "getContact",
            "Get a contact",
            ["contacts:read"],
            {"200": _one(ref("Contact"), CONTACT_EX), **NOT_FOUND},
        ),
        "patch": _write(
            _op(
                "updateContact",
                "Update a contact",
                ["contacts:write"],
                {"200": _one(ref("Contact"), CONTACT_EX), **NOT_FOUND},
                requestBody=_body(ref("ContactWrite"), {"phone": "+1 512 555 0199"}),
            )
        ),
        "delete": _op(
            "deleteContact",
            "Erase a contact, its calls' personal data, recordings and transcripts",
            ["contacts:write"],
            {
                "200": _one(
                    DELETED, {"id": UUID_EX, "deleted": True, "erased": {"calls": 2, "recordings": 1}}
                ),
                **NOT_FOUND,
            },
        ),
    },
    "/api/v1/sites": {
        "get": _op(
            "listSites",
            "List sites",
            ["sites:read"],
            {"200": _list_of("Site", SITE_EX)},
            parameters=[*LIST_PARAMS, SINCE],
        ),
        "post": _write(
            _op(
                "createSite",
                "Add a site",
                ["sites:write"],
                {"201": _one(ref("Site"), SITE_EX, "Created"), **CONFLICT},
                requestBody=_body(
                    s.obj(["domain"], {"domain": {"type": "string", "maxLength": 300}}),
                    {"domain": "example.com"},
                ),
            )
        ),
    },
    "/api/v1/sites/{siteId}": {
        "parameters": [_path_id("siteId")],
        "get": _op(
            "getSite",
            "Get a site and its widget settings",
            ["sites:read"],
            {"200": _one(ref("Site"), SITE_EX), **NOT_FOUND},
        ),
        "patch": _write(
            _op(
                "updateSiteSettings",
                "Change a site's widget settings",
                ["sites:write"],
                {"200": _one(ref("Site"), SITE_EX), **NOT_FOUND},
                requestBody=_body(
                    s.obj(["settings"], {"settings": {"type": "object"}}),
                    {"settings": {"paused": True, "ringTimeoutSeconds": 30}},
                ),
            )
        ),
    },
    "/api/v1/teammates": {
        "get": _op(
            "listTeammates",
            "List teammates",
            ["teammates:read"],
            {"200": _list_of("Teammate", TEAMMATE_EX)},
            parameters=LIST_PARAMS,
        )
    },
    "/api/v1/teammates/invitations": {
        "post": _write(
            _op(
                "inviteTeammate",
                "Invite a teammate",
                ["teammates:write"],
                {
                    "201": _one(
                        INVITATION,
                        {
                            "id": UUID_EX,
                            "email": "new@example.com",
                            "role": "rep",
                            "expiresAt": "2024-01-04T00:00:00.000Z",
                            "inviteUrl": "https://converc.example.com/join/…",
                        },
                        "Created",
                    ),
                    **CONFLICT,
                },
                requestBody=_body(
                    s.obj(["email"], {"email": {"type": "string"}, "role": {"enum": ["admin", "rep"]}}),
                    {"email": "new@example.com", "role": "rep"},
                ),
            )
        )
    },
    "/api/v1/teammates/{userId}": {
        "parameters": [_path_id("userId")],
        "get": _op(
            "getTeammate",
            "Get a teammate",
            ["teammates:read"],
            {"200": _one(ref("Teammate"), TEAMMATE_EX), **NOT_FOUND},
        ),
        "patch": _write(
            _op(
                "changeTeammateRole",
                "Change a teammate's role",
                ["teammates:write"],
                {"200": _one(ref("Teammate"), TEAMMATE_EX), **NOT_FOUND, **CONFLICT},
                requestBody=_body(s.obj(["role"], {"role": {"enum": ["admin", "rep"]}}), {"role": "admin"}),
            )
        ),
        "delete": _op(
            "removeTeammate",
            "Remove a teammate (their personal tokens stop working)",
            ["teammates:write"],
            {
                "200": _one(
                    s.obj(["id", "deleted"], {"id": s.ID, "deleted": {"const": True}}),
                    {"id": UUID_EX, "deleted": True},
                ),
                **NOT_FOUND,
                **CONFLICT,
            },
        ),
    },
    "/api/v1/teammates/{userId}/schedule": {
        "parameters": [_path_id("userId")],
        "get": _op(
            "getSchedule",
            "A rep's weekly hours",
            ["availability:read"],
            {"200": _one(ref("Schedule"), SCHEDULE_EX), **NOT_FOUND},
        ),
        "put": _op(
            "replaceSchedule",
            "Replace a rep's weekly hours",
            ["availability:write"],
            {"200": _one(ref("Schedule"), SCHEDULE_EX), **NOT_FOUND},
            requestBody=_body(ref("ScheduleWrite"), {k: v for k, v in SCHEDULE_EX.items() if k != "userId"}),
        ),
    },
    "/api/v1/callbacks": {
        "get": _op(
            "listCallbacks",
            "List callbacks (newest request first; with updated_since oldest change first)",
            ["callbacks:read"],
            {"200": _list_of("Callback", CALLBACK_EX)},
            parameters=[
                *LIST_PARAMS,
                SINCE,
                _query("status", {"type": "string", "enum": ["open", "claimed", "done"]}),
                _query("site_id", {"type": "string", "format": "uuid"}),
                _query("claimed_by", {"type": "string", "format": "uuid"}, "the teammate who claimed it"),
            ],
        )
    },
    "/api/v1/callbacks/{callbackId}": {
        "parameters": [_path_id("callbackId")],
        "get": _op(
            "getCallback",
            "Get a callback",
            ["callbacks:read"],
            {"200": _one(ref("Callback"), CALLBACK_EX), **NOT_FOUND},
        ),
        "patch": _write(
            _op(
                "updateCallback",
                "Claim a callback, save notes, or mark it done",
                ["callbacks:write"],
                {
                    "200": _one(ref("Callback"), CALLBACK_EX),
                    **NOT_FOUND,
                    "409": error("Claimed by another teammate, or already done.", "conflict"),
                },
                requestBody=_body(ref("CallbackUpdate"), {"status": "done", "notes": "Booked a demo."}),
            )
        ),
    },
    "/api/v1/availability": {
        "get": _op(
            "getAvailability",
            "Who can take a call now, and why not",
            ["availability:read"],
            {
                "200": _one(
                    AVAILABILITY,
                    {
                        "available": True,
                        "nextAvailableAt": None,
                        "at": "2024-01-02T10:00:00.000Z",
                        "reps": [
                            {
                                "id": UUID_EX,
                                "name": "Rex Rep",
                                "available": True,
                                "reason": "available",
                                "explanation": "Can take a call now.",
                                "until": None,
                                "nextAvailableAt": None,
                                "timezone": "Europe/Berlin",
                            }
                        ],
                    },
                )
            },
        )
    },
}

# Zapier's REST hooks (app/api/zapier.py)
ZAPIER_EVENT = {
    "type": "string",
    "description": "a Zapier trigger key (call_ended) or its event type (call.ended)",
}
SUBSCRIPTION = s.obj(
    ["id", "event", "targetUrl", "createdAt"],
    {"id": s.ID, "event": {"type": "string"}, "targetUrl": {"type": "string"}, "createdAt": TS},
)
SUBSCRIPTION_EX = {
    "id": UUID_EX,
    "event": "call.ended",
    "targetUrl": "https://hooks.zapier.com/hooks/standard/1/",
    "createdAt": "2024-01-01T00:00:00.000Z",
}
PATHS.update(
    {
        "/integrations/zapier/me": {
            "get": _op(
                "zapierMe",
                "Zapier's auth test: the organization and key",
                [],
                {
                    "200": _one(
                        s.obj(
                            ["organization", "apiKey"],
                            {"organization": {"type": "object"}, "apiKey": {"type": "object"}},
                        ),
                        {
                            "organization": {"id": UUID_EX, "name": "Acme"},
                            "apiKey": {"name": "Zapier", "prefix": "cvk_abcdefgh", "scopes": ["events:read"]},
                        },
                    )
                },
            )
        },
        "/integrations/zapier/subscriptions": {
            "post": _write(
                _op(
                    "zapierSubscribe",
                    "Subscribe a Zap's target URL to one event type",
                    ["webhooks:write"],
                    {"201": _one(SUBSCRIPTION, SUBSCRIPTION_EX, "Created")},
                    requestBody=_body(
                        s.obj(
                            ["targetUrl", "event"], {"targetUrl": {"type": "string"}, "event": ZAPIER_EVENT}
                        ),
                        {"targetUrl": "https://hooks.zapier.com/hooks/standard/1/", "event": "call_ended"},
                    ),
                )
            )
        },
        "/integrations/zapier/subscriptions/{subscriptionId}": {
            "parameters": [_path_id("subscriptionId")],
            "delete": _op(
                "zapierUnsubscribe",
                "Remove a Zap's subscription",
                ["webhooks:write"],
                {"204": {"description": "Removed"}, **NOT_FOUND},
            ),
        },
        "/integrations/zapier/samples": {
            "get": _op(
                "zapierSamples",
                "The latest events of a trigger (or a sample while there is none)",
                ["events:read"],
                {
                    "200": _one(
                        {"type": "array", "items": {"type": "object"}},
                        [
                            {
                                "id": UUID_EX,
                                "type": "call.ended",
                                "createdAt": "2024-01-02T00:00:40.000Z",
                                "organizationId": UUID_EX,
                                "data": {},
                            }
                        ],
                    )
                },
                parameters=[{"name": "event", "in": "query", "required": True, "schema": ZAPIER_EVENT}],
            )
        },
    }
)

ANALYTICS_EX = {
    "report": "days", "from": "2026-03-01", "to": "2026-03-01", "timezone": "Europe/Berlin", "siteId": None,
    "data": [{"day": "2026-03-01", "requested": 12, "answered": 9, "completed": 8, "missed": 3, "canceled": 0,
              "answerRate": 75.0, "medianAnswerSeconds": 7, "p90AnswerSeconds": 19}],
}
PATHS["/api/v1/analytics/{name}"] = {
    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {
        "type": "string",
        "enum": ["summary", "funnel", "outcomes", "days", "heatmap", "reps", "sites", "answers",
                 "callbacks"]}}],
    "get": _op(
        "getAnalytics",
        "One table of the Analytics page: the same numbers, days in the organization's timezone",
        ["analytics:read"],
        {"200": _one(s.obj(["report", "from", "to", "timezone", "siteId", "data"], {
            "report": {"type": "string"}, "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"}, "timezone": {"type": "string"},
            "siteId": {"type": ["string", "null"]}, "data": {"type": ["array", "object"]}}), ANALYTICS_EX),
         **NOT_FOUND},
        parameters=[
            _query("from", {"type": "string", "format": "date"}, "first day (default: 29 days before `to`)"),
            _query("to", {"type": "string", "format": "date"}, "last day (default: today); at most 366 days"),
            _query("site_id", {"type": "string", "format": "uuid"}, "one site only"),
        ],
    )
}
