// Passkeys through the sign-in page, in headless Chromium with virtual authenticators (DevTools
// Protocol `WebAuthn.addVirtualAuthenticator`: CTAP2, internal transport, user verification),
// against the local AWS's `passkey|email-otp` stack and its registration API (HTTP API, JWT
// authorizer). signin.mjs runs it with its helpers. The page is opened as http://localhost
// (a WebAuthn RP id must be a domain; the stack's is `localhost`).

import assert from 'node:assert/strict';

import { virtualAuthenticator as authenticator, present } from './webauthn.mjs';

/** The signed-in page's access token (Amplify keeps it in sessionStorage). */
async function accessToken(page) {
  return page.evaluate(() =>
    Object.entries(sessionStorage).find(([key]) => key.endsWith('.accessToken'))?.[1] ?? '',
  );
}

/**
 * Clicks "Sign out" on `page`, whose autofill then signs in again at once, and waits (20 s at
 * most) for the new sign-in: an ID token other than the one held before.
 */
async function signOutAndBackIn(page) {
  const before = await idToken(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  for (let i = 0; i < 200; i++) {
    const now = await idToken(page);
    if (now && now !== before) {
      await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no new sign-in after signing out');
}

async function idToken(page) {
  return page.evaluate(() =>
    Object.entries(sessionStorage).find(([key]) => key.endsWith('.idToken'))?.[1] ?? '',
  );
}

/** base64url (the API's credential ids) to base64 (the DevTools Protocol's). */
function toBase64(id) {
  return Buffer.from(id, 'base64url').toString('base64');
}

export async function passkeys(t) {
  const { browser, base, api, user, other, log, stack: STACK } = t;
  const call = async (method, path, token) => {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  };

  /** Signs `who` in on `page` by the e-mailed code (the choice's other branch). */
  async function withCode(page, who) {
    const before = (await t.mails(who.email)).length;
    await t.startSignIn(page, undefined, who.name);
    await page.getByRole('heading', { name: 'How do you want to sign in?' }).waitFor();
    const offered = await page.getByRole('radio').evaluateAll((radios) => radios.map((r) => r.value));
    assert.deepEqual(offered, ['passkey', 'email-otp']);
    await page.getByLabel('E-mail me a code').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
    await page.getByLabel('Code').fill(await t.newCode(() => t.mails(who.email), before, 'BodyText'));
    await page.getByRole('button', { name: 'Continue' }).click();
    assert.equal((await t.claims(page))['cognito:username'], who.name);
  }

  /**
   * Starts `who`'s sign-in on `page` by name and answers the passkey round with the
   * authenticator (`auth`, touched from the round on, when it waits for a touch).
   */
  async function withPasskey(page, who, auth) {
    await t.startSignIn(page, undefined, who.name);
    await page.getByRole('heading', { name: 'How do you want to sign in?' }).waitFor();
    await page.getByLabel('Use a passkey').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Use your passkey' }).waitFor();
    assert.equal(await t.focused(page), 'answer-submit', 'focus on the button to press');
    if (auth) {
      await present(auth, true);
    }
    await page.getByRole('button', { name: 'Use my passkey' }).click();
  }

  /** The name field's value: what the person typed (nothing, for a sign-in without a name). */
  async function typedName(page) {
    return page.evaluate(() => document.getElementById('username').value);
  }

  async function addPasskey(page, name) {
    await page.getByRole('status').filter({ hasText: 'You have no passkeys yet.' }).waitFor();
    await page.getByLabel('Name of the new passkey').fill(name);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByRole('status').filter({ hasText: `Passkey "${name}" added.` }).waitFor();
    assert.equal(await page.locator('#passkey-list li').count(), 1);
    assert.match(await page.locator('#passkey-list li').first().textContent(), new RegExp(`${name}.*never used`));
  }

  /** Waits (10 s at most) for an e-mail to `to` whose text has `words`. */
  async function notice(to, words) {
    for (let i = 0; i < 100; i++) {
      if ((await t.mails(to)).some((m) => (m.BodyText ?? '').includes(words))) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no notice "${words}" reached ${to}`);
  }

  // Pat signs in with a code and adds a passkey; a notice goes to Pat's address.
  const { context: laptop, page } = await t.open(browser, base, STACK, t.DESKTOP);
  const mine = await authenticator(laptop, page);
  await withCode(page, user);
  await addPasskey(page, 'Test laptop');
  await t.shot(page, 'passkey-added');
  await notice(user.email, 'The passkey "Test laptop" was added to your account');
  const { credentials: held } = await mine.cdp.send('WebAuthn.getCredentials', { authenticatorId: mine.authenticatorId });
  assert.equal(held.length, 1, 'the authenticator holds the new passkey');
  assert.equal(held[0].rpId, 'localhost');
  assert.notEqual(Buffer.from(held[0].userHandle, 'base64').toString(), user.name, 'the user handle is not the name');

  // The API: nothing without a token; the caller's own passkeys with one.
  const patToken = await accessToken(page);
  assert.equal((await call('GET', '/passkeys')).status, 401, 'no token: refused by the authorizer');
  assert.equal((await call('GET', '/passkeys', 'not.a.token')).status, 401, 'a forged token: refused');
  const listed = await call('GET', '/passkeys', patToken);
  assert.equal(listed.status, 200);
  assert.equal(listed.body.passkeys.length, 1);
  const patId = listed.body.passkeys[0].id;
  assert.equal(toBase64(patId), held[0].credentialId, 'the API lists the authenticator\'s credential');

  // Signed out, Pat picks the passkey the name field offers (autofill: a conditional WebAuthn
  // request, which Chromium's virtual authenticator answers at once, as a person would pick
  // it from the suggestions): signed in with no name typed and no other click.
  assert.equal(await page.getByLabel('User name').getAttribute('autocomplete'), 'username webauthn');
  assert.equal(await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable()), true,
    'headless Chromium offers conditional mediation');
  await signOutAndBackIn(page);
  assert.equal((await t.claims(page))['cognito:username'], user.name);
  assert.equal(await typedName(page), '', 'no name typed');
  await t.shot(page, 'passkey-no-name');
  log('passkey|email-otp: signed out, signed in again by autofill: the passkey alone, no name typed');

  // Signed out with the authenticator waiting for a touch (the autofill request stays open),
  // Pat types the name instead and uses the passkey in its round: the named way still works.
  await present(mine, false);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('status').filter({ hasText: 'You are signed out.' }).waitFor();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
  await t.shot(page, 'passkey-start');
  await withPasskey(page, user, mine);
  const seen = await t.claims(page);
  const signedInAt = Date.now();
  assert.equal(seen['cognito:username'], user.name);
  assert.equal(seen.signin_amr, '["hwk","user","mfa"]', 'a verified passkey: two factors in one');
  await page.locator('#passkey-list li').filter({ hasText: 'last used' }).waitFor();
  await t.shot(page, 'passkey-signed-in');
  log('passkey|email-otp: signed in with a code, added a passkey, signed out, signed in with the passkey');

  // Quinn, on another device, adds a passkey of their own.
  const { context: theirs, page: other_page } = await t.open(browser, base, STACK, t.DESKTOP);
  const quinnKey = await authenticator(theirs, other_page);
  await withCode(other_page, other);
  await addPasskey(other_page, 'Quinn key');
  const quinnToken = await accessToken(other_page);
  // Quinn's token reaches only Quinn's passkeys: Pat's id is no passkey of Quinn's.
  assert.equal((await call('DELETE', `/passkeys/${patId}`, quinnToken)).status, 404);
  const quinns = await call('GET', '/passkeys', quinnToken);
  assert.deepEqual(quinns.body.passkeys.map((p) => p.name), ['Quinn key']);
  assert.equal((await call('GET', '/passkeys', patToken)).body.passkeys.length, 1, 'Pat\'s passkey is still there');

  // Quinn's passkey, without a name, signs in as Quinn: by autofill, then by the button.
  await signOutAndBackIn(other_page);
  assert.equal((await t.claims(other_page))['cognito:username'], other.name, 'Quinn, not Pat');
  await present(quinnKey, false);
  await other_page.getByRole('button', { name: 'Sign out' }).click();
  await other_page.getByRole('status').filter({ hasText: 'You are signed out.' }).waitFor();
  await present(quinnKey, true);
  await other_page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await other_page.getByRole('heading', { name: 'You are signed in' }).waitFor();
  assert.equal((await t.claims(other_page))['cognito:username'], other.name, 'Quinn, by the button');
  assert.equal(await typedName(other_page), '', 'no name typed');
  log('passkeys: without a name, each passkey signs in its own holder (autofill and button)');

  // Quinn's authenticator, asked for Pat by name: it holds no passkey Pat's round offers.
  await present(quinnKey, false);
  await other_page.getByRole('button', { name: 'Sign out' }).click();
  await withPasskey(other_page, user, quinnKey);
  await other_page.getByRole('alert').filter({ hasText: 'No passkey was used' }).waitFor();
  await t.shot(other_page, 'passkey-none-here');

  // An authenticator that claims Pat's credential id but signs with Quinn's key (and returns
  // Quinn's user handle): the answer reaches Verify, which refuses it.
  const [quinnCredential] = (await quinnKey.cdp.send('WebAuthn.getCredentials', { authenticatorId: quinnKey.authenticatorId })).credentials;
  const { context: forged, page: forged_page } = await t.open(browser, base, STACK, t.DESKTOP);
  const fake = await authenticator(forged, forged_page, { presence: false });
  await fake.cdp.send('WebAuthn.addCredential', {
    authenticatorId: fake.authenticatorId,
    credential: { ...quinnCredential, credentialId: held[0].credentialId, signCount: 100 },
  });
  // Without a name, the service names no one for it: Pat's passkey carries Pat's user handle,
  // and the key is not Pat's.
  await present(fake, true);
  await forged_page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await forged_page.getByRole('alert').filter({ hasText: 'That passkey could not sign you in.' }).waitFor();
  assert.equal(await t.holdsTokens(forged_page), false);
  await t.shot(forged_page, 'passkey-no-name-refused');
  await present(fake, false);
  await withPasskey(forged_page, user, fake);
  await forged_page.getByRole('alert').filter({ hasText: 'That passkey was not accepted.' }).waitFor();
  await t.shot(forged_page, 'passkey-refused');
  await forged.close();
  await theirs.close();
  log('passkeys: another user\'s authenticator finds none; a forged one is refused by Verify; the API keeps users apart');

  // Pat deletes the passkey on the page, once the sign-in is older than the stack allows for
  // changing passkeys (PASSKEY_REGISTRATION_MAX_AGE_SECONDS, 10 s here): the API refuses the
  // old token (a stolen one could not do this), the page asks Pat to sign in again, and then
  // deletes. The API lists none; a notice goes to Pat's address.
  const wait = signedInAt + 11_000 - Date.now();
  if (wait > 0) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const stale = await call('POST', '/passkeys/registration', await accessToken(page));
  assert.deepEqual([stale.status, stale.body?.code], [403, 'sign-in-again'], JSON.stringify(stale.body));
  await page.getByRole('button', { name: 'Delete passkey Test laptop' }).click();
  await page.getByRole('status').filter({ hasText: 'To delete a passkey, sign in again' }).waitFor();
  assert.equal(await page.getByLabel('User name').inputValue(), user.name, 'the name is filled in');
  await t.shot(page, 'passkey-sign-in-again');
  await withCode(page, user);
  await page.getByRole('status').filter({ hasText: 'Passkey "Test laptop" deleted.' }).waitFor();
  assert.equal((await call('GET', '/passkeys', await accessToken(page))).body.passkeys.length, 0);
  await notice(user.email, 'The passkey "Test laptop" was removed from your account');
  // The authenticator still holds the deleted passkey and offers it; the service no longer
  // knows it, so it signs no one in.
  await present(mine, true);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('alert').filter({ hasText: 'That passkey could not sign you in.' }).waitFor();
  assert.equal(await t.holdsTokens(page), false, 'a deleted passkey signs no one in');
  await laptop.close();
  log('passkeys: a stale sign-in is refused; the page signs in again and deletes; notices mailed');

  // A token the pool no longer honours: Quinn signs in (a fresh token), an administrator
  // deletes Quinn, and the token, still valid for the API's JWT authorizer, adds nothing.
  const { context: quinnAgain, page: quinnPage } = await t.open(browser, base, STACK, t.DESKTOP);
  await withCode(quinnPage, other);
  const lastToken = await accessToken(quinnPage);
  const deleted = await fetch(t.endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'AWSCognitoIdentityProviderService.AdminDeleteUser',
      Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify({ UserPoolId: t.userPoolId, Username: other.name }),
  });
  assert.equal(deleted.status, 200, 'AdminDeleteUser');
  const revoked = await call('POST', '/passkeys/registration', lastToken);
  assert.deepEqual([revoked.status, revoked.body?.code], [401, 'signed-out'], JSON.stringify(revoked.body));
  await quinnAgain.close();
  log('passkeys: the token of a deleted user adds nothing (the pool refuses it)');
}
