// Unit tests of what the page says (node --test; `make web-test`). The browser test
// (tests/browser/signin.mjs) checks the same words on the page itself.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  deviceChoice,
  deviceMessage,
  deviceRow,
  usedADevice,
  explainPasskeyError,
  passkeyRow,
  claimRows,
  describeChallenge,
  explainError,
  afterChoiceHint,
  configProblem,
  linkFromHash,
  linkPrompt,
  maskName,
  newSignInId,
  passkeyApiAction,
  optionLabel,
  startsWithPasskey,
  startsWithPassword,
} from './words.js';

test('each challenge kind has its title, text, field and tries', () => {
  const cases = [
    [{ challenge: 'EMAIL_OTP', email: 'j***@example.com', attempt: '1', attemptsLeft: '3' },
      'Check your e-mail', 'We sent a code to j***@example.com.', 'Code', '3 tries left.', false],
    [{ challenge: 'SMS_OTP', phone: '+*******0123', attempt: '3', attemptsLeft: '1' },
      'Check your phone', 'We sent a code by text message to +*******0123.', 'Code', '1 try left.', true],
    [{ challenge: 'SIGNED_TOKEN', attempt: '1', attemptsLeft: '3' },
      'Paste your sign-in token', 'Paste the token your app gave you.', 'Sign-in token', '3 tries left.', false],
    [{ challenge: 'CAPTCHA', siteKey: 'k', attempt: '2', attemptsLeft: '2' },
      'Show you are a person', 'Solve the check below, then continue.', 'CAPTCHA response', '2 tries left.', true],
    [{ challenge: 'SOMETHING_NEW' },
      'One more step', 'The sign-in asks for SOMETHING_NEW.', 'Answer', '', false],
    [{}, 'One more step', 'The sign-in asks for an answer.', 'Answer', '', false],
  ];
  for (const [params, title, text, label, tries, retry] of cases) {
    const view = describeChallenge(params);
    assert.equal(view.title, title, JSON.stringify(params));
    assert.equal(view.text, text);
    assert.equal(view.input.label, label);
    assert.equal(view.tries, tries);
    assert.equal(view.retry, retry);
    assert.ok(view.wrong.length > 0);
  }
  assert.equal(describeChallenge({ challenge: 'CAPTCHA', siteKey: 'site' }).siteKey, 'site');
  assert.equal(describeChallenge({ challenge: 'EMAIL_OTP' }).siteKey, null);
  assert.equal(describeChallenge({ challenge: 'EMAIL_OTP' }).input.autocomplete, 'one-time-code');
});

test('choices and accounts come from JSON; malformed JSON gives an empty list', () => {
  const choose = describeChallenge({ challenge: 'CHOOSE', options: '["email-otp","sms-otp",7]' });
  assert.deepEqual(choose.options, ['email-otp', 'sms-otp']);
  assert.deepEqual(describeChallenge({ challenge: 'CHOOSE', options: 'not json' }).options, []);
  assert.deepEqual(describeChallenge({ challenge: 'CHOOSE', options: '"x"' }).options, []);
  const accounts = describeChallenge({ challenge: 'SELECT_ACCOUNT', accounts: '{"acct-1":"Personal"}' });
  assert.deepEqual(accounts.accounts, { 'acct-1': 'Personal' });
  assert.deepEqual(describeChallenge({ challenge: 'SELECT_ACCOUNT', accounts: '[' }).accounts, {});
  assert.equal(optionLabel('email-otp'), 'E-mail me a code');
  assert.equal(optionLabel('sms-otp'), 'Text me a code');
  assert.equal(optionLabel('new-step'), 'new-step');
});

