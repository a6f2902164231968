// What the page says: each challenge and each error in plain words. Pure functions over the
// challenge's public parameters and the error Amplify throws, so they are unit-tested without a
// browser (words.test.js) and the page's DOM code only places the text.

/** How each step name of a flow is offered in a choice. */
const OPTION_LABELS = {
  'email-otp': 'E-mail me a code',
  'sms-otp': 'Text me a code',
  'signed-token': 'Use a sign-in token',
  captcha: 'Solve a CAPTCHA',
  'select-account': 'Pick an account',
  'magic-link': 'E-mail me a sign-in link',
  passkey: 'Use a passkey',
  device: 'This device (remembered)',
};

/** The label of one alternative of a choice; an unknown step shows its own name. */
export function optionLabel(name) {
  return OPTION_LABELS[name] ?? name;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The view of one custom challenge, from its public parameters (Create's `publicChallengeParameters`):
 * a title, a line of text, the tries line, and what to ask for. A later attempt of the same step
 * means the previous answer was wrong, which the page says first.
 */
export function describeChallenge(params) {
  const kind = params.challenge ?? '';
  const attempt = Number.parseInt(params.attempt ?? '1', 10) || 1;
  const left = Number.parseInt(params.attemptsLeft ?? '', 10);
  const view = {
    kind,
    title: 'One more step',
    text: '',
    retry: attempt > 1,
    tries: Number.isFinite(left) ? `${plural(left, 'try', 'tries')} left.` : '',
    input: { label: 'Answer', long: false, numeric: false, autocomplete: 'off' },
    options: null,
    accounts: null,
    siteKey: null,
    wrong: '',
    // A round answered by a button, not a field: the magic link's request, the passkey.
    action: null,
    // A passkey round's PublicKeyCredentialRequestOptions (JSON), for navigator.credentials.get.
    passkeyOptions: null,
  };
  switch (kind) {
    case 'EMAIL_OTP':
      view.title = 'Check your e-mail';
      view.text = `We sent a code to ${params.email ?? 'your e-mail address'}.`;
      view.input = { label: 'Code', long: false, numeric: true, autocomplete: 'one-time-code' };
      view.wrong = 'That code was not right.';
      break;
    case 'SMS_OTP':
      view.title = 'Check your phone';
      view.text = `We sent a code by text message to ${params.phone ?? 'your phone'}.`;
      view.input = { label: 'Code', long: false, numeric: true, autocomplete: 'one-time-code' };
      view.wrong = 'That code was not right.';
      break;
    case 'CAPTCHA':
      view.title = 'Show you are a person';
      view.text = 'Solve the check below, then continue.';
      view.siteKey = params.siteKey ?? '';
      view.input = { label: 'CAPTCHA response', long: true, numeric: false, autocomplete: 'off' };
      view.wrong = 'The check did not pass.';
      break;
    case 'SELECT_ACCOUNT':
      view.title = 'Choose an account';
      view.text = 'Which account do you want to use?';
      view.accounts = parseJson(params.accounts, {});
      view.wrong = 'That account is not available.';
      break;
    case 'SIGNED_TOKEN':
      view.title = 'Paste your sign-in token';
      view.text = 'Paste the token your app gave you.';
      view.input = { label: 'Sign-in token', long: true, numeric: false, autocomplete: 'off' };
      view.wrong = 'That token was not accepted.';
      break;
    case 'MAGIC_LINK': {
      const to = params.email ?? 'your e-mail address';
      view.action = 'Send another link';
      view.retry = false;
      view.tries = '';
      if (params.sent === 'true') {
        view.title = 'Check your e-mail';
        view.text = `We sent a sign-in link to ${to}. Open it on this or any other device; it works once.`;
      } else if (params.sent === 'too-soon') {
        view.title = 'Check your e-mail';
        view.text = `A link went to ${to} less than a minute ago: use that one, or ask again in a minute.`;
      } else if (params.sent === 'bad-url') {
        view.title = 'Sign in with a link';
        view.text = 'This page cannot receive sign-in links (its address is not among the allowed ones).';
      } else {
        view.title = 'Sign in with a link';
        view.text = `We can e-mail a sign-in link to ${to}.`;
        view.action = 'E-mail me a link';
      }
      view.wrong = 'That link did not work: it has expired, was used already, or a newer one was sent. Ask for a new one.';
      break;
    }
    case 'PASSKEY':
      view.title = 'Use your passkey';
      view.text = 'Your browser will ask for your passkey: your fingerprint, face, screen lock or security key.';
      view.action = 'Use my passkey';
      view.passkeyOptions = parseJson(params.options, null);
      view.wrong = 'That passkey was not accepted.';
      break;
    case 'DEVICE':
      // Answered by the page itself with this device's key; shown only while it signs.
      view.title = 'Signing in with this device';
      view.text = 'This device is remembered for your account.';
      view.nonce = typeof params.nonce === 'string' ? params.nonce : '';
      view.wrong = 'This device is no longer remembered. Sign in again.';
      break;
    case 'CHOOSE':
      view.title = 'How do you want to sign in?';
      view.options = parseJson(params.options, []).filter((o) => typeof o === 'string');
      view.wrong = 'That way of signing in is not available.';
      break;
    default:
      view.text = `The sign-in asks for ${kind || 'an answer'}.`;
      view.wrong = 'That answer was not right.';
  }
  return view;
}

function parseJson(text, fallback) {
  try {
    const value = JSON.parse(text ?? '');
    return value && typeof value === 'object' ? value : fallback;
  } catch {
    return fallback;
  }
}

/**
 * A Cognito or network error in plain words. The trigger's own messages (the state store's limits)
 * arrive wrapped in `UserLambdaValidationException`; everything Cognito ends a sign-in with is a
 * `NotAuthorizedException` whose message says little, so the page says what to do next.
 */
export function explainError(error) {
  const name = error?.name ?? '';
  const message = String(error?.message ?? '');
  if (/too many codes requested/i.test(message)) {
    return 'Too many codes were sent to this account. Wait a few minutes, then try again.';
  }
  if (/too many failed attempts/i.test(message)) {
    return 'Too many wrong answers for this account. Wait a few minutes, then try again.';
  }
  switch (name) {
    case 'NotAuthorizedException':
      if (/expired|invalid session/i.test(message)) {
        return 'This sign-in took too long and has expired. Start again.';
      }
      if (/disabled/i.test(message)) {
        return 'This account is disabled. Ask your administrator.';
      }
      if (/max(imum)? .*attempts/i.test(message)) {
        return 'Too many tries in this sign-in. Start again.';
      }
      return 'Sign-in failed: the user name, password or answer was not right, or no tries were left. Start again.';
    case 'UserNotFoundException':
      return 'Sign-in failed: the user name, password or answer was not right, or no tries were left. Start again.';
    case 'PasswordResetRequiredException':
      return 'You need to reset your password before you can sign in.';
    case 'UserNotConfirmedException':
      return 'This account is not confirmed yet.';
    case 'TooManyRequestsException':
    case 'LimitExceededException':
    case 'TooManyFailedAttemptsException':
      return 'Too many requests right now. Wait a moment and try again.';
    case 'UserLambdaValidationException':
    case 'UnexpectedLambdaException':
    case 'InvalidLambdaResponseException':
      return 'The sign-in service could not go on. Try again in a moment.';
    case 'EmptySignInUsername':
      return 'Enter your user name.';
    case 'EmptySignInPassword':
      return 'Enter your password.';
    case 'EmptyChallengeResponse':
      return 'Enter an answer first.';
    case 'NetworkError':
      return 'Cannot reach the sign-in service. Check your connection and try again.';
    default:
      if (error instanceof TypeError && /fetch|network/i.test(message)) {
        return 'Cannot reach the sign-in service. Check your connection and try again.';
      }
      return 'Sign-in failed. Start again.';
  }
}

/** The ID token's claims to show, as [name, value] pairs; times as dates. */
export function claimRows(payload) {
  const times = new Set(['iat', 'exp', 'auth_time']);
  return Object.entries(payload ?? {}).map(([name, value]) => {
    if (times.has(name) && typeof value === 'number') {
      return [name, `${new Date(value * 1000).toISOString()} (${value})`];
    }
    return [name, typeof value === 'string' ? value : JSON.stringify(value)];
  });
}

/** A fresh sign-in id: 128 random bits in hex, as the CLI makes. It names the sign-in, no secret. */
export function newSignInId(crypto = globalThis.crypto) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The magic link in a URL fragment (`#magic-link=<proof>`): null when the address holds none;
 * `{ invalid: true }` when it holds one that does not parse; otherwise the proof as sent and the
 * user name its payload names. The name is the link's own word, not yet checked (the pool judges
 * the proof when it is redeemed), so the page shows it masked and asks before it acts on it.
 */
export function linkFromHash(hash) {
  if (!/^#magic-link=/.test(hash ?? '')) {
    return null;
  }
  const invalid = { invalid: true };
  const match = /^#magic-link=([A-Za-z0-9_.-]{1,2048})$/.exec(hash);
  if (!match) {
    return invalid;
  }
  const parts = match[1].split('.');
  if (parts.length !== 3 || !['ml1', 'mk1'].includes(parts[0])) {
    return invalid;
  }
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))));
    return typeof claims.u === 'string' && claims.u ? { proof: match[1], user: claims.u } : invalid;
  } catch {
    return invalid;
  }
}

