// End to end through the sign-in page, in a real browser: headless Chromium (Debian's package),
// driven by playwright-core (pinned in web/package-lock.json), against the local AWS the Rust
// end-to-end test started. It serves web/dist with serve.mjs, one configuration per stack, reads
// codes from the local SES mailbox and SNS outbox as a person would read their mail, and fills
// the page by its labels, so an unlabelled field fails the test.
//
//   node tests/browser/signin.mjs '<json>'     (tests/local_aws/browser.rs writes the JSON)
//
// The JSON: { endpoint, artifacts, chromium, pagePort, user: {name, password, email, phone},
//             other: {name, email}, stacks: { "<stack>": {userPoolId, clientId, flow, passkeyApi?} } }
// Progress goes to stderr; stdout gets one JSON line, {"codes": [...]}, for the leak check.
// Screenshots land in `artifacts`. Exits non-zero on the first failed expectation.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';

import { serve } from '../../web/serve.mjs';
import { devices } from './devices.mjs';
import { passkeys } from './passkeys.mjs';

// playwright-core is installed with the page's packages (web/node_modules).
const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const input = JSON.parse(process.argv[2] ?? '{}');
const { endpoint, artifacts, user } = input;
const log = (line) => console.error(`  page: ${line}`);
const codes = [];
const proofs = [];
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1024, height: 768 };
/** The page in use, for a screenshot and its words when an expectation fails. */
let lastPage = null;

