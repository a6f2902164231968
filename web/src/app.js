// The sign-in page: Amplify v6 talks to Cognito from the browser (SRP for the password step,
// CUSTOM_AUTH for every other), and this file shows one step at a time. The page knows its user
// pool, app client and flow from config.json beside it (written by `make demo`, or by whoever
// hosts the page), so one build serves every stack.

import { Amplify, sessionStorage } from '@aws-amplify/core';
import { confirmSignIn, fetchAuthSession, signIn, signOut } from '@aws-amplify/auth';
import { cognitoUserPoolsTokenProvider } from '@aws-amplify/auth/cognito';

import {
  INVALID_LINK,
  PASSKEY_WITHOUT_NAME_REFUSED,
  afterChoiceHint,
  claimRows,
  configProblem,
  deviceChoice,
  deviceRow,
  describeChallenge,
  explainError,
  explainPasskeyError,
  linkFromHash,
  linkPrompt,
  newSignInId,
  optionLabel,
  passkeyApiAction,
  passkeyRow,
  startsWithPasskey,
  startsWithPassword,
  usedADevice,
} from './words.js';
import { deviceAnswer, dropKey, heldKey, keepKey, newDeviceKey } from './device.js';

const $ = (id) => document.getElementById(id);

/**
 * The sign-in under way: its id (sent in every answer's ClientMetadata), its current view, and
 * a magic link's proof from the page's address, answered once at the link's round.
 */
let current = { signInId: '', view: null, chose: false };
let link = null;
let config = null;
/**
 * A passkey change the API refused for want of a fresh sign-in: done again, once, right after
 * the person has signed in again.
 */
let pendingPasskey = null;
/**
 * The start view's autofill request (a conditional WebAuthn `get`) while it waits: aborted
 * whenever the page leaves the start view, because a browser runs one WebAuthn request at a time.
 */
let autofill = null;

function show(section) {
  if (section !== 'start') {
    stopAutofill();
  }
  for (const id of ['start', 'challenge', 'link-confirm', 'signed-in', 'broken']) {
    $(id).hidden = id !== section;
  }
}

function setStatus(text) {
  $('status').textContent = text;
}

function setError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

function busy(form, on) {
  for (const button of form.querySelectorAll('button')) {
    button.disabled = on;
  }
  form.setAttribute('aria-busy', on ? 'true' : 'false');
}

/** This page's address as a magic link names it (no query, no fragment). */
function pageUrl() {
  return `${location.origin}${location.pathname}`;
}

/**
 * The start view. `offerPasskeys`: also ask the browser to offer this site's passkeys in the name
 * field's suggestions (autofill), where it can; not after a failure, so a passkey the service
 * refuses is not offered again and again.
 */
function showStart(offerPasskeys = false) {
  current = { signInId: '', view: null, chose: false, discovered: null };
  $('password-row').hidden = !startsWithPassword(config.flow);
  $('password').required = startsWithPassword(config.flow);
  $('password').value = '';
  $('passkey-sign-in').hidden = !passkeyFirst();
  show('start');
  $('username').focus();
  if (offerPasskeys) {
    startAutofill();
  }
}

/** Whether this page can sign in with a passkey before a name is known. */
function passkeyFirst() {
  return Boolean(config.passkeyApi) && startsWithPasskey(config.flow)
    && Boolean(window.PublicKeyCredential?.parseRequestOptionsFromJSON);
}

function stopAutofill() {
  autofill?.abort();
  autofill = null;
}

async function startAutofill() {
  stopAutofill();
  if (!passkeyFirst() || !(await PublicKeyCredential.isConditionalMediationAvailable?.())) {
    return;
  }
  const controller = new AbortController();
  autofill = controller;
  await passkeyWithoutName('conditional', controller.signal);
}

/**
 * Signs in with a passkey before any name is typed: the service's options, the browser's
 * ceremony (`conditional`: the passkey the person picks from the name field's suggestions;
 * `optional`: the browser's own dialog, from the button), then the service names the passkey's
 * holder, and the sign-in starts under that name. Its passkey round is answered with this
 * assertion (the choice's pick too): one touch in all.
 */
