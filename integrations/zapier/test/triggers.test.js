// Runs the app through zapier-platform-core's app tester against a real Converc server:
//   CONVERC_BASE_URL  the server (`make test` starts one), CONVERC_API_KEY  a key of its organization,
//   CONVERC_HOOK_URL  a target URL the server may deliver to.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const zapier = require('zapier-platform-core');

const App = require('../index');

const appTester = zapier.createAppTester(App);
const authData = { apiKey: process.env.CONVERC_API_KEY };
const needServer = !process.env.CONVERC_BASE_URL || !process.env.CONVERC_API_KEY;

describe('authentication', { skip: needServer && 'CONVERC_BASE_URL and CONVERC_API_KEY are not set' }, () => {
  it('accepts a valid key and labels the connection with the organization', async () => {
    const result = await appTester(App.authentication.test, { authData });
    assert.equal(typeof result.organization.name, 'string');
    assert.ok(result.apiKey.prefix.startsWith('cvk_'));
  });

  it('refuses a wrong key with the server message', async () => {
    await assert.rejects(appTester(App.authentication.test, { authData: { apiKey: 'cvk_wrong' } }), /API key/);
  });
});

describe('triggers', { skip: needServer && 'CONVERC_BASE_URL and CONVERC_API_KEY are not set' }, () => {
  for (const [key, type] of [
    ['call_ended', 'call.ended'],
    ['call_recording_ready', 'call.recording_ready'],
    ['call_transcript_ready', 'call.transcript_ready'],
    ['callback_requested', 'callback.requested'],
    ['callback_completed', 'callback.completed'],
    ['contact_disqualified', 'contact.disqualified'],
  ]) {
    it(`${key}: Find new records returns ${type} envelopes`, async () => {
      const records = await appTester(App.triggers[key].operation.performList, { authData });
      assert.ok(Array.isArray(records) && records.length >= 1);
      for (const record of records) {
        assert.equal(record.type, type);
        assert.ok(record.id && record.createdAt && record.data && 'call' in record.data);
      }
    });

    it(`${key}: subscribes a target URL and unsubscribes it`, async () => {
      const bundle = { authData, targetUrl: process.env.CONVERC_HOOK_URL || 'https://hooks.zapier.com/hooks/standard/1/abc/' };
      const subscription = await appTester(App.triggers[key].operation.performSubscribe, bundle);
      assert.equal(subscription.event, type);
      assert.equal(subscription.targetUrl, bundle.targetUrl);
      const unsubscribe = App.triggers[key].operation.performUnsubscribe;
      await appTester(unsubscribe, { authData, subscribeData: subscription });
      // a second unsubscribe finds nothing: it really was removed
      await assert.rejects(appTester(unsubscribe, { authData, subscribeData: subscription }), /not found/);
    });
  }

  it('a real call ended event is listed first', async () => {
    const records = await appTester(App.triggers.call_ended.operation.performList, { authData });
    if (process.env.CONVERC_EXPECT_EVENT_ID) assert.equal(records[0].id, process.env.CONVERC_EXPECT_EVENT_ID);
  });

  it('perform passes the delivered envelope through', async () => {
    const envelope = { id: 'evt', type: 'call.ended', data: {} };
    const records = await appTester(App.triggers.call_ended.operation.perform, { authData, cleanedRequest: envelope });
    assert.deepEqual(records, [envelope]);
  });

  it('refuses an unknown event type', async () => {
    const bundle = { authData, targetUrl: 'https://hooks.zapier.com/hooks/standard/1/abc/' };
    await assert.rejects(
      appTester(async (z) => z.request({
        url: `${process.env.CONVERC_BASE_URL}/integrations/zapier/subscriptions`,
        method: 'POST',
        body: { targetUrl: bundle.targetUrl, event: 'call.requested' },
      }), bundle),
      /event must be one of/,
    );
  });
});