async function getJson(path) {
  const response = await fetch(`${endpoint}${path}`);
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

/** Every e-mail the local SES accepted for `to`, oldest first. */
async function mails(to) {
  const data = await getJson('/_ministack/ses/messages');
  return Object.values(data.messages ?? {})
    .flat()
    .filter((m) => (m.To ?? []).includes(to))
    .sort((a, b) => (a.Timestamp ?? 0) - (b.Timestamp ?? 0));
}

/** Every SMS the local SNS published to `phone`, oldest first. */
async function texts(phone) {
  const data = await getJson(`/_ministack/sns/sms-messages?phoneNumber=${encodeURIComponent(phone)}`);
  return data.sms_messages?.[phone] ?? [];
}

/** Waits (10 s at most) for message number `count + 1` and returns the code in it. */
async function newCode(read, count, field) {
  for (let i = 0; i < 100; i++) {
    const list = await read();
    if (list.length > count) {
      const match = /code is (\d+)/.exec(list[list.length - 1][field] ?? '');
      assert.ok(match, 'the newest message carries a code');
      codes.push(match[1]);
      return match[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no new message reached the local mailbox');
}

const emailCode = async (before) => newCode(() => mails(user.email), before, 'BodyText');
const smsCode = async (before) => newCode(() => texts(user.phone), before, 'Message');

/** A page in a context of its own: a fresh browser profile, like another device. */
async function open(browser, base, stack, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  lastPage = page;
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => log(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      log(`console: ${message.text()}`);
    }
  });
  await page.goto(`${base}${stack}/`);
  await page.getByLabel('User name').waitFor();
  return { context, page };
}

async function focused(page) {
  return page.evaluate(() => document.activeElement?.id ?? '');
}

async function shot(page, name) {
  const path = `${artifacts}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  log(`screenshot ${path}`);
}

/** The signed-in view shows the ID token's claims: returns them as name -> text. */
async function claims(page) {
  await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
  assert.equal(await focused(page), 'signed-in-title', 'focus moves to the result');
  return page.$$eval('#claims div', (rows) =>
    Object.fromEntries(rows.map((r) => [r.querySelector('dt').textContent, r.querySelector('dd').textContent])),
  );
}

async function startSignIn(page, password, name = user.name) {
  await page.getByLabel('User name').fill(name);
  if (password !== undefined) {
    await page.getByLabel('Password').fill(password);
  } else {
    assert.equal(await page.getByLabel('Password').isVisible(), false, 'no password field for this flow');
  }
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * password,email-otp: SRP in the browser, then the code. (One try at the code only: the local AWS
 * ends a sign-in after three answered rounds and counts SRP as two; README.)
 */
async function passwordThenCode(browser, base) {
  const { context, page } = await open(browser, base, 'e2e-password', DESKTOP);
  assert.equal(await focused(page), 'username', 'focus starts on the user name');
  assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible(), false,
    'a flow without passkeys offers none');
  const before = (await mails(user.email)).length;
  await startSignIn(page, user.password);
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  const masked = `${user.email[0]}***@${user.email.split('@')[1]}`;
  assert.match(await page.locator('#challenge-text').textContent(), new RegExp(`code to ${masked.replace(/[*.]/g, '\\$&')}`));
  assert.equal(await page.locator('#challenge-tries').textContent(), '3 tries left.');
  assert.equal(await focused(page), 'answer', 'focus moves to the code');
  await page.getByLabel('Code').fill(await emailCode(before));
  await page.getByRole('button', { name: 'Continue' }).click();
  const seen = await claims(page);
  assert.equal(seen['cognito:username'], user.name);
  assert.equal(seen.email, user.email);
  assert.equal(seen.token_use, 'id');
  assert.equal(seen.signin_amr, '["pwd","otp","mfa"]', 'the ID token says how the sign-in passed');
  await shot(page, 'signed-in');
  // Signing out returns to the start, and a reload stays signed out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('status').filter({ hasText: 'You are signed out.' }).waitFor();
  await page.reload();
  await page.getByLabel('User name').waitFor();
  await context.close();
  log('password,email-otp: SRP in the browser, then the e-mailed code: signed in');
}

/** email-otp|sms-otp: the choice offers both (the phone is verified); each branch signs in. */
async function chooseEach(browser, base) {
  // E-mail, on a phone-sized screen, by pointer.
  let { context, page } = await open(browser, base, 'e2e-choice', PHONE);
  let before = (await mails(user.email)).length;
  const textsBefore = (await texts(user.phone)).length;
  await startSignIn(page, undefined);
  await page.getByRole('heading', { name: 'How do you want to sign in?' }).waitFor();
  const offered = await page.getByRole('radio').evaluateAll((radios) => radios.map((r) => r.value));
  assert.deepEqual(offered, ['email-otp', 'sms-otp']);
  assert.equal(await focused(page), 'pick-0', 'focus on the first choice');
  assert.equal((await mails(user.email)).length, before, 'nothing is sent before the choice');
  await shot(page, 'choice-phone');
  await page.getByLabel('E-mail me a code').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  assert.equal(await page.locator('#challenge-tries').textContent(), '3 tries left.');
  assert.equal(await focused(page), 'answer', 'focus moves to the code');
  // A wrong code first: counted, said in plain words, and the same code stays valid.
  const code = await emailCode(before);
  await page.getByLabel('Code').fill(code === '000000' ? '000001' : '000000');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('alert').filter({ hasText: 'That code was not right. 2 tries left.' }).waitFor();
  assert.equal(await focused(page), 'answer', 'focus back on the code after a wrong one');
  assert.equal(await page.getByLabel('Code').inputValue(), '', 'the wrong code is cleared');
  await page.getByLabel('Code').fill(code);
  await page.getByRole('button', { name: 'Continue' }).click();
  assert.equal((await claims(page))['cognito:username'], user.name);
  assert.equal((await mails(user.email)).length, before + 1, 'the retry reused the one e-mailed code');
  await shot(page, 'signed-in-phone');
  // The narrowest phones: still no sideways scrolling, long claims wrap.
  await page.setViewportSize({ width: 320, height: 640 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 320, `no sideways scrolling on a 320-pixel screen (${width} px wide)`);
  await context.close();
  log('email-otp|sms-otp: e-mail chosen, a wrong code refused, the right one signed in (phone-sized)');

  // SMS, by keyboard alone: arrow to the second choice, Enter to go on, type, Enter.
  ({ context, page } = await open(browser, base, 'e2e-choice', PHONE));
  before = (await mails(user.email)).length;
  await page.keyboard.type(user.name);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'How do you want to sign in?' }).waitFor();
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.getByLabel('Text me a code').isChecked(), true);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Check your phone' }).waitFor();
  assert.match(await page.locator('#challenge-text').textContent(), /by text message to \+\*+\d{2,4}\./);
  await page.keyboard.type(await smsCode(textsBefore));
  await page.keyboard.press('Enter');
  assert.equal((await claims(page))['cognito:username'], user.name);
  assert.equal((await mails(user.email)).length, before, 'no e-mail when SMS was chosen');
  await context.close();
  log('email-otp|sms-otp: SMS chosen by keyboard, signed in');
}

/** email-otp: three wrong codes end the sign-in; the page says so in plain words and starts again. */
async function wrongCodes(browser, base) {
  const { context, page } = await open(browser, base, 'e2e-email', DESKTOP);
  const before = (await mails(user.email)).length;
  await startSignIn(page, undefined);
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  const code = await emailCode(before);
  const wrong = ['000000', '000001', '000002', '000003'].filter((c) => c !== code);
  for (const [i, guess] of wrong.slice(0, 3).entries()) {
    await page.getByLabel('Code').fill(guess);
    await page.getByRole('button', { name: 'Continue' }).click();
    if (i < 2) {
      await page.getByRole('alert').filter({ hasText: `${2 - i} ${i === 1 ? 'try' : 'tries'} left.` }).waitFor();
    }
  }
  await page.getByRole('alert').filter({ hasText: 'Sign-in failed: the user name, password or answer was not right' }).waitFor();
  await page.getByLabel('User name').waitFor();
  assert.equal(await focused(page), 'username', 'focus back on the user name');
  await shot(page, 'failed');
  await context.close();
  log('three wrong codes: the sign-in ends, in plain words');
}

/**
 * On a user pool made outside our template, our triggers attached (issue 31): the pool's own
 * user signs in by the e-mailed code, and the tokens are that user's.
 */
async function existingPool(browser, base) {
  const { context, page } = await open(browser, base, 'x-existing', DESKTOP);
  const before = (await mails(user.email)).length;
  await startSignIn(page, undefined);
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  await page.getByLabel('Code').fill(await emailCode(before));
  await page.getByRole('button', { name: 'Continue' }).click();
  const seen = await claims(page);
  assert.equal(seen['cognito:username'], user.name);
  assert.equal(seen.email, user.email);
  await shot(page, 'existing-pool-signed-in');
  await context.close();
  log('existing pool: its own user signed in through our flow, by the e-mailed code');
}

/** select-account: the picker lists the user's accounts; the one picked is in the ID token. */
async function pickAccount(browser, base) {
  const { context, page } = await open(browser, base, 'e2e-account', PHONE);
  await startSignIn(page, undefined);
  await page.getByRole('heading', { name: 'Choose an account' }).waitFor();
  assert.equal(await focused(page), 'pick-0', 'focus on the first account');
  const offered = await page.getByRole('radio').evaluateAll((radios) => radios.map((r) => r.value));
  assert.deepEqual(offered.sort(), ['acct-1001', 'acct-2002']);
  await page.getByLabel('Acme Corp (acct-2002)').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  const seen = await claims(page);
  assert.equal(seen.selected_account, 'acct-2002', 'the picked account is in the ID token');
  assert.equal(seen['custom:accounts'], undefined, 'the ID token drops the account list');
  await shot(page, 'account-picked');
  await context.close();
  log('select-account: Acme Corp picked, selected_account in the ID token');
}

/** Waits (10 s at most) for e-mail number `count + 1` to `to`; the magic link in it. */
async function newLink(count, to) {
  for (let i = 0; i < 100; i++) {
    const list = await mails(to);
    if (list.length > count) {
      const mail = list[list.length - 1];
      const match = /(http\S+#magic-link=([A-Za-z0-9_.-]+))/.exec(mail.BodyText ?? '');
      assert.ok(match, 'the newest e-mail carries a magic link');
      if (mail.BodyHtml) {
        assert.ok(mail.BodyHtml.includes(`href="${match[1]}"`), 'the HTML part links the same');
      }
      proofs.push(match[2]);
      return match[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no new e-mail reached the local mailbox');
}

/** The page after a refused link: it says so and offers a new one; no tokens. */
async function refused(page) {
  await page.getByRole('alert').filter({ hasText: 'That link did not work' }).waitFor();
  await page.getByRole('heading', { name: 'Sign in with a link' }).waitFor();
  assert.equal(await page.locator('#signed-in').isVisible(), false);
}

/**
 * Opens a sign-in link in `tab`: the page asks whom to sign in as (the link's user name) and does
 * nothing else until a button is pressed.
 */
async function openLink(tab, link) {
  await tab.goto(link);
  await tab.getByRole('heading', { name: `Sign in as ${user.name}?` }).waitFor();
  assert.equal(await focused(tab), 'link-continue', 'focus on the button that signs in');
  assert.ok(!tab.url().includes('magic-link'), `the proof left the address bar: ${tab.url()}`);
}

/** Whether this tab holds Cognito tokens (Amplify keeps them in sessionStorage). */
async function holdsTokens(tab) {
  return tab.evaluate(() => Object.keys(sessionStorage).some((k) => k.endsWith('.accessToken')));
}

/** A fresh browser profile (another device) with one tab. */
async function device(browser) {
  const context = await browser.newContext({ viewport: DESKTOP });
  const tab = await context.newPage();
  lastPage = tab;
  return { context, tab };
}

/**
 * magic-link: ask on a phone, let a mail scanner fetch the link, open it in a fresh browser
 * (another device) and land signed in; the same link again, a tampered one and an expired one
 * are refused.
 */
async function magicLink(browser, base) {
  const { context: phone, page } = await open(browser, base, 'e2e-link', PHONE);
  await startSignIn(page, undefined);
  await page.getByRole('heading', { name: 'Sign in with a link' }).waitFor();
  assert.equal(await focused(page), 'answer-submit', 'focus on the button to press');
  let before = (await mails(user.email)).length;
  await page.getByRole('button', { name: 'E-mail me a link' }).click();
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  assert.match(await page.locator('#challenge-text').textContent(), /sign-in link to p\*\*\*@example\.com/);
  await shot(page, 'link-sent');
  const link = await newLink(before, user.email);
  // The stack signs with its KMS key (proofs `mk1.`); the HMAC variant is tested in-process.
  assert.ok(link.startsWith(`${base}e2e-link/#magic-link=mk1.`), link.slice(0, 60));

  // A mail scanner fetches the link first: it gets the page (the fragment never leaves the
  // client), which burns nothing.
  const scanned = await fetch(link);
  assert.equal(scanned.status, 200);
  assert.match(await scanned.text(), /<title>Sign in<\/title>/);

  // Opened, the link asks first and redeems nothing: "Not me" leaves no session, and the link
  // still works afterwards (a link someone else sent, for their own account, is seen before it
  // signs this browser in as them).
  let { context, tab } = await device(browser);
  await openLink(tab, link);
  await shot(tab, 'link-confirm');
  await tab.getByRole('button', { name: 'Not me' }).click();
  await tab.getByLabel('User name').waitFor();
  assert.equal(await holdsTokens(tab), false);
  await context.close();

  // Another device opens the link, confirms, and is signed in.
  ({ context, tab } = await device(browser));
  await openLink(tab, link);
  await tab.getByRole('button', { name: 'Continue signing in' }).click();
  assert.equal((await claims(tab))['cognito:username'], user.name);
  await shot(tab, 'link-signed-in');

  // Signed in, a link that does not parse: a plain error, and the session as it was.
  await tab.goto(`${base}e2e-link/#magic-link=ml1.not-a-proof`);
  await tab.getByRole('alert').filter({ hasText: 'This sign-in link is not valid' }).waitFor();
  assert.equal((await claims(tab))['cognito:username'], user.name);
  assert.ok(await holdsTokens(tab));
  await shot(tab, 'link-invalid-signed-in');
  // Signed in, a genuine link: asked first, the session untouched until the click.
  await openLink(tab, link);
  assert.ok(await holdsTokens(tab), 'the session is intact while the page asks');
  await tab.getByRole('button', { name: 'Not me' }).click();
  assert.equal((await claims(tab))['cognito:username'], user.name);
  await context.close();

  // The same link again, elsewhere: refused.
  ({ context, tab } = await device(browser));
  await openLink(tab, link);
  await tab.getByRole('button', { name: 'Continue signing in' }).click();
  await refused(tab);
  await shot(tab, 'link-refused');
  await context.close();

  // Tampered (one character of the signature changed): refused.
  ({ context, tab } = await device(browser));
  const at = link.length - 5;
  await openLink(tab, `${link.slice(0, at)}${link[at] === 'A' ? 'B' : 'A'}${link.slice(at + 1)}`);
  await tab.getByRole('button', { name: 'Continue signing in' }).click();
  await refused(tab);
  await context.close();

  // Expired: a second link from the phone, opened after its 20 s.
  lastPage = page;
  before = (await mails(user.email)).length;
  await page.getByRole('button', { name: 'Send another link' }).click();
  const second = await newLink(before, user.email);
  assert.notEqual(second, link);
  await new Promise((resolve) => setTimeout(resolve, 21_000));
  ({ context, tab } = await device(browser));
  await openLink(tab, second);
  await tab.getByRole('button', { name: 'Continue signing in' }).click();
  await refused(tab);
  await context.close();
  await phone.close();
  log('magic-link: asked before use (nothing redeemed, no session touched), signed in on confirming; a garbage link left the session; reused, tampered and expired links refused');
}

let browser;
let server;
try {
  await mkdir(artifacts, { recursive: true });
  const configs = Object.fromEntries(
    Object.entries(input.stacks).map(([stack, s]) => [
      stack,
      {
        userPoolId: s.userPoolId, clientId: s.clientId, flow: s.flow, endpoint, captchaScript: '',
        ...(s.passkeyApi ? { passkeyApi: s.passkeyApi } : {}),
      },
    ]),
  );
  server = await serve({ configs, port: input.pagePort ?? 0 });
  log(`serving the page at ${server.url}`);
  browser = await chromium.launch({
    executablePath: input.chromium,
    chromiumSandbox: false,
    // The machine's network is closed: Chromium's own background traffic would only fail.
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  log(`browser ${browser.version()}`);
  // `only` (a list of scenario names) runs part of the list, when working on one.
  const run = (name) => !input.only || input.only.includes(name);
  const has = (stack) => Object.hasOwn(input.stacks, stack);
  if (run('existing') && has('x-existing')) await existingPool(browser, server.url);
  if (run('password')) await passwordThenCode(browser, server.url);
  if (run('choice')) await chooseEach(browser, server.url);
  if (run('wrong')) await wrongCodes(browser, server.url);
  if (run('account')) await pickAccount(browser, server.url);
  if (run('link')) await magicLink(browser, server.url);
  const passkeyStack = Object.keys(input.stacks).find(
    (stack) => input.stacks[stack].passkeyApi && input.stacks[stack].flow.includes('passkey'),
  );
  assert.ok(passkeyStack || !has('e2e-passkey'), 'the passkey stack has an API');
  if (run('passkey') && passkeyStack) {
    await passkeys({
      browser, log, user, other: input.other, api: input.stacks[passkeyStack].passkeyApi,
      stack: passkeyStack, endpoint, userPoolId: input.stacks[passkeyStack].userPoolId,
      // WebAuthn wants a domain: the same server, by name.
      base: server.url.replace('//127.0.0.1:', '//localhost:'),
      open, claims, shot, focused, startSignIn, mails, newCode, holdsTokens, DESKTOP,
    });
  }
  if (run('device') && has('e2e-device')) {
    await devices({
      // The account API's CORS rule allows the pages' origins, which name the host localhost.
      browser, base: server.url.replace('//127.0.0.1:', '//localhost:'), log, user, open, claims, shot,
      startSignIn, mails, emailCode, DESKTOP,
    });
  }
  console.log(JSON.stringify({ codes, proofs }));
} catch (error) {
  console.error(error);
  if (lastPage && !lastPage.isClosed()) {
    const words = await lastPage.evaluate(() =>
      ['status', 'error', 'challenge-title', 'challenge-text'].map((id) => `${id}: ${document.getElementById(id)?.textContent}`),
    ).catch(() => []);
    log(`the page said: ${words.join(' | ')}`);
    await shot(lastPage, 'failure').catch(() => {});
  }
  console.log(JSON.stringify({ codes, proofs }));
  process.exitCode = 1;
} finally {
  await browser?.close();
  await server?.close();
}
