// The three triggers of the product doc, and the lead triggers (callbacks, disqualified contacts). Each is a REST hook: Zapier subscribes a target URL
// for one event type, Converc POSTs the signed event envelope there, and "Find new records"
// (performList) reads the latest events of that type.
const { baseUrl } = require('../lib/base');
const sample = require('./sample');

const subscribe = (event) => async (z, bundle) => {
  const response = await z.request({
    url: `${baseUrl()}/integrations/zapier/subscriptions`,
    method: 'POST',
    body: { targetUrl: bundle.targetUrl, event },
  });
  return response.data; // {id, event, targetUrl, createdAt}: kept by Zapier as subscribeData
};

const unsubscribe = async (z, bundle) => {
  await z.request({
    url: `${baseUrl()}/integrations/zapier/subscriptions/${encodeURIComponent(bundle.subscribeData.id)}`,
    method: 'DELETE',
  });
  return {};
};

// a delivered event is one record; the envelope's id deduplicates retried deliveries
const perform = (z, bundle) => [bundle.cleanedRequest];

const list = (event) => async (z, bundle) => {
  const response = await z.request({
    url: `${baseUrl()}/integrations/zapier/samples`,
    params: { event },
  });
  return response.data;
};

const outputFields = [
  { key: 'id', label: 'Event ID' },
  { key: 'type', label: 'Event Type' },
  { key: 'createdAt', label: 'Created At', type: 'datetime' },
  { key: 'data__call__id', label: 'Call ID' },
  { key: 'data__call__status', label: 'Call Status' },
  { key: 'data__call__endedAt', label: 'Call Ended At', type: 'datetime' },
  { key: 'data__contact__name', label: 'Contact Name' },
  { key: 'data__contact__email', label: 'Contact Email' },
  { key: 'data__contact__phone', label: 'Contact Phone' },
  { key: 'data__recording__videoUrl', label: 'Recording Video URL' },
  { key: 'data__recording__audioUrl', label: 'Recording Audio URL' },
  { key: 'data__transcript__text', label: 'Transcript Text' },
  { key: 'data__callback__id', label: 'Callback ID' },
  { key: 'data__callback__preferredWindow', label: 'Callback Preferred Window' },
  { key: 'data__callback__note', label: 'Callback Note' },
];

const trigger = (key, event, label, description) => ({
  key,
  noun: 'Call',
  display: { label, description },
  operation: {
    type: 'hook',
    performSubscribe: subscribe(event),
    performUnsubscribe: unsubscribe,
    perform,
    performList: list(event),
    sample: sample(event),
    outputFields,
  },
});

module.exports = [
  trigger('call_ended', 'call.ended', 'Call Ended', 'Triggers when a call finishes.'),
  trigger(
    'call_recording_ready',
    'call.recording_ready',
    'Call Recording Ready',
    'Triggers after the recording is processed.',
  ),
  trigger(
    'call_transcript_ready',
    'call.transcript_ready',
    'Call Transcript Ready',
    'Triggers once the transcript is ready.',
  ),
  trigger(
    'callback_requested',
    'callback.requested',
    'Callback Requested',
    'Triggers when a visitor leaves their details for a callback.',
  ),
  trigger(
    'callback_completed',
    'callback.completed',
    'Callback Completed',
    'Triggers when a rep marks a callback done.',
  ),
  trigger(
    'contact_disqualified',
    'contact.disqualified',
    'Contact Disqualified',
    'Triggers when the qualification turns a visitor away (their answers and contact are kept).',
  ),
];
