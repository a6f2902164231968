// One WebAuthn ceremony in headless Chromium with a virtual authenticator (DevTools Protocol
// `WebAuthn.addVirtualAuthenticator`: CTAP2, internal transport, user verification), for
// capturing real authenticator outputs: the unit tests' fixtures under events/passkey/ were
// made with it (`cargo run -p custom-auth --example passkey_fixtures` drives it).
//
//   node tests/browser/authenticator.mjs '<json>'
//
// The JSON: { chromium, port, ceremony: "create" | "get", options: <PublicKeyCredential*OptionsJSON>,
//             credentials: [<credentials from an earlier run>], userVerified: true }
// It serves a blank page on 127.0.0.1, opens it as http://localhost:<port> (a WebAuthn RP id
// must be a domain, and localhost is a secure context), runs the ceremony, and prints one JSON
// line: { origin, response: <credential.toJSON()>, credentials: [<the authenticator's
// credentials, private keys included: test keys only>] }.

import { createServer } from 'node:http';
import { createRequire } from 'node:module';

import { virtualAuthenticator } from './webauthn.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const input = JSON.parse(process.argv[2] ?? '{}');

const server = createServer((_, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><title>authenticator</title>');
});
await new Promise((resolve) => server.listen(input.port ?? 0, '127.0.0.1', resolve));
const origin = `http://localhost:${server.address().port}`;
const browser = await chromium.launch({ executablePath: input.chromium ?? '/usr/bin/chromium' });
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  const { cdp, authenticatorId } = await virtualAuthenticator(context, page, {
    userVerified: input.userVerified ?? true,
  });
  for (const credential of input.credentials ?? []) {
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
  }
  const response = await page.evaluate(
    async ({ ceremony, options }) => {
      const credential =
        ceremony === 'create'
          ? await navigator.credentials.create({
              publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
            })
          : await navigator.credentials.get({
              publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
            });
      return credential.toJSON();
    },
    { ceremony: input.ceremony, options: input.options },
  );
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  process.stdout.write(`${JSON.stringify({ origin, response, credentials })}\n`);
} finally {
  await browser.close();
  server.close();
}
