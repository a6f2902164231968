// Remembered devices in the browser (issue 29), on `device|email-otp`: the first sign-in takes
// the code (the page holds no key, so it does not offer the device); the person remembers this
// device; the next sign-in here sends no e-mail and the ID token says `swk`; another browser
// profile (another device) is asked for the code; forgetting every device there takes effect at
// once here (the page's key is refused, dropped, and the next sign-in asks for the code);
// forgetting on the page, and renaming, work too.
//
// Not `password,device|email-otp`, the flow README shows: the local AWS ends a sign-in after
// three answered rounds and counts SRP as two, so the password, the pick and the device's round
// are one too many there (AWS has no such cap). That flow runs whole in the in-process model
// (crates/custom-auth/src/cognito_model/devices.rs).

import assert from 'node:assert/strict';

export async function devices(t) {
  const { browser, base, log, user, open, claims, shot, startSignIn, mails, emailCode, DESKTOP } = t;
  const stack = 'e2e-device';
  const withCode = async (page) => {
    const before = (await mails(user.email)).length;
    await startSignIn(page);
    await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
    await page.getByLabel('Code').fill(await emailCode(before));
    await page.getByRole('button', { name: 'Continue' }).click();
    return claims(page);
  };
  const signOut = async (page) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').filter({ hasText: 'You are signed out.' }).waitFor();
  };

  // The first sign-in on this device: the code.
  const { context, page } = await open(browser, base, stack, DESKTOP);
  const firstSend = Date.now();
  let seen = await withCode(page);
  assert.equal(seen.signin_amr, '["otp"]');
  await page.getByLabel('Name of this device').fill('Test laptop');
  await page.getByRole('button', { name: 'Remember this device for 30 days' }).click();
  await page.getByRole('status').filter({ hasText: 'This device is remembered as "Test laptop"' }).waitFor();
  await page.locator('#device-list li').filter({ hasText: 'Test laptop (this device)' }).waitFor();
  assert.equal(await page.locator('#device-remember').isVisible(), false, 'remembered once');
  await shot(page, 'device-remembered');

  // Again on this device: no e-mail.
  await signOut(page);
  let before = (await mails(user.email)).length;
  await startSignIn(page);
  seen = await claims(page);
  assert.equal(seen.signin_amr, '["swk"]', 'the token says a remembered device passed');
  assert.equal((await mails(user.email)).length, before, 'no code was sent');
  assert.equal(await page.locator('#device-remember').isVisible(), false, 'a device sign-in remembers no other');
  // Renamed on the page.
  await page.getByLabel('Name of device Test laptop').fill('Home laptop');
  await page.getByRole('button', { name: 'Rename device Test laptop' }).click();
  await page.locator('#device-list li').filter({ hasText: 'Home laptop (this device)' }).waitFor();
  await shot(page, 'device-signed-in');
  log('device: remembered after a code; then no e-mail, signin_amr swk; renamed');

  // Another browser profile is another device: the code. From there, forget every device.
  const other = await open(browser, base, stack, DESKTOP);
  seen = await withCode(other.page);
  assert.equal(seen.signin_amr, '["otp"]');
  await other.page.locator('#device-list li').filter({ hasText: 'Home laptop' }).waitFor();
  assert.equal(await other.page.locator('#device-list li').filter({ hasText: 'this device' }).count(), 0);
  await other.page.getByRole('button', { name: 'Forget all devices' }).click();
  await other.page.getByRole('status').filter({ hasText: 'Every device is forgotten' }).waitFor();
  await other.context.close();

  // Here the key is now refused at once: the page drops it and says so; then the code.
  await signOut(page);
  before = (await mails(user.email)).length;
  await startSignIn(page);
  await page.getByRole('alert').filter({ hasText: 'This device is no longer remembered' }).waitFor();
  assert.equal((await mails(user.email)).length, before, 'no code for the refused device round');
  seen = await withCode(page);
  assert.equal(seen.signin_amr, '["otp"]');
  log('device: another profile is asked for the code; forgetting all there is refused here at once, then the code');

  // Remember again, forget it on the page itself: the code next time.
  await page.getByLabel('Name of this device').fill('Work laptop');
  await page.getByRole('button', { name: 'Remember this device for 30 days' }).click();
  await page.locator('#device-list li').filter({ hasText: 'Work laptop (this device)' }).waitFor();
  await page.getByRole('button', { name: 'Forget device Work laptop' }).click();
  await page.getByRole('status').filter({ hasText: 'is forgotten' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Forget all devices' }).isVisible(), false, 'nothing left to forget');
  assert.equal(await page.getByRole('button', { name: 'Remember this device for 30 days' }).isVisible(), true);
  await shot(page, 'device-forgotten');
  await signOut(page);
  // Three codes went out in this scenario: the stack's send limit (3 per 30 s) must roll over
  // before the fourth.
  const wait = Math.max(0, firstSend + 31_000 - Date.now());
  log(`device: waiting ${Math.ceil(wait / 1000)} s for the send window`);
  await new Promise((resolve) => setTimeout(resolve, wait));
  seen = await withCode(page);
  assert.equal(seen.signin_amr, '["otp"]');
  await context.close();
  log('device: forgotten on the page, the code again');
}
