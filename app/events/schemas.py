"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of each event type's `data`.

The call envelope's parts are the seed's "Events & Payload"; the other modules' objects are the
same objects the REST API returns, so a consumer maps one shape per resource.
"""

TS = {"type": "string", "format": "date-time", "examples": ["2024-01-02T00:00:00.000Z"]}
NULL_TS = {"type": ["string", "null"], "format": "date-time"}
ID = {"type": "string", "format": "uuid"}
NULL_ID = {"type": ["string", "null"], "format": "uuid"}
NULL_STR = {"type": ["string", "null"]}


def obj(required: list[str], properties: dict, nullable: bool = False, closed: bool = False) -> dict:
    schema = {"type": ["object", "null"] if nullable else "object", "required": required,
              "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


LOCATION = obj(["city", "region", "country", "countryCode", "timezone", "latitude", "longitude"], {
    "city": NULL_STR, "region": NULL_STR, "country": NULL_STR, "countryCode": NULL_STR,
    "timezone": NULL_STR, "latitude": {"type": ["number", "null"]}, "longitude": {"type": ["number", "null"]},
}, nullable=True)

CALL = obj(["id", "status", "mediaType", "requestedAt", "acceptedAt", "endedAt", "acceptedBy", "sessionId",
            "siteId", "visitorFingerprint", "qualificationFlowId"], {
    "id": ID, "status": {"type": "string", "enum": ["requested", "accepted", "ended", "canceled", "missed"]},
    "mediaType": {"type": "string", "enum": ["video", "audio"]},
    "requestedAt": TS, "acceptedAt": NULL_TS, "endedAt": NULL_TS, "acceptedBy": NULL_ID, "sessionId": ID,
    "siteId": NULL_ID, "visitorFingerprint": NULL_STR, "qualificationFlowId": NULL_STR,
})

CONTACT = obj(["identityId", "fingerprint", "email", "phone", "name", "lastSeenAt", "location"], {
    "identityId": ID, "fingerprint": NULL_STR, "email": NULL_STR, "phone": NULL_STR, "name": NULL_STR,
    "lastSeenAt": NULL_TS, "location": LOCATION,
})

ANSWER = obj(["question", "answer"], {
    "id": NULL_STR, "questionId": NULL_STR, "position": {"type": ["integer", "null"]},
    "question": obj(["label"], {"label": {"type": "string"},
                                "options": {"type": ["array", "null"], "items": {"type": "object"}}}),
    "answer": {"type": "object"},
})

TRANSCRIPT = {"type": ["object", "null"], "description": "null until the transcript is ready",
              "properties": {"language": NULL_STR, "text": {"type": "string"},
                             "segments": {"type": "array", "items": {"type": "object"}}}}

RECORDING = obj(["available", "videoUrl", "audioUrl", "expiresInSeconds"], {
    "available": {"type": "boolean"}, "videoUrl": NULL_STR, "audioUrl": NULL_STR,
    "expiresInSeconds": {"type": ["integer", "null"]}, "policy": {"type": "string"},
    "consentGiven": {"type": "boolean"},
})

CALL_DATA = obj(["call", "contact", "qualificationAnswers", "transcript", "recording"], {
    "call": CALL, "contact": {**CONTACT, "type": ["object", "null"]},
    "qualificationAnswers": {"type": "array", "items": ANSWER},
    "transcript": TRANSCRIPT, "recording": RECORDING,
})

# the REST API's objects (app/api/v1), also the `data` of the module events
CONTACT_OBJECT = obj(["id", "name", "email", "phone", "location", "lastSeenAt", "createdAt", "updatedAt"], {
    "id": ID, "identityId": ID, "fingerprint": NULL_STR, "name": NULL_STR, "email": NULL_STR,
    "phone": NULL_STR, "location": LOCATION, "lastSeenAt": NULL_TS, "createdAt": TS, "updatedAt": TS,
})

SITE_OBJECT = obj(["id", "domain", "publicKey", "createdAt", "updatedAt"], {
    "id": ID, "domain": {"type": "string"}, "publicKey": {"type": "string"}, "createdAt": TS, "updatedAt": TS,
    "settings": {"type": "object", "description": "the site's widget settings"},
})

TEAMMATE_OBJECT = obj(["id", "email", "name", "role", "createdAt"], {
    "id": ID, "email": {"type": "string"}, "name": {"type": "string"},
    "role": {"type": "string", "enum": ["admin", "rep"]}, "available": {"type": "boolean"}, "createdAt": TS,
})

WEBHOOK_OBJECT = obj(["id", "url", "events", "isActive", "createdAt", "updatedAt"], {
    "id": ID, "url": {"type": "string", "format": "uri"},
    "events": {"type": "array", "items": {"type": "string"},
               "description": "Event types delivered; empty means every type."},
    "isActive": {"type": "boolean"}, "createdAt": TS, "updatedAt": TS,
    "sites": {"type": "array", "items": ID, "description": "Only these sites' events; empty: every site."},
    "disabledReason": NULL_STR,
})

CONTACT_DATA = obj(["contact"], {"contact": CONTACT_OBJECT, "changes": {
    "type": "array", "items": {"type": "string"}, "description": "contact.updated: the fields that changed"}})

CONTACT_DELETED_DATA = obj(["contact", "erased"], {
    "contact": obj(["id"], {"id": ID, "identityId": ID}),
    "erased": obj(["calls", "recordings"], {"calls": {"type": "integer"}, "recordings": {"type": "integer"}}),
})

SITE_DATA = obj(["site"], {"site": SITE_OBJECT, "changes": {"type": "array", "items": {"type": "string"}}})

TEAMMATE_DATA = obj(["teammate"], {"teammate": TEAMMATE_OBJECT})

AVAILABILITY_DATA = obj(["rep", "available", "toggled", "online"], {
    "rep": obj(["id", "name", "email"], {"id": ID, "name": {"type": "string"}, "email": {"type": "string"}}),
    "available": {"type": "boolean", "description": "toggled on and a dashboard open"},
    "toggled": {"type": "boolean", "description": "the rep's Available switch"},
    "online": {"type": "boolean", "description": "a dashboard of the rep is open"},
})

INTEGRATION_DATA = obj(["integration"], {"integration": obj(["kind"], {
    "kind": {"type": "string", "enum": ["slack", "discord", "lead_push", "google_calendar"]},
    "userId": NULL_ID, "detail": NULL_STR})})

WEBHOOK_DISABLED_DATA = obj(["webhook", "reason"], {"webhook": WEBHOOK_OBJECT, "reason": {"type": "string"}})

# callback.* and contact.disqualified: the call envelope's shape (call may be null) plus the lead's parts
LEAD_DATA = obj(["call", "contact", "qualificationAnswers", "transcript", "recording"], {
    "call": {**CALL, "type": ["object", "null"]}, "contact": {**CONTACT, "type": ["object", "null"]},
    "qualificationAnswers": {"type": "array", "items": ANSWER}, "transcript": {"type": ["object", "null"]},
    "recording": {"type": ["object", "null"]}, "attributes": {"type": "object"}, "siteId": NULL_ID,
    "callback": obj(["id", "status", "reason"], {"id": ID, "status": {"type": "string"},
                                                 "reason": {"type": "string"}, "siteId": NULL_ID}),
})

TEAM = obj(["id", "name"], {"id": ID, "name": {"type": "string"}}, nullable=True)

# call.routed and call.overflowed: the call envelope plus which team it rang and where it overflows
ROUTING = obj(["team", "strategy", "ruleId", "overflowAt", "overflowedAt", "overflowTo", "overflowTeam"], {
    "team": TEAM,
    "strategy": {"type": ["string", "null"], "enum": ["ring_all", "round_robin", "longest_idle", None]},
    "ruleId": {**NULL_ID, "description": "the routing rule that chose the team (null: a qualification rule)"},
    "overflowAt": NULL_TS, "overflowedAt": NULL_TS,
    "overflowTo": {"type": ["string", "null"], "enum": ["team", "everyone", None]},
    "overflowTeam": TEAM,
})
ROUTED_DATA = obj(["call", "contact", "qualificationAnswers", "transcript", "recording", "routing"],
                  {**CALL_DATA["properties"], "routing": ROUTING})
