// Virtual keys: generated as `sk-` + 32 random base64url characters, stored only as SHA-256 hex.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateKey(): string {
  return `sk-${randomBytes(24).toString('base64url')}`;
}

export function hashKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** SHA-256 of a presented credential, computed once per request for both checks below (one-shot: no Hash object). */
export function digestKey(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

/** LiteLLM's display name: `sk-...` and the last four characters. */
export function keyName(key: string): string {
  return `sk-...${key.slice(-4)}`;
}

const KEY_SHAPE = /^[\x21-\x7e]{8,256}$/;
const HASH_SHAPE = /^[0-9a-f]{64}$/;

/** Whether a credential could be a key at all; anything else is refused before any lookup. */
export function looksLikeKey(value: string): boolean {
  return value.startsWith('sk-') && KEY_SHAPE.test(value);
}

export function looksLikeHash(value: string): boolean {
  return HASH_SHAPE.test(value);
}

/** The hash a key is stored under, from the raw key or the hash itself. */
export function tokenOf(value: string): string {
  return looksLikeHash(value) ? value : hashKey(value);
}

/** Constant-time comparison of a presented credential's digest with the master key's (digests equalize lengths). */
export function makeMasterKeyCheck(masterKey: string): (presentedDigest: Buffer) => boolean {
  const expected = digestKey(masterKey);
  return (presentedDigest) => timingSafeEqual(presentedDigest, expected);
}
