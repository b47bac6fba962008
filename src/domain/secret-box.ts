import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Encrypts the secrets this service must read back (an authenticator app's TOTP secret), with
 * AES-256-GCM under a key from configuration. Each value is bound to what it belongs to (`context`,
 * such as a user id), so that a row copied onto another user's does not decrypt there. Keys are
 * rotated by giving the old ones as `previousKeys`: they still open what they sealed, and
 * `reseal` moves a value to the current key, after which they can go.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
export const SECRET_BOX_KEY_BYTES = 32;

export function createSecretBox(key: KeyObject, previousKeys: readonly KeyObject[] = []) {
  for (const each of [key, ...previousKeys]) {
    if (each.symmetricKeySize !== SECRET_BOX_KEY_BYTES)
      throw new Error(`the key must be ${SECRET_BOX_KEY_BYTES} bytes`);
  }

  /** The plaintext, if `candidate` sealed the value for this context (GCM's tag says so); otherwise undefined. */
  function openWith(candidate: KeyObject, sealed: string, context: string): string | undefined {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error('not a sealed value');
    }
    const decipher = createDecipheriv('aes-256-gcm', candidate, Buffer.from(iv, 'base64url'))
      .setAAD(Buffer.from(context))
      .setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  function seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** Throws when the value was sealed for this context with none of the keys. */
  function open(sealed: string, context: string): string {
    for (const each of [key, ...previousKeys]) {
      const plaintext = openWith(each, sealed, context);
      if (plaintext !== undefined) return plaintext;
    }
    throw new Error('sealed with none of the keys, or for another context');
  }

  return {
    seal,
    open,

    /**
     * The value sealed again with the current key, when a previous key sealed it; undefined when
     * the current key did already. Throws when no key opens it.
     */
    reseal(sealed: string, context: string): string | undefined {
      if (openWith(key, sealed, context) !== undefined) return undefined;
      return seal(open(sealed, context), context);
    },
  };
}

export type SecretBox = ReturnType<typeof createSecretBox>;
