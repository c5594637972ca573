"""The dashboard sidebar: the sections of the product doc, showing only pages that exist."""

from flask import current_app
from flask_login import current_user

# (section, [(label, endpoint, admin only)]) in the order of the product doc's sidebar.
SIDEBAR = [
    ("", [("Home", "dashboard.index", False), ("Calls", "calls.index", False),
          ("Callbacks", "callbacks.index", False), ("Contacts", "contacts.index", False),
          ("Recordings", "recordings.index", False),
          ("Analytics", "analytics.index", False)]),
    ("Widget", [("Sites", "sites.index", True), ("Widget Settings", "widget_settings.index", True),
                ("Theme", "widget_theme.index", True),
                ("Qualifications", "qualifications.index", True)]),
    ("Settings", [("Availability", "availability.index", False),
                  ("Google Calendar", "integrations.google_calendar", False),
                  ("Who can take a call", "availability.status", True),
                  ("Teammates", "team.index", True),
                  ("Teams and routing", "routing.teams_index", True),
                  ("Organization", "organization.edit", True),
                  ("Integrations", "integrations.index", True),
                  ("Automations", "automations.index", True),
                  ("Custom Scripts", "custom_scripts.index", True),
                  ("Account", "auth.account", False)]),
]


def nav_sections():
    """Sidebar entries whose page exists and that the current user may open."""
    sections = []
    for title, items in SIDEBAR:
        visible = [
            (label, endpoint) for label, endpoint, admin_only in items
            if endpoint in current_app.view_functions
            and (current_user.is_admin or not admin_only)
        ]
        if visible:
            sections.append((title, visible))
    return sections
