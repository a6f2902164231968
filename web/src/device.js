// Remembered devices on the page: "don't ask me for a code on this device again".
//
// The device's key is a WebCrypto ECDSA P-256 key pair made non-extractable: script on the page
// can sign with it but cannot read the private key out, so a script injected later can use it
// only while it runs here, never carry it off. It is kept in IndexedDB under the pool and the
// user name (lower-cased, as the pool compares names), with the id the service gave it.

import { deviceMessage } from './words.js';

const DB = 'custom-auth-devices';
const STORE = 'keys';

function slot(pool, user) {
  return `${pool}|${String(user ?? '').trim().toLowerCase()}`;
}

function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, act) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** This browser's key for the account: `{ id, privateKey }`, or null. */
export async function heldKey(pool, user) {
  try {
    return (await withStore('readonly', (store) => store.get(slot(pool, user)))) ?? null;
  } catch {
    return null; // no IndexedDB (a private window may refuse it): no remembered device
  }
}

export async function keepKey(pool, user, record) {
  await withStore('readwrite', (store) => store.put(record, slot(pool, user)));
}

export async function dropKey(pool, user) {
  try {
    await withStore('readwrite', (store) => store.delete(slot(pool, user)));
  } catch {
    // Nothing kept, nothing to drop.
  }
}

function b64url(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) {
    text += String.fromCharCode(b);
  }
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A new device key pair (the private half non-extractable) and its public half (SPKI, base64url). */
export async function newDeviceKey() {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const spki = await crypto.subtle.exportKey('spki', pair.publicKey);
  return { privateKey: pair.privateKey, publicKey: b64url(spki) };
}

/** The `DEVICE` round's answer: the device's id and its signature of the round's challenge. */
export async function deviceAnswer(held, nonce) {
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, held.privateKey, deviceMessage(nonce));
  return JSON.stringify({ device: held.id, signature: b64url(signature) });
}
