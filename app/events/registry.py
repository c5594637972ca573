"""Every event type: name, description and the JSON Schema of its `data`. The only list of types."""

from app.events import register
from app.events import schemas as s

# --- calls (seed 002 "Events & Payload") --------------------------------------------------------
register("call.requested", "A visitor starts a call and enters the queue.", s.CALL_DATA)
register("call.accepted", "A rep accepts the call.", s.CALL_DATA)
register("call.canceled", "The visitor leaves before a rep accepts.", s.CALL_DATA)
register("call.missed", "No rep accepts before the ring timeout.", s.CALL_DATA)
register("call.ended", "A call ends (also after it was canceled or missed).", s.CALL_DATA,
         zapier=("call_ended", "Call Ended"))
register("call.transcript_ready", "The call's transcript is ready.", s.CALL_DATA,
         zapier=("call_transcript_ready", "Call Transcript Ready"))
register("call.recording_ready", "The recording has finished uploading; data.recording has signed URLs.",
         s.CALL_DATA, zapier=("call_recording_ready", "Call Recording Ready"))
register("call.routed", "A routing rule (or the qualification's rule) sent the call to a team; "
         "data.routing says which, how it rings and when it overflows.", s.ROUTED_DATA)
register("call.overflowed", "Nobody in the call's team answered in time: the fallback team (or everyone) "
         "rings too.", s.ROUTED_DATA)
register("webhook.test", "Sent when you use the test endpoint (sample call data).", s.CALL_DATA,
         subscribable=False)

# --- per-module events (seed 004) --------------------------------------------------------------
register("contact.created", "A contact was created (a visitor's first call, or through the API).",
         s.CONTACT_DATA)
register("contact.updated", "A contact's details changed; data.changes names the fields.", s.CONTACT_DATA)
register("contact.deleted", "A contact was erased with its calls' personal data, recordings and "
         "transcripts.", s.CONTACT_DELETED_DATA)
register("site.created", "A site was added.", s.SITE_DATA)
register("site.updated", "A site's widget settings changed; data.changes names the fields.", s.SITE_DATA)
register("site.deleted", "A site was deleted.", s.SITE_DATA)
register("teammate.joined", "Someone accepted an invite and joined the organization.", s.TEAMMATE_DATA)
register("teammate.removed", "A teammate was removed from the organization.", s.TEAMMATE_DATA)
register("rep.availability_changed", "A rep became available or unavailable: the Available switch, or "
         "their dashboard opening or closing (debounced).", s.AVAILABILITY_DATA)
register("integration.connected", "Slack, Discord, lead push or a rep's Google Calendar was connected.",
         s.INTEGRATION_DATA)
register("integration.disconnected", "An integration was disconnected.", s.INTEGRATION_DATA)
register("webhook.disabled", "A webhook endpoint was disabled; data.reason says why (through the API, "
         "the dashboard, a 410 answer, or days of failures).", s.WEBHOOK_DISABLED_DATA)

# --- leads that did not become a call (app/callbacks) ------------------------------------------
register("callback.requested", "A visitor left their details for a callback (no one answered, or they chose "
         "to).",
         s.LEAD_DATA, zapier=("callback_requested", "Callback Requested"))
register("callback.claimed", "A rep took a callback on (data.callback.claimedBy).", s.LEAD_DATA)
register("callback.updated", "A callback's notes changed (data.callback.notes).", s.LEAD_DATA)
register("callback.completed", "A rep marked a callback done (data.callback.notes).", s.LEAD_DATA,
         zapier=("callback_completed", "Callback Completed"))
register("contact.disqualified", "The qualification turned a visitor away; their contact and answers are "
         "kept.",
         s.LEAD_DATA, zapier=("contact_disqualified", "Contact Disqualified"))