/**
 * A user name as the link confirmation shows it: an e-mail address masked to its first character
 * and domain (`j***@example.com`), any other name as it is.
 */
export function maskName(name) {
  const at = String(name ?? '').lastIndexOf('@');
  if (at < 1 || at === name.length - 1) {
    return String(name ?? '');
  }
  return `${name[0]}***${name.slice(at)}`;
}

/**
 * What the page says before it redeems a link: whom it would sign in, that the link says so (not
 * yet checked), and that nothing happens without the click. A link someone else sent (their own
 * account, to sign this browser in as them) is then seen before it takes effect.
 */
export function linkPrompt(link) {
  return {
    title: `Sign in as ${maskName(link.user)}?`,
    text: 'This sign-in link is for the account above (as the link says; it is checked when you continue). If that is not you, do not continue.',
    action: 'Continue signing in',
    cancel: 'Not me',
  };
}

/** What the page says about a sign-in link that does not parse. Nothing else changes. */
export const INVALID_LINK = 'This sign-in link is not valid. Nothing was changed. Ask for a new link, or sign in another way.';

/**
 * After a pick in a choice, what to do if the chosen way does not arrive: every name is offered
 * every way (so the list says nothing about who exists), and a way a user cannot complete sends
 * nothing.
 */
export function afterChoiceHint(kind) {
  switch (kind) {
    case 'EMAIL_OTP':
    case 'SMS_OTP':
      return 'No code? Start again and choose another way.';
    case 'MAGIC_LINK':
      return 'No e-mail? Start again and choose another way.';
    case 'PASSKEY':
      return 'No passkey for this account on this device? Start again and choose another way.';
    default:
      return '';
  }
}

