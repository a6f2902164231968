// A virtual authenticator in a browser context (DevTools Protocol `WebAuthn`): CTAP2, internal
// transport (a platform authenticator), resident keys, user verification, presence given at
// once. Shared by passkeys.mjs (the browser test) and authenticator.mjs (fixture capture).

/**
 * Adds one to `page`'s context; resolves to { cdp, authenticatorId }. `userVerified: false`
 * makes one that can only be touched (no PIN or biometrics). `presence: false` makes one that
 * waits for a touch (`present(auth, true)`): with it, a pending autofill request (conditional
 * mediation) stays pending, which Chromium's virtual authenticator otherwise answers at once.
 */
export async function virtualAuthenticator(context, page, { userVerified = true, presence = true } = {}) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: userVerified,
      isUserVerified: userVerified,
      automaticPresenceSimulation: presence,
    },
  });
  return { cdp, authenticatorId };
}

/** Turns the automatic touch of `auth` on or off. */
export async function present({ cdp, authenticatorId }, enabled) {
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
}
