// What `zapier validate` checks, without the CLI: the compiled app against zapier-platform-schema.
// (Its own file: the app tester adds a test hook to the app object it runs.)
const { it } = require('node:test');
const assert = require('node:assert/strict');
const schemaTools = require('zapier-platform-core/src/tools/schema');

const App = require('../index');

it('is a valid Zapier app with the three call triggers and the lead triggers', () => {
  assert.deepEqual(schemaTools.validateApp(schemaTools.compileApp(App)), []);
  assert.deepEqual(Object.keys(App.triggers), ['call_ended', 'call_recording_ready', 'call_transcript_ready',
    'callback_requested', 'callback_completed', 'contact_disqualified']);
  assert.equal(App.authentication.type, 'custom');
});