test('errors in plain words, never the raw message', () => {
  const failed = 'Sign-in failed: the user name, password or answer was not right, or no tries were left. Start again.';
  const cases = [
    [{ name: 'NotAuthorizedException', message: 'Incorrect username or password.' }, failed],
    [{ name: 'UserNotFoundException', message: 'User does not exist.' }, failed],
    [{ name: 'NotAuthorizedException', message: 'Invalid session for the user, session is expired.' },
      'This sign-in took too long and has expired. Start again.'],
    [{ name: 'NotAuthorizedException', message: 'User is disabled.' }, 'This account is disabled. Ask your administrator.'],
    [{ name: 'NotAuthorizedException', message: 'Max authentication attempts exceeded' }, 'Too many tries in this sign-in. Start again.'],
    [{ name: 'UserLambdaValidationException', message: 'CreateAuthChallenge failed with error too many codes requested; try again later.' },
      'Too many codes were sent to this account. Wait a few minutes, then try again.'],
    [{ name: 'UserLambdaValidationException', message: 'DefineAuthChallenge failed with error too many failed attempts; try again later.' },
      'Too many wrong answers for this account. Wait a few minutes, then try again.'],
    [{ name: 'UserLambdaValidationException', message: 'VerifyAuthChallengeResponse failed with error internal.' },
      'The sign-in service could not go on. Try again in a moment.'],
    [{ name: 'TooManyRequestsException', message: 'Rate exceeded' }, 'Too many requests right now. Wait a moment and try again.'],
    [{ name: 'EmptySignInUsername', message: 'username is required to signIn' }, 'Enter your user name.'],
    [{ name: 'NetworkError', message: 'A network error has occurred.' },
      'Cannot reach the sign-in service. Check your connection and try again.'],
    [new TypeError('Failed to fetch'), 'Cannot reach the sign-in service. Check your connection and try again.'],
    [{ name: 'UnsupportedStep', message: 'CONFIRM_SIGN_IN_WITH_TOTP_CODE' }, 'Sign-in failed. Start again.'],
    [undefined, 'Sign-in failed. Start again.'],
  ];
  for (const [error, words] of cases) {
    assert.equal(explainError(error), words, JSON.stringify(error));
  }
});

test('claims: times as dates, other values as text', () => {
  const rows = claimRows({ sub: 'abc', exp: 0, email_verified: true, aud: 'c' });
  assert.deepEqual(rows, [
    ['sub', 'abc'],
    ['exp', '1970-01-01T00:00:00.000Z (0)'],
    ['email_verified', 'true'],
    ['aud', 'c'],
  ]);
  assert.deepEqual(claimRows(undefined), []);
});

test('sign-in ids are 128 random bits in hex; the password step is the flow\'s first', () => {
  const a = newSignInId();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, newSignInId());
  assert.equal(startsWithPassword('password,email-otp'), true);
  assert.equal(startsWithPassword(' password , sms-otp'), true);
  assert.equal(startsWithPassword('email-otp|sms-otp'), false);
  assert.equal(startsWithPassword('email-otp,password'), false);
  assert.equal(startsWithPassword(undefined), false);
});

test('magic-link rounds: ask, sent, too soon, a page not allowed', () => {
  const ask = describeChallenge({ challenge: 'MAGIC_LINK', email: 'j***@example.com', sent: 'false', attempt: '1', attemptsLeft: '3' });
  assert.equal(ask.title, 'Sign in with a link');
  assert.equal(ask.action, 'E-mail me a link');
  assert.equal(ask.text, 'We can e-mail a sign-in link to j***@example.com.');
  const sent = describeChallenge({ challenge: 'MAGIC_LINK', email: 'j***@example.com', sent: 'true', attempt: '2', attemptsLeft: '2' });
  assert.equal(sent.title, 'Check your e-mail');
  assert.equal(sent.action, 'Send another link');
  assert.equal(sent.retry, false, 'asking for a link is no wrong answer');
  assert.match(describeChallenge({ challenge: 'MAGIC_LINK', sent: 'too-soon' }).text, /less than a minute ago/);
  assert.match(describeChallenge({ challenge: 'MAGIC_LINK', sent: 'bad-url' }).text, /cannot receive sign-in links/);
  assert.equal(optionLabel('magic-link'), 'E-mail me a sign-in link');
});