async function passkeyWithoutName(mediation, signal) {
  let discovered;
  try {
    const { options, state } = await publicApi('/passkeys/sign-in/options');
    const credential = await navigator.credentials.get({
      mediation,
      signal,
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
    });
    discovered = JSON.stringify({ credential: credential.toJSON(), state });
  } catch (error) {
    if (signal?.aborted || error?.name === 'AbortError') {
      return; // a name typed, the button pressed, or the page moved on
    }
    console.error(`passkey: ${error?.name ?? 'error'}`);
    if (mediation !== 'conditional') {
      setError(explainPasskeyError(error));
    }
    return;
  } finally {
    if (autofill?.signal === signal) {
      autofill = null;
    }
  }
  const form = $('start');
  busy(form, true);
  setError('');
  setStatus('Checking your passkey…');
  try {
    const { username } = await publicApi('/passkeys/sign-in/name', discovered);
    current = { signInId: newSignInId(), view: null, chose: false, discovered, username };
    const result = await signIn({
      username,
      options: {
        authFlowType: 'CUSTOM_WITHOUT_SRP',
        clientMetadata: { signInId: current.signInId },
      },
    });
    await next(result);
  } catch (error) {
    if (error?.refused) {
      console.error('passkey: refused');
      setStatus('');
      setError(PASSKEY_WITHOUT_NAME_REFUSED);
      $('username').focus();
    } else {
      fail(error);
    }
  } finally {
    busy(form, false);
  }
}