/**
 * Checks config.json's addresses: Cognito's endpoint and the passkey API receive tokens and
 * answers, so each must be https (plain http only on loopback, for local runs). The text of what
 * is wrong, or '' when all is well.
 */
export function configProblem(config) {
  for (const key of ['endpoint', 'passkeyApi']) {
    const value = config?.[key];
    if (value === undefined || value === null || value === '') {
      continue;
    }
    let url;
    try {
      url = new URL(String(value));
    } catch {
      return `config.json: ${key} is not a URL.`;
    }
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || /^127\./.test(url.hostname);
    const ok = (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) && !url.username && !url.password;
    if (!ok) {
      return `config.json: ${key} must be an https:// address (plain http only on this computer).`;
    }
  }
  return '';
}

/**
 * What a passkey API error asks of the page: sign in again (the sign-in is too old to change
 * passkeys), start over (the pool no longer honours the session), or just say it.
 */
export function passkeyApiAction(error) {
  switch (error?.code) {
    case 'sign-in-again':
      return 'reauthenticate';
    case 'signed-out':
      return 'signed-out';
    default:
      return 'say';
  }
}

/** Whether a flow (as the config names it) starts with Cognito's SRP password step. */
export function startsWithPassword(flow) {
  return String(flow ?? '').split(',')[0].trim() === 'password';
}

