"""Calling the REST API in tests, each response checked against its OpenAPI document."""

import re

from jsonschema import Draft202012Validator

from tests.conftest import bearer


class Api:
    """Calls the API with a key and checks each response against the OpenAPI document."""

    def __init__(self, client, raw_key):
        self.client, self.headers = client, bearer(raw_key)
        self.doc = client.get("/api/openapi.json").get_json()

    def call(self, method, path, json=None, raw=None, headers=None, **kw):
        response = self.client.open(path, method=method, json=json, data=raw,
                                    headers={**self.headers, **(headers or {})}, **kw)
        assert response.headers["X-Request-Id"]
        self.check(method, path, response)
        return response

    def check(self, method, path, response):
        template = next(t for t in self.doc["paths"]
                        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path.split("?")[0])
                        and method.lower() in self.doc["paths"][t])
        spec = self.doc["paths"][template][method.lower()]["responses"][str(response.status_code)]
        schema = spec["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": self.doc["components"]}).validate(response.get_json())
