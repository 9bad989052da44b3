/**
 * The product guide's JavaScript (docs: product/mfa-guide.md), run unmodified against the live
 * server: its functions are the fixture's text, given only `protekt` and `localStorage`.
 *
 * Journey: a fresh user logs in with a password alone, enrolls and confirms an authenticator app,
 * logs in with its code, adds a phone with that MFA session, then logs in with an SMS code (a
 * wrong one first). An mfa_token taken before all that is checked last, once it has expired.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { browserStorage } from '../src/index.js';
import {
  MemoryWebStorage, TotpDevice, claimsOf, client, lastSmsCode, loginWithoutMfa, server, wrongCode,
} from './helpers.js';

const FIXTURE = new URL('./fixtures/guide-snippets.js', import.meta.url);
const REPO = new URL('../../../', import.meta.url);
const GUIDE_PLACES = ['/work/shared/product/mfa-guide.md', fileURLToPath(new URL('../shared/product/mfa-guide.md', REPO))];
const GUIDE_PHONE = '+14155552601';
const EXPIRY_PHONE = '+14155552602';

/** The guide's functions, evaluated with nothing but the two globals they use. */
function guideFunctions(protekt, localStorage) {
  const snippets = readFileSync(FIXTURE, 'utf8');
  const names = 'loginWithMFA, enrollSMS, enrollTOTP, confirmTOTPEnrollment, challengeMFA, verifyMFA';
  return new Function('protekt', 'localStorage', `${snippets}\nreturn { ${names} };`)(protekt, localStorage);
}

const localStorage = new MemoryWebStorage();
const protekt = client({ storage: browserStorage(localStorage) });
const guide = guideFunctions(protekt, localStorage);
const email = server.users.guide;

/** An mfa_token of another user, taken first so that its expiry overlaps the journey. */
let expiring;

before(async () => {
  const other = client();
  const { access_token: accessToken } = await loginWithoutMfa(other, 'expiry');
  await other.mfa.enroll({ type: 'sms', phone_number: EXPIRY_PHONE }, accessToken);
  const result = await other.login({ username: server.users.expiry, password: server.password });
  assert.equal(result.mfa_required, true);
  expiring = { mfaToken: result.mfa_token, expiresAt: Date.now() + server.mfaTokenTtl * 1000 };
});

test('the fixture is the guide\'s JavaScript code blocks, verbatim', (t) => {
  const place = GUIDE_PLACES.find((path) => existsSync(path));
  if (!place) return t.skip('product/mfa-guide.md is not beside the repository');
  const blocks = [...readFileSync(place, 'utf8').matchAll(/```javascript\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 5);
  assert.equal(readFileSync(FIXTURE, 'utf8'), blocks.join(''));
});

test('a wrong password: loginWithMFA throws the server\'s description', async () => {
  await assert.rejects(guide.loginWithMFA(email, 'not the password'), {
    message: 'Login failed: Wrong email or password.',
  });
});

test('a user without a second factor logs in with the password alone', async () => {
  const login = await guide.loginWithMFA(email, server.password);
  assert.equal(login.requiresMFA, false);
  assert.deepEqual(claimsOf(login.tokens.access_token).amr, ['pwd']);
  assert.equal(await protekt.getTokenSilently(), login.tokens.access_token);
});

let device;

test('enrollTOTP and confirmTOTPEnrollment with a code from oathtool', async () => {
  const enrollment = await guide.enrollTOTP();
  assert.match(enrollment.manualEntryKey, /^[A-Z2-7]{32}$/);
  assert.ok(enrollment.qrCodeUrl.startsWith(`otpauth://totp/Protekt:${email}?`), enrollment.qrCodeUrl);
  assert.equal(new URL(enrollment.qrCodeUrl).searchParams.get('secret'), enrollment.manualEntryKey);
  device = new TotpDevice(enrollment.manualEntryKey);
  const confirmed = await guide.confirmTOTPEnrollment(enrollment.enrollmentId, await device.nextCode());
  assert.deepEqual(confirmed, { success: true });
});

test('the password is no longer enough: log in with the app\'s code', async () => {
  const login = await guide.loginWithMFA(email, server.password);
  assert.equal(login.requiresMFA, true);
  assert.deepEqual(login.availableMethods, ['otp', 'recovery-code']);
  assert.deepEqual(await guide.challengeMFA(login.mfaToken, 'otp'), {
    challengeType: 'otp', message: 'Enter code from your authenticator app',
  });
  const verified = await guide.verifyMFA(login.mfaToken, await device.nextCode());
  assert.equal(verified.success, true);
  assert.deepEqual(claimsOf(verified.tokens.access_token).amr, ['pwd', 'otp', 'mfa']);
});

test('enrollSMS with the MFA session getTokenSilently returns', async () => {
  const enrolled = await guide.enrollSMS(GUIDE_PHONE);
  assert.equal(enrolled.success, true);
  const listed = await protekt.mfa.listAuthenticators();
  const phone = listed.find((item) => item.id === enrolled.enrollmentId);
  assert.deepEqual([phone.authenticator_type, phone.oob_channel, phone.active], ['oob', 'sms', true]);
});

test('log in with an SMS code: a wrong code is refused, the right one gives tokens', async () => {
  const login = await guide.loginWithMFA(email, server.password);
  assert.equal(login.requiresMFA, true);
  assert.deepEqual(login.availableMethods, ['otp', 'sms', 'recovery-code']);
  assert.deepEqual(await guide.challengeMFA(login.mfaToken), {
    challengeType: 'sms', message: 'SMS code sent to your phone',
  });
  const code = lastSmsCode(GUIDE_PHONE);
  await assert.rejects(guide.verifyMFA(login.mfaToken, wrongCode(code)), { message: 'Invalid verification code' });
  const verified = await guide.verifyMFA(login.mfaToken, code);
  assert.equal(verified.success, true);
  for (const name of ['access_token', 'id_token', 'refresh_token']) {
    assert.equal(localStorage.getItem(name), verified.tokens[name]);
  }
  assert.deepEqual(claimsOf(localStorage.getItem('access_token')).amr, ['pwd', 'sms', 'mfa']);
  assert.deepEqual(claimsOf(localStorage.getItem('id_token')).amr, ['pwd', 'sms', 'mfa']);
  assert.equal(await protekt.getTokenSilently(), verified.tokens.access_token);
});

test('an expired mfa_token: verifyMFA asks for a new code', async () => {
  await sleep(Math.max(0, expiring.expiresAt + 1000 - Date.now()));
  await assert.rejects(guide.verifyMFA(expiring.mfaToken, '123456'), {
    message: 'Verification code expired. Please request a new one.',
  });
});
