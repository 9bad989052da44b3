// The SDK's error from an error answer: a void mfa_token says "log in again" (loginAgain), so
// that an app never waits out Retry-After and retries what cannot succeed.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { errorFromResponse } from '../src/errors.js';

function answer(status, body, headers = {}) {
  return errorFromResponse(new Response(JSON.stringify(body), { status, headers }), body);
}

test('a too_many_attempts for a void mfa_token is loginAgain; a lockout is not', () => {
  const voided = answer(429, {
    error: 'too_many_attempts', error_description: 'it is void. Log in again.', login_again: true,
  }, { 'Retry-After': '240' });
  assert.deepEqual([voided.error, voided.retryAfter, voided.loginAgain], ['too_many_attempts', 240, true]);
  const locked = answer(429, { error: 'too_many_attempts' }, { 'Retry-After': '30' });
  assert.deepEqual([locked.retryAfter, locked.loginAgain], [30, false]);
  assert.equal(answer(400, { error: 'invalid_grant', login_again: 'yes' }).loginAgain, false);
});
