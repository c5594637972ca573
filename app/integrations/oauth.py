"""OAuth clients (Authlib), registered by name: `{NAME}_CLIENT_ID` / `{NAME}_CLIENT_SECRET` config.

Every URL is configuration, so a self-hosted install (or a test) can point a provider elsewhere.
One route pair (connection_routes.oauth_connect / oauth_callback) serves every provider.
"""

from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app

# name -> (authorize URL key, token URL (from config), scope, extra authorize params, admins only)
PROVIDERS = {
    "google": (
        "GOOGLE_AUTHORIZE_URL",
        lambda c: c["GOOGLE_TOKEN_URL"],
        "https://www.googleapis.com/auth/calendar.readonly",
        # offline + consent: Google sends a refresh token, also when the rep connects again
        {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
        False,
    ),
    "slack": (
        "SLACK_AUTHORIZE_URL",
        lambda c: c["SLACK_API_URL"] + "/oauth.v2.access",
        "chat:write,channels:read,groups:read",
        {},
        True,
    ),
    "discord": (
        "DISCORD_AUTHORIZE_URL",
        lambda c: c["DISCORD_API_URL"] + "/oauth2/token",
        "webhook.incoming",
        {},
        True,
    ),
}
EXTENSION = "authlib.integrations.flask_client"


def init_oauth(app) -> None:
    """One registry per app: each app (and each test) has its own provider URLs."""
    oauth = OAuth(app)
    for name, (authorize_key, token_url, scope, params, _) in PROVIDERS.items():
        oauth.register(
            name,
            authorize_url=app.config[authorize_key],
            access_token_url=token_url(app.config),
            authorize_params=params or None,
            client_kwargs={
                "scope": scope,
                "token_endpoint_auth_method": "client_secret_post",
                "timeout": app.config["INTEGRATION_TIMEOUT_SECONDS"],
            },
        )


def client(name: str):
    return current_app.extensions[EXTENSION].create_client(name)


def is_configured(name: str) -> bool:
    prefix = name.upper()
    return bool(
        current_app.config.get(f"{prefix}_CLIENT_ID") and current_app.config.get(f"{prefix}_CLIENT_SECRET")
    )


def admins_only(name: str) -> bool:
    return PROVIDERS[name][4]


def session(name: str, token: dict, update_token) -> OAuth2Session:
    """A requests session holding `token`: Authlib refreshes it when expired and calls update_token."""
    prefix = name.upper()
    config = current_app.config
    return OAuth2Session(
        config[f"{prefix}_CLIENT_ID"],
        config[f"{prefix}_CLIENT_SECRET"],
        token=token,
        token_endpoint=PROVIDERS[name][1](config),
        update_token=update_token,
        token_endpoint_auth_method="client_secret_post",
    )
