"""The `data` of a webhook.test event: the documented shape, with sample values."""


def sample_data() -> dict:
    return {
        "call": {
            "id": "00000000-0000-4000-8000-000000000001", "status": "ended", "mediaType": "video",
            "requestedAt": "2024-01-02T00:00:00.000Z", "acceptedAt": "2024-01-02T00:00:10.000Z",
            "endedAt": "2024-01-02T00:00:35.000Z", "acceptedBy": "00000000-0000-4000-8000-000000000002",
            "sessionId": "00000000-0000-4000-8000-000000000003",
            "siteId": "00000000-0000-4000-8000-000000000004",
            "visitorFingerprint": "fp", "qualificationFlowId": None,
        },
        "contact": {
            "identityId": "00000000-0000-4000-8000-000000000005", "fingerprint": "fp",
            "email": "visitor@example.com", "phone": "+1 512 555 0100", "name": "Visitor Name",
            "lastSeenAt": "2024-01-02T00:00:00.000Z",
            "location": {"city": "Austin", "region": "TX", "country": "United States", "countryCode": "US",
                         "timezone": "America/Chicago", "latitude": 30.2672, "longitude": -97.7431},
        },
        "qualificationAnswers": [{
            "id": "00000000-0000-4000-8000-000000000006",
            "questionId": "00000000-0000-4000-8000-000000000007", "position": 1,
            "question": {"id": "00000000-0000-4000-8000-000000000007", "label": "Company size",
                         "type": "single_select", "required": True, "position": 1,
                         "options": [{"label": "1-10", "value": "1-10"},
                                     {"label": "11-50", "value": "11-50"}]},
            "answer": {"value": "1-10"}, "createdAt": "2024-01-02T00:00:00.000Z",
        }],
        "transcript": None,
        "recording": {"available": False, "videoUrl": None, "audioUrl": None, "expiresInSeconds": None},
    }
