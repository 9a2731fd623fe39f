// Values LiteLLM encrypts in its database (litellm_params of its stored models) under LITELLM_SALT_KEY,
// or its master key when none is set. The key is SHA-256 of that text; two formats
// (litellm/proxy/common_utils/encrypt_decrypt_utils.py):
// - "v2:gcm:" + base64url(nonce 12 bytes || ciphertext || tag 16 bytes): AES-256-GCM, no AAD;
// - no prefix, base64url (or standard base64) of NaCl SecretBox's output, nonce 24 bytes || box:
//   XSalsa20-Poly1305, opened here by tweetnacl.
import { createDecipheriv, createHash } from 'node:crypto';
import nacl from 'tweetnacl';

const GCM = 'v2:gcm:';
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Whether a stored value is one of LiteLLM's ciphertexts (plain values, such as "openai/gpt-4o", are kept as they are). */
export function looksEncrypted(value: string): boolean {
  if (value.startsWith(GCM)) return true;
  // A SecretBox holds at least its nonce and tag: 40 bytes, 56 base64 characters.
  return value.length >= 56 && BASE64.test(value) && Buffer.from(value, 'base64url').length >= nacl.secretbox.nonceLength + nacl.secretbox.overheadLength;
}

export class Decrypter {
  private readonly key: Buffer;

  constructor(saltKey: string) {
    this.key = createHash('sha256').update(saltKey, 'utf8').digest();
  }

  /** The plaintext, or null when the value is not a ciphertext under this key. */
  decrypt(value: string): string | null {
    try {
      if (value.startsWith(GCM)) {
        const sealed = Buffer.from(value.slice(GCM.length), 'base64url');
        if (sealed.length < 28) return null;
        const d = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
        d.setAuthTag(sealed.subarray(sealed.length - 16));
        return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]).toString('utf8');
      }
      const bytes = Buffer.from(value, 'base64url');
      const n = nacl.secretbox.nonceLength;
      const opened = nacl.secretbox.open(bytes.subarray(n), bytes.subarray(0, n), this.key);
      return opened ? Buffer.from(opened).toString('utf8') : null;
    } catch {
      return null;
    }
  }
}
