// Converc for Zapier: an API key account and three REST-hook triggers (Call Ended,
// Call Recording Ready, Call Transcript Ready), as the product doc's Zapier section describes.
const { version } = require('./package.json');
const { version: platformVersion } = require('zapier-platform-core');

const { baseUrl } = require('./lib/base');
const triggers = require('./triggers');

const authentication = {
  type: 'custom',
  fields: [
    {
      key: 'apiKey',
      label: 'API Key',
      type: 'password',
      required: true,
      helpText:
        'Create a key in Converc under **Settings → Integrations → API Keys** and paste it here.',
    },
  ],
  // Zapier calls this when the account is added: 401 means the key is wrong or revoked
  test: { url: `${baseUrl()}/integrations/zapier/me` },
  connectionLabel: '{{json.organization.name}}',
};

// every request carries the key the documented way: Authorization: Bearer <key>
const addApiKey = (request, z, bundle) => {
  if (bundle.authData && bundle.authData.apiKey) {
    request.headers = request.headers || {};
    request.headers.Authorization = `Bearer ${bundle.authData.apiKey}`;
  }
  return request;
};

// Converc's errors are {"error": {"code", "message"}}: show the message to the Zapier user
const explainErrors = (response, z) => {
  if (response.status >= 400) {
    let message = `Converc answered HTTP ${response.status}`;
    try {
      const body = typeof response.data === 'object' ? response.data : JSON.parse(response.content);
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (e) {
      // not JSON: keep the status line
    }
    if (response.status === 401) throw new z.errors.Error(message, 'AuthenticationError', 401);
    throw new z.errors.Error(message, errorCode(response), response.status);
  }
  return response;
};

function errorCode(response) {
  try {
    return JSON.parse(response.content).error.code;
  } catch (e) {
    return 'ConvercError';
  }
}

module.exports = {
  version,
  platformVersion,
  authentication,
  beforeRequest: [addApiKey],
  afterResponse: [explainErrors],
  triggers: Object.fromEntries(triggers.map((t) => [t.key, t])),
};