/**
 * Whether the flow's first stage offers a passkey (`passkey`, or a choice such as
 * `passkey|email-otp`): then a passkey can start the sign-in without a name typed.
 */
export function startsWithPasskey(flow) {
  const first = String(flow ?? '').split(',')[0];
  return first.split('|').some((step) => step.trim() === 'passkey');
}

/** A passkey the service could not tie to an account (deleted, not this site's, or forged). */
export const PASSKEY_WITHOUT_NAME_REFUSED =
  'That passkey could not sign you in. Type your user name to continue.';

/**
 * A browser's refusal of a passkey ceremony (a DOMException) in plain words. `NotAllowedError` is
 * all a browser says when the person cancels, the time runs out, or no passkey of this account is
 * on the device: it never tells which, so that a page cannot probe for passkeys.
 */
export function explainPasskeyError(error, creating = false) {
  switch (error?.name) {
    case 'NotAllowedError':
      return creating
        ? 'No passkey was made: it was cancelled or took too long.'
        : 'No passkey was used: it was cancelled, took too long, or this device has none for this account. Try again, or start again and choose another way.';
    case 'InvalidStateError':
      return 'This device already holds a passkey for your account.';
    case 'SecurityError':
      return 'This page cannot use passkeys (its address does not match the passkey settings).';
    case 'NotSupportedError':
    case 'TypeError':
      return 'This browser cannot use passkeys here.';
    default:
      return 'The passkey could not be used. Try again.';
  }
}

/** A passkey's row in the list: its name, and when it was added and last used. */
export function passkeyRow(passkey, locale = undefined) {
  const day = (seconds) => new Date(seconds * 1000).toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric' });
  const added = `added ${day(passkey.createdAt)}`;
  const used = passkey.lastUsedAt ? `last used ${day(passkey.lastUsedAt)}` : 'never used';
  return { name: passkey.name, detail: `${added}, ${used}` };
}

/** What a remembered device signs: the round's challenge behind a fixed prefix (the service's
 * `device::message`), as UTF-8. */
export function deviceMessage(nonce) {
  return new TextEncoder().encode(`cognito custom-auth device v1:${nonce}`);
}

/**
 * What the page does at a choice that offers `device`: pick it when this browser holds a key for
 * the account; otherwise offer the rest, or pick the one that remains. `{ pick }` or `{ options }`.
 */
export function deviceChoice(options, holdsKey) {
  if (holdsKey && options.includes('device')) {
    return { pick: 'device' };
  }
  const rest = options.filter((o) => o !== 'device');
  return rest.length === 1 && rest.length < options.length ? { pick: rest[0] } : { options: rest };
}

/** One remembered device as the page lists it: its name, and until when it is remembered. */
export function deviceRow(device, locale = undefined) {
  const day = (seconds) => new Date(seconds * 1000).toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric' });
  return { name: device.name, detail: `remembered until ${day(device.expiresAt)}` };
}

/** Whether the tokens' methods say the sign-in used a remembered device (then the page offers
 * no remembering: the API would refuse it). */
export function usedADevice(methods) {
  try {
    const list = typeof methods === 'string' ? JSON.parse(methods) : methods;
    return Array.isArray(list) && list.includes('swk');
  } catch {
    return false;
  }
}
