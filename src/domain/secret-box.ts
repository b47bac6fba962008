import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Encrypts the secrets this service must read back (an authenticator app's TOTP secret), with
 * AES-256-GCM under a key from configuration. Each value is bound to what it belongs to (`context`,
 * such as a user id), so that a row copied onto another user's does not decrypt there.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
export const SECRET_BOX_KEY_BYTES = 32;

export function createSecretBox(key: KeyObject) {
  if (key.symmetricKeySize !== SECRET_BOX_KEY_BYTES) throw new Error(`the key must be ${SECRET_BOX_KEY_BYTES} bytes`);
  return {
    seal(plaintext: string, context: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv, cipher.getAuthTag(), ciphertext]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },

    /** Throws when the value was not sealed with this key for this context. */
    open(sealed: string, context: string): string {
      const [version, iv, tag, ciphertext] = sealed.split('.');
      if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined) {
        throw new Error('not a sealed value');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
        .setAAD(Buffer.from(context))
        .setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

export type SecretBox = ReturnType<typeof createSecretBox>;