test('a magic link in the fragment: its proof and user; anything else is no link', () => {
  const payload = Buffer.from(JSON.stringify({ p: 'pool', u: 'jane', l: 'x', i: 'id', t: 1, e: 2 })).toString('base64url');
  const proof = `ml1.${payload}.c2ln`;
  assert.deepEqual(linkFromHash(`#magic-link=${proof}`), { proof, user: 'jane' });
  const kms = `mk1.${payload}.c2ln`;
  assert.deepEqual(linkFromHash(`#magic-link=${kms}`), { proof: kms, user: 'jane' });
  const noUser = Buffer.from(JSON.stringify({ p: 'pool' })).toString('base64url');
  // No link in the address: nothing to do.
  for (const hash of ['', '#', `#other=${proof}`]) {
    assert.equal(linkFromHash(hash), null, hash);
  }
  // A link that does not parse: an error to show, and nothing else.
  for (const hash of ['#magic-link=', '#magic-link=ml2.x.y', '#magic-link=ml1.!!.x',
    `#magic-link=ml1.${noUser}.x`, `#magic-link=${proof}&x=1`, `#magic-link=ml1.${payload}`]) {
    assert.deepEqual(linkFromHash(hash), { invalid: true }, hash);
  }
});

test('a link asks before it signs in, and shows whom it names, masked', () => {
  assert.equal(maskName('jane@example.com'), 'j***@example.com');
  assert.equal(maskName('jane'), 'jane');
  assert.equal(maskName('@example.com'), '@example.com');
  const prompt = linkPrompt({ proof: 'p', user: 'mallory@evil.example' });
  assert.equal(prompt.title, 'Sign in as m***@evil.example?');
  assert.match(prompt.text, /checked when you continue/);
  assert.equal(prompt.action, 'Continue signing in');
  assert.equal(prompt.cancel, 'Not me');
});

test('after a pick, what to do when nothing arrives', () => {
  assert.equal(afterChoiceHint('EMAIL_OTP'), 'No code? Start again and choose another way.');
  assert.equal(afterChoiceHint('SMS_OTP'), 'No code? Start again and choose another way.');
  assert.match(afterChoiceHint('MAGIC_LINK'), /^No e-mail\?/);
  assert.match(afterChoiceHint('PASSKEY'), /choose another way/);
  assert.equal(afterChoiceHint('CAPTCHA'), '');
});

test('config.json sends tokens only over https, or to this computer', () => {
  const table = [
    [{}, ''],
    [{ endpoint: 'https://cognito-idp.us-east-1.amazonaws.com/' }, ''],
    [{ endpoint: 'http://127.0.0.1:4599', passkeyApi: 'http://localhost:4599/x' }, ''],
    [{ passkeyApi: 'http://[::1]:8080/' }, ''],
    [{ endpoint: 'http://attacker.example/' }, 'config.json: endpoint must be an https:// address (plain http only on this computer).'],
    [{ passkeyApi: 'http://localhost:80@attacker.example/' }, 'config.json: passkeyApi must be an https:// address (plain http only on this computer).'],
    [{ passkeyApi: 'https://user:pw@api.example/' }, 'config.json: passkeyApi must be an https:// address (plain http only on this computer).'],
    [{ endpoint: 'javascript:alert(1)' }, 'config.json: endpoint must be an https:// address (plain http only on this computer).'],
    [{ endpoint: 'not a url' }, 'config.json: endpoint is not a URL.'],
  ];
  for (const [config, want] of table) {
    assert.equal(configProblem(config), want, JSON.stringify(config));
  }
});

test('passkey API errors: sign in again, start over, or say it', () => {
  assert.equal(passkeyApiAction({ code: 'sign-in-again' }), 'reauthenticate');
  assert.equal(passkeyApiAction({ code: 'signed-out' }), 'signed-out');
  assert.equal(passkeyApiAction({ code: 'too-many' }), 'say');
  assert.equal(passkeyApiAction(undefined), 'say');
});