/** A call to a public route of the passkey API (no token): the JSON answer, or throws. */
async function publicApi(path, body) {
  const response = await fetch(`${config.passkeyApi.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: body ?? '{}',
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw { name: 'PasskeyApiError', refused: response.status === 400, message: answer.error ?? `HTTP ${response.status}` };
  }
  return answer;
}

async function begin(event) {
  event.preventDefault();
  stopAutofill();
  const form = $('start');
  setError('');
  busy(form, true);
  setStatus('Signing in…');
  current.signInId = newSignInId();
  current.username = $('username').value.trim();
  try {
    const withPassword = startsWithPassword(config.flow);
    const result = await signIn({
      username: $('username').value.trim(),
      password: withPassword ? $('password').value : undefined,
      options: {
        authFlowType: withPassword ? 'CUSTOM_WITH_SRP' : 'CUSTOM_WITHOUT_SRP',
        clientMetadata: { signInId: current.signInId },
      },
    });
    await next(result);
  } catch (error) {
    fail(error);
  } finally {
    busy(form, false);
  }
}

async function next(result) {
  const step = result?.nextStep?.signInStep;
  if (step === 'DONE') {
    await showSignedIn();
  } else if (step === 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE') {
    await showChallenge(result.nextStep.additionalInfo ?? {});
  } else {
    // A pool set up for another kind of sign-in (a new password, MFA): not this page's job.
    fail({ name: 'UnsupportedStep', message: String(step) });
  }
}

async function showChallenge(params) {
  const view = describeChallenge(params);
  current.view = view;
  if (await answeredByDevice(view)) {
    return;
  }
  if (current.discovered) {
    // Started with a passkey and no name: pick the passkey branch, and answer its round with
    // the assertion the person made already. Once: a refused answer shows the round as usual.
    if (view.kind === 'CHOOSE' && view.options?.includes('passkey')) {
      current.chose = true;
      respond('passkey', { choice: 'passkey' });
      return;
    }
    const discovered = current.discovered;
    current.discovered = null;
    if (view.kind === 'PASSKEY' && !view.retry) {
      setStatus('Signing in with your passkey…');
      respond(discovered, {});
      return;
    }
  }
  if (view.kind === 'MAGIC_LINK' && link?.proof) {
    // Opened from a link: answer with its proof, once. If it fails, the round comes back and
    // offers a new link.
    const proof = link.proof;
    link = { ...link, proof: null, tried: true };
    setStatus('Signing in with your link…');
    respond(proof, { redirectUri: pageUrl() });
    return;
  }
  setStatus('');
  $('challenge-title').textContent = view.title;
  $('challenge-text').textContent = view.text;
  $('challenge-tries').textContent = view.tries;
  // After a pick, every way was offered whether or not this account can use it: say what to do
  // when the chosen way brings nothing.
  $('challenge-hint').textContent = current.chose ? afterChoiceHint(view.kind) : '';
  if (view.retry) {
    setError(`${view.wrong} ${view.tries}`);
  } else if (view.kind === 'MAGIC_LINK' && link?.tried && params.sent !== 'true') {
    setError(view.wrong);
    link = null;
  } else {
    setError('');
  }
  $('answer-submit').textContent = view.action ?? 'Continue';

  const choices = $('choices');
  const list = $('choice-list');
  list.replaceChildren();
  const picks = view.options
    ? view.options.map((name) => [name, optionLabel(name)])
    : view.accounts
      ? Object.entries(view.accounts).map(([id, name]) => [id, `${name} (${id})`])
      : null;
  choices.hidden = !picks;
  if (picks) {
    $('choices-legend').textContent = view.options ? 'Sign in with' : 'Accounts';
    picks.forEach(([value, label], i) => {
      const id = `pick-${i}`;
      const input = Object.assign(document.createElement('input'), {
        type: 'radio', name: 'pick', id, value, checked: i === 0, required: true,
      });
      const text = Object.assign(document.createElement('label'), { htmlFor: id, textContent: label });
      const row = document.createElement('div');
      row.className = 'pick';
      row.append(input, text);
      list.append(row);
    });
  }

  const slot = $('captcha-slot');
  slot.hidden = view.siteKey === null;
  if (view.siteKey !== null) {
    renderCaptcha(slot, view.siteKey);
  }

  const needsText = !picks && !view.action;
  $('answer-row').hidden = !needsText;
  const short = $('answer');
  const long = $('answer-long');
  short.hidden = view.input.long;
  long.hidden = !view.input.long;
  const field = view.input.long ? long : short;
  $('answer-label').htmlFor = field.id;
  $('answer-label').textContent = view.input.label;
  short.value = '';
  long.value = '';
  short.inputMode = view.input.numeric ? 'numeric' : 'text';
  short.autocomplete = view.input.autocomplete;
  short.required = needsText && !view.input.long;
  long.required = needsText && view.input.long;

  show('challenge');
  // (A round that follows an answer arrives while the form is busy; a disabled button takes no
  // focus.)
  busy($('challenge'), false);
  // Focus goes to what the person fills next: the field, or the first choice.
  const first = picks ? list.querySelector('input') : view.action ? $('answer-submit') : field;
  first?.focus();
}

/** The CAPTCHA widget (Cloudflare Turnstile by default): its token fills the answer field. */
function renderCaptcha(slot, siteKey) {
  slot.replaceChildren();
  const widget = document.createElement('div');
  widget.dataset.sitekey = siteKey;
  slot.append(widget);
  const script = config.captchaScript ?? 'https://challenges.cloudflare.com/turnstile/v0/api.js';
  if (!script) {
    return;
  }
  const start = () => window.turnstile?.render(widget, {
    sitekey: siteKey,
    callback: (token) => { $('answer-long').value = token; },
  });
  if (window.turnstile) {
    start();
  } else {
    const tag = Object.assign(document.createElement('script'), { src: script, async: true });
    tag.addEventListener('load', start);
    document.head.append(tag);
  }
}

async function answer(event) {
  event.preventDefault();
  const form = $('challenge');
  const view = current.view;
  const picked = form.querySelector('input[name="pick"]:checked');
  const text = view.input.long ? $('answer-long').value : $('answer').value;
  const value = (picked ? picked.value : text).trim();
  // A pick goes twice: as the answer (which Verify checks) and in ClientMetadata `choice`, where
  // the next round's Create reads it. A link is asked for the same way: the answer says
  // `request`, the metadata tells Create which page the link opens.
  if (view.kind === 'CHOOSE') {
    current.chose = true;
    await respond(value, { choice: value });
  } else if (view.kind === 'PASSKEY') {
    await usePasskey(view);
  } else if (view.kind === 'MAGIC_LINK') {
    await respond('request', { magicLink: 'request', redirectUri: pageUrl() });
  } else {
    await respond(value, {});
  }
}

/**
 * The passkey round: the browser asks the authenticator for an assertion of the round's options,
 * and its JSON is the answer. A refusal (cancelled, timed out, no passkey here) stays on the
 * round, which can be tried again or left for another way.
 */
async function usePasskey(view) {
  const form = $('challenge');
  let answer;
  try {
    if (!window.PublicKeyCredential?.parseRequestOptionsFromJSON || !view.passkeyOptions) {
      throw { name: 'NotSupportedError' };
    }
    busy(form, true);
    setStatus('Waiting for your passkey…');
    const credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(view.passkeyOptions),
    });
    answer = JSON.stringify(credential.toJSON());
  } catch (error) {
    console.error(`passkey: ${error?.name ?? 'error'}`);
    setStatus('');
    setError(explainPasskeyError(error));
    busy(form, false);
    $('answer-submit').focus();
    return;
  }
  setStatus('Checking…');
  await respond(answer, {});
}

async function respond(value, extra) {
  const form = $('challenge');
  busy(form, true);
  if (!$('status').textContent) {
    setStatus('Checking…');
  }
  try {
    const result = await confirmSignIn({
      challengeResponse: value,
      options: { clientMetadata: { signInId: current.signInId, ...extra } },
    });
    await next(result);
  } catch (error) {
    fail(error);
  } finally {
    busy(form, false);
  }
}

/**
 * A choice that offers this device, and the device's own round: the page answers them itself.
 * At the choice it picks the device when it holds a key for this account, and otherwise offers
 * the other ways (or takes the one that is left). In the `DEVICE` round it signs the challenge;
 * when the service refuses the device (forgotten, expired) it drops the key and starts over.
 * True when the page answered.
 */
async function answeredByDevice(view) {
  if (view.kind === 'CHOOSE' && view.options?.includes('device')) {
    const held = await heldKey(config.userPoolId, current.username);
    const decision = deviceChoice(view.options, Boolean(held));
    if (decision.pick) {
      current.chose = decision.pick !== 'device';
      respond(decision.pick, { choice: decision.pick });
      return true;
    }
    view.options = decision.options;
    return false;
  }
  if (view.kind !== 'DEVICE') {
    return false;
  }
  const held = await heldKey(config.userPoolId, current.username);
  if (view.retry || !held) {
    await dropKey(config.userPoolId, current.username);
    setStatus('');
    showStart();
    setError(view.wrong);
    return true;
  }
  setStatus('Signing in with this device…');
  respond(await deviceAnswer(held, view.nonce), {});
  return true;
}

async function showSignedIn() {
  const { tokens } = await fetchAuthSession();
  const payload = tokens?.idToken?.payload;
  if (!payload) {
    throw { name: 'NoTokens', message: 'no ID token' };
  }
  const list = $('claims');
  list.replaceChildren();
  for (const [name, value] of claimRows(payload)) {
    const row = document.createElement('div');
    row.append(
      Object.assign(document.createElement('dt'), { textContent: name }),
      Object.assign(document.createElement('dd'), { textContent: value }),
    );
    list.append(row);
  }
  setError('');
  setStatus('');
  show('signed-in');
  $('signed-in-title').focus();
  await showDevices(payload);
  $('passkeys').hidden = !config.passkeyApi || !/passkey/.test(config.flow ?? '');
  if (!$('passkeys').hidden) {
    passkeyStatus(''); // (what the last session's page said is not news to this one)
    await listPasskeys();
    const pending = pendingPasskey;
    pendingPasskey = null;
    if (pending?.kind === 'add') {
      $('passkey-name').value = pending.name;
      await addPasskey(undefined, true);
    } else if (pending?.kind === 'delete') {
      await deletePasskey(pending.id, pending.name, true);
    }
  }
}

/** A call to the passkey API with this session's access token; the JSON answer, or throws. */
async function passkeyApi(method, path, body) {
  const { tokens } = await fetchAuthSession();
  const response = await fetch(`${config.passkeyApi.replace(/\/$/, '')}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${tokens?.accessToken?.toString() ?? ''}`,
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    throw { name: 'PasskeyApiError', message: data.error ?? `status ${response.status}`, code: data.code };
  }
  return data;
}

/**
 * The API's answer to a passkey change that failed: a sign-in too old to change passkeys signs
 * the person in again and then does the change once more (`retry` marks that second try, which
 * never asks again); a session the pool no longer honours ends here too. True when handled.
 */
async function passkeyNeedsSignIn(error, pending, retry) {
  const action = passkeyApiAction(error);
  if (action === 'say' || (action === 'reauthenticate' && retry)) {
    return false;
  }
  const { tokens } = await fetchAuthSession().catch(() => ({}));
  const name = tokens?.idToken?.payload?.['cognito:username'] ?? '';
  try {
    await signOut();
  } catch {
    // Dropped from this browser either way.
  }
  showStart();
  $('username').value = typeof name === 'string' ? name : '';
  if (action === 'reauthenticate') {
    pendingPasskey = pending;
    setStatus(pending.kind === 'add'
      ? 'To add a passkey, sign in again (your last sign-in was too long ago).'
      : 'To delete a passkey, sign in again (your last sign-in was too long ago).');
  } else {
    setError('Your session has ended. Sign in again.');
  }
  (startsWithPassword(config.flow) ? $('password') : $('username')).focus();
  return true;
}

function passkeyStatus(text) {
  $('passkeys-status').textContent = text;
}

async function listPasskeys() {
  const list = $('passkey-list');
  try {
    const { passkeys } = await passkeyApi('GET', '/passkeys');
    list.replaceChildren();
    for (const passkey of passkeys) {
      const { name, detail } = passkeyRow(passkey);
      const item = document.createElement('li');
      const remove = Object.assign(document.createElement('button'), {
        type: 'button', className: 'secondary', textContent: 'Delete',
      });
      remove.setAttribute('aria-label', `Delete passkey ${name}`);
      remove.addEventListener('click', () => deletePasskey(passkey.id, name));
      item.append(
        Object.assign(document.createElement('strong'), { textContent: name }),
        Object.assign(document.createElement('span'), { textContent: ` (${detail}) ` }),
        remove,
      );
      list.append(item);
    }
    if (!passkeys.length) {
      passkeyStatus('You have no passkeys yet.');
    }
  } catch (error) {
    passkeyStatus(`Your passkeys could not be listed: ${error.message}.`);
  }
}

/** Registers a passkey: options from the API, the browser's ceremony, its answer to the API. */
async function addPasskey(event, retry = false) {
  event?.preventDefault();
  const form = $('passkey-add');
  const name = $('passkey-name').value.trim();
  busy(form, true);
  passkeyStatus('Follow your browser to make a passkey…');
  try {
    const options = await passkeyApi('POST', '/passkeys/registration');
    let credential;
    try {
      if (!window.PublicKeyCredential?.parseCreationOptionsFromJSON) {
        throw { name: 'NotSupportedError' };
      }
      credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
    } catch (error) {
      passkeyStatus(explainPasskeyError(error, true));
      return;
    }
    const added = await passkeyApi('POST', '/passkeys', {
      credential: credential.toJSON(),
      name: name || undefined,
    });
    $('passkey-name').value = '';
    await listPasskeys();
    passkeyStatus(`Passkey "${added.name}" added. You can use it next time you sign in.`);
  } catch (error) {
    if (!(await passkeyNeedsSignIn(error, { kind: 'add', name }, retry))) {
      passkeyStatus(`The passkey was not added: ${error.message}.`);
    }
  } finally {
    busy(form, false);
  }
}

async function deletePasskey(id, name, retry = false) {
  try {
    await passkeyApi('DELETE', `/passkeys/${encodeURIComponent(id)}`);
    await listPasskeys();
    passkeyStatus(`Passkey "${name}" deleted. Remove it from your device too.`);
  } catch (error) {
    if (!(await passkeyNeedsSignIn(error, { kind: 'delete', id, name }, retry))) {
      passkeyStatus(`The passkey was not deleted: ${error.message}.`);
    }
  }
}

/** Whether this page's flow offers remembered devices (and it can reach the account API). */
function offersDevices() {
  return Boolean(config.passkeyApi) && String(config.flow ?? '').split(/[,|]/).map((s) => s.trim()).includes('device');
}

function deviceStatus(text) {
  $('devices-status').textContent = text;
}

/** The signed-in view's remembered devices: the list, and remembering this one when it may. */
async function showDevices(payload) {
  $('devices').hidden = !offersDevices();
  if (!offersDevices()) {
    return;
  }
  current.username = payload['cognito:username'] ?? current.username;
  deviceStatus('');
  const held = await heldKey(config.userPoolId, current.username);
  // A sign-in by a remembered device may not remember another (the service refuses it too).
  current.usedDevice = usedADevice(payload.signin_amr);
  $('device-remember').hidden = Boolean(held) || current.usedDevice;
  await listDevices(held);
}

async function listDevices(held) {
  const list = $('device-list');
  try {
    const { devices } = await passkeyApi('GET', '/devices');
    list.replaceChildren();
    for (const device of devices) {
      const { name, detail } = deviceRow(device);
      const here = held?.id === device.id;
      const item = document.createElement('li');
      const rename = Object.assign(document.createElement('input'), { value: name, maxLength: 64 });
      rename.setAttribute('aria-label', `Name of device ${name}`);
      const save = Object.assign(document.createElement('button'), { type: 'button', className: 'secondary', textContent: 'Rename' });
      save.setAttribute('aria-label', `Rename device ${name}`);
      save.addEventListener('click', () => deviceChange(() => passkeyApi('PATCH', `/devices/${encodeURIComponent(device.id)}`, { name: rename.value }), `Renamed to "${rename.value.trim()}".`));
      const forget = Object.assign(document.createElement('button'), { type: 'button', className: 'secondary', textContent: 'Forget' });
      forget.setAttribute('aria-label', `Forget device ${name}`);
      forget.addEventListener('click', () => deviceChange(async () => {
        await passkeyApi('DELETE', `/devices/${encodeURIComponent(device.id)}`);
        if (here) {
          await dropKey(config.userPoolId, current.username);
        }
      }, `"${name}" is forgotten: it will be asked for a code again.`));
      item.append(
        Object.assign(document.createElement('strong'), { textContent: here ? `${name} (this device)` : name }),
        Object.assign(document.createElement('span'), { textContent: ` (${detail}) ` }),
        rename, save, forget,
      );
      list.append(item);
    }
    $('device-forget-all').hidden = !devices.length;
    if (!devices.length) {
      deviceStatus('No device is remembered.');
    }
  } catch (error) {
    deviceStatus(`Your devices could not be listed: ${error.message}.`);
  }
}

/** Runs a change to the devices, then lists them again with `done` said (or why it failed). */
async function deviceChange(change, done) {
  try {
    await change();
    const held = await heldKey(config.userPoolId, current.username);
    $('device-remember').hidden = Boolean(held) || current.usedDevice;
    await listDevices(held);
    deviceStatus(done);
  } catch (error) {
    deviceStatus(`That did not work: ${error.message}.`);
  }
}

/** Remembers this device: a new key pair, its public half to the API, the private one kept here. */
async function rememberDevice(event) {
  event?.preventDefault();
  const form = $('device-remember');
  const name = $('device-name').value.trim() || 'This browser';
  busy(form, true);
  try {
    const key = await newDeviceKey();
    const added = await passkeyApi('POST', '/devices', { publicKey: key.publicKey, name });
    await keepKey(config.userPoolId, current.username, { id: added.id, privateKey: key.privateKey });
    $('device-name').value = '';
    form.hidden = true;
    await listDevices(await heldKey(config.userPoolId, current.username));
    deviceStatus(`This device is remembered as "${added.name}": next time, no code is needed here.`);
  } catch (error) {
    deviceStatus(`This device was not remembered: ${error.message}.`);
  } finally {
    busy(form, false);
  }
}

async function forgetAllDevices() {
  await deviceChange(async () => {
    await passkeyApi('DELETE', '/devices');
    await dropKey(config.userPoolId, current.username);
  }, 'Every device is forgotten: each will be asked for a code again.');
}

function fail(error) {
  // For whoever runs the page: the error's kind (never an answer: Cognito echoes none).
  console.error(`sign-in: ${error?.name ?? "error"}: ${error?.message ?? ""}`);
  setStatus('');
  showStart();
  setError(explainError(error));
}

async function leave() {
  try {
    await signOut();
  } catch {
    // The tokens are dropped from this browser whether or not the pool heard of it.
  }
  setError('');
  setStatus('You are signed out.');
  // Nothing of the last person stays on the page (a shared device).
  $('username').value = '';
  showStart(true);
}

async function main() {
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    config = await response.json();
    if (!config.userPoolId || !config.clientId) {
      throw new Error('config.json needs userPoolId and clientId');
    }
    const problem = configProblem(config);
    if (problem) {
      throw new Error(problem.replace(/^config\.json: /, ''));
    }
  } catch (error) {
    $('broken-text').textContent = `Could not read config.json: ${error.message}`;
    show('broken');
    return;
  }
  const auth = {
    Cognito: {
      userPoolId: config.userPoolId,
      userPoolClientId: config.clientId,
      // A local AWS: Cognito's API at another address. Absent on AWS.
      ...(config.endpoint ? { userPoolEndpoint: config.endpoint } : {}),
    },
  };
  // What the `aws-amplify` package's configure does, with the two packages this page needs. The
  // tokens live in sessionStorage: gone when the tab closes, and never shared with other tabs.
  cognitoUserPoolsTokenProvider.setAuthConfig(auth);
  cognitoUserPoolsTokenProvider.setKeyValueStorage(sessionStorage);
  Amplify.configure({ Auth: auth }, { Auth: { tokenProvider: cognitoUserPoolsTokenProvider } });
  if (config.title) {
    $('title').textContent = config.title;
  }
  $('start').addEventListener('submit', begin);
  $('challenge').addEventListener('submit', answer);
  $('restart').addEventListener('click', () => { setError(''); setStatus(''); showStart(true); });
  $('passkey-sign-in').addEventListener('click', () => {
    stopAutofill();
    setError('');
    passkeyWithoutName('optional');
  });
  $('sign-out').addEventListener('click', leave);
  $('passkey-add').addEventListener('submit', addPasskey);
  $('device-remember').addEventListener('submit', rememberDevice);
  $('device-forget-all').addEventListener('click', forgetAllDevices);
  $('link-continue').addEventListener('click', redeemLink);
  $('link-cancel').addEventListener('click', () => { link = null; resume(''); });
  // A link opened in a tab that shows this page already changes only the fragment: no reload.
  window.addEventListener('hashchange', () => { linkInAddress(); });
  if (!(await linkInAddress())) {
    await resume('');
  }
}

/**
 * A sign-in link in the page's address: asks whether to sign in as the account it names (true),
 * or there is none (false). Nothing else happens until the person says the link is theirs: not
 * a sign-out, not a sign-in.
 */
async function linkInAddress() {
  const found = linkFromHash(location.hash);
  if (!found) {
    return false;
  }
  // Keep the proof out of the address bar and the history.
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  if (found.invalid) {
    await resume(INVALID_LINK);
    return true;
  }
  link = found;
  const prompt = linkPrompt(link);
  $('link-title').textContent = prompt.title;
  $('link-text').textContent = prompt.text;
  $('link-continue').textContent = prompt.action;
  $('link-cancel').textContent = prompt.cancel;
  setError('');
  setStatus('');
  show('link-confirm');
  $('link-continue').focus();
  return true;
}

/** The page as it was: the session this browser holds, or the start; with `error` shown. */
async function resume(error) {
  try {
    const { tokens } = await fetchAuthSession();
    if (tokens?.idToken) {
      await showSignedIn();
      setError(error);
      return;
    }
  } catch {
    // No session in this browser: sign in.
  }
  showStart(!error);
  setError(error);
}

/** The person confirmed the link: sign out whoever is signed in, and sign in as it says. */
async function redeemLink() {
  await signOut().catch(() => {});
  showStart();
  $('username').value = link.user;
  if (startsWithPassword(config.flow)) {
    setStatus('Enter your password to finish signing in with your link.');
    $('password').focus();
  } else {
    $('start').requestSubmit();
  }
}

main();