test('passkey rounds: the request options, a button, and the browser\'s refusals in plain words', () => {
  const options = { challenge: 'abc', rpId: 'example.com', allowCredentials: [] };
  const view = describeChallenge({ challenge: 'PASSKEY', attempt: '1', attemptsLeft: '3', options: JSON.stringify(options) });
  assert.equal(view.title, 'Use your passkey');
  assert.equal(view.action, 'Use my passkey');
  assert.deepEqual(view.passkeyOptions, options);
  assert.equal(describeChallenge({ challenge: 'PASSKEY', options: 'nope' }).passkeyOptions, null);
  assert.equal(optionLabel('passkey'), 'Use a passkey');
  assert.match(explainPasskeyError({ name: 'NotAllowedError' }), /choose another way/);
  assert.match(explainPasskeyError({ name: 'NotAllowedError' }, true), /No passkey was made/);
  assert.match(explainPasskeyError({ name: 'InvalidStateError' }, true), /already holds/);
  assert.match(explainPasskeyError({ name: 'SecurityError' }), /address/);
  assert.match(explainPasskeyError({ name: 'Weird', message: 'secret detail' }), /could not be used/);
  assert.doesNotMatch(explainPasskeyError({ name: 'Weird', message: 'secret detail' }), /secret/);
  const row = passkeyRow({ name: 'Laptop', createdAt: 1767225600, lastUsedAt: null }, 'en-GB');
  assert.deepEqual(row, { name: 'Laptop', detail: 'added 1 Jan 2026, never used' });
  assert.match(passkeyRow({ name: 'Key', createdAt: 1767225600, lastUsedAt: 1767312000 }, 'en-GB').detail, /last used 2 Jan 2026/);
});

test('a passkey can start the sign-in when the first stage offers one', () => {
  for (const [flow, want] of [
    ['passkey', true],
    ['passkey|email-otp', true],
    [' email-otp | passkey ,select-account', true],
    ['passkey,email-otp', true],
    ['password,passkey', false],
    ['email-otp,passkey', false],
    ['passkeys', false],
    ['', false],
    [undefined, false],
  ]) {
    assert.equal(startsWithPasskey(flow), want, String(flow));
  }
});

test('a remembered device: picked when this browser holds its key, hidden when not', () => {
  assert.deepEqual(deviceChoice(['device', 'email-otp'], true), { pick: 'device' });
  assert.deepEqual(deviceChoice(['device', 'email-otp'], false), { pick: 'email-otp' });
  assert.deepEqual(deviceChoice(['device', 'email-otp', 'sms-otp'], false), { options: ['email-otp', 'sms-otp'] });
  assert.deepEqual(deviceChoice(['email-otp', 'sms-otp'], true), { options: ['email-otp', 'sms-otp'] }, 'no device offered');
  assert.deepEqual(deviceChoice(['email-otp'], false), { options: ['email-otp'] }, 'a one-way choice is the service\'s');
  assert.deepEqual([...deviceMessage('abc')], [...new TextEncoder().encode('cognito custom-auth device v1:abc')]);
  const view = describeChallenge({ challenge: 'DEVICE', attempt: '1', attemptsLeft: '3', nonce: 'n0nce' });
  assert.equal(view.nonce, 'n0nce');
  assert.match(view.wrong, /no longer remembered/);
  assert.deepEqual(deviceRow({ name: 'Laptop', expiresAt: 1769817600 }, 'en-GB'), { name: 'Laptop', detail: 'remembered until 31 Jan 2026' });
  assert.equal(usedADevice('["pwd","swk","mfa"]'), true);
  assert.equal(usedADevice('["pwd","otp","mfa"]'), false);
  assert.equal(usedADevice(undefined), false);
  assert.equal(usedADevice('not json'), false);
});
