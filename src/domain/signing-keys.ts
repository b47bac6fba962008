import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from './model';
import type { SigningAlgorithm, SigningKeyRecord, SigningKeyStore } from './ports';

/**
 * The keys that sign access tokens, and when each is published and used. Hasura fetches the
 * JWKS again only when its copy expires (Cache-Control max-age), and an unknown kid triggers no
 * fetch (docs/hasura-jwt-contract.md §3): a new key is published for longer than that before it
 * signs, and an old one stays published until the last token it signed has expired.
 */

/** Beyond the JWKS max-age and the token lifetime: Hasura's one-second poll, and clocks that differ. */
export const KEY_ROTATION_MARGIN_SECONDS = 30;

export type SigningKeySource =
  /** ES256 or RS256 key pairs, generated here and kept in the database. */
  | { kind: 'generated'; algorithm: SigningAlgorithm }
  /** HS256 with a secret from the environment, which Hasura holds too; nothing is published. */
  | { kind: 'shared-secret'; secret: string };

export interface ActiveSigningKey {
  alg: 'ES256' | 'RS256' | 'HS256';
  /** Absent for a shared secret, which has no public half to name. */
  kid?: string;
  key: CryptoKey | Uint8Array;
}

export interface SigningKeysDeps {
  store: SigningKeyStore;
  clock: Clock;
  source: SigningKeySource;
  jwksMaxAgeSeconds: number;
  accessTokenLifetimeSeconds: number;
}

/** What a rotation did, in terms an operator can act on. No key material. */
export interface KeyRotation {
  kid: string;
  algorithm: SigningAlgorithm;
  publishedAt: Date;
  signsFrom: Date;
  /** Keys removed because no token they signed can still be valid. */
  removedKids: string[];
}

export class KeyRotationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRotationRefused';
  }
}

export function createSigningKeys({
  store,
  clock,
  source,
  jwksMaxAgeSeconds,
  accessTokenLifetimeSeconds,
}: SigningKeysDeps) {
  const publishLeadMs = (jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS) * 1000;
  const retentionMs = (accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS) * 1000;
  // Imported private keys, by kid; a kid names one key pair forever (it is the key's thumbprint).
  const importedKeys = new Map<string, Promise<CryptoKey>>();
  const sharedSecret = source.kind === 'shared-secret' ? new TextEncoder().encode(source.secret) : undefined;

  /** The key that signs at `now`: the one that began signing last. */
  function signingKeyAt(keys: SigningKeyRecord[], now: Date): SigningKeyRecord | undefined {
    return keys.filter((key) => key.signsFrom <= now).sort((a, b) => b.signsFrom.getTime() - a.signsFrom.getTime())[0];
  }

  /** Keys that a valid token may have been signed with, or that will sign soon. */
  function publishedAt(keys: SigningKeyRecord[], now: Date): SigningKeyRecord[] {
    return keys.filter((key) => {
      const successors = keys.filter((other) => other.signsFrom > key.signsFrom && other.signsFrom <= now);
      if (successors.length === 0) return true;
      const supersededAt = Math.min(...successors.map((other) => other.signsFrom.getTime()));
      return now.getTime() < supersededAt + retentionMs;
    });
  }

  async function generateKey(algorithm: SigningAlgorithm, now: Date, signsFrom: Date): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    return {
      kid,
      algorithm,
      publicJwk: { ...publicJwk, kid, use: 'sig', alg: algorithm },
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: algorithm },
      createdAt: now,
      signsFrom,
    };
  }

  function importPrivateKey(key: SigningKeyRecord): Promise<CryptoKey> {
    let imported = importedKeys.get(key.kid);
    if (!imported) {
      imported = importJWK(key.privateJwk as JWK, key.algorithm) as Promise<CryptoKey>;
      importedKeys.set(key.kid, imported);
    }
    return imported;
  }

  return {
    /**
     * Makes sure a key of the configured algorithm exists, at start. The very first key signs at
     * once (no token exists yet); a key for a newly configured algorithm waits to be fetched.
     * Answers the key it generated, if any. Instances starting together generate one key.
     */
    async ensureSigningKey(): Promise<KeyRotation | undefined> {
      if (source.kind !== 'generated') return undefined;
      const now = clock.now();
      const keys = await store.listSigningKeys();
      if (keys.some((key) => key.algorithm === source.algorithm)) return undefined;
      const signsFrom = keys.length === 0 ? now : new Date(now.getTime() + publishLeadMs);
      const key = await generateKey(source.algorithm, now, signsFrom);
      if (!(await store.insertSigningKeyUnlessAlgorithmExists(key))) return undefined;
      return { kid: key.kid, algorithm: key.algorithm, publishedAt: now, signsFrom, removedKids: [] };
    },

    /** The key to sign with now. Read from the database each time, so every instance switches together. */
    async currentSigningKey(): Promise<ActiveSigningKey> {
      if (sharedSecret) return { alg: 'HS256', key: sharedSecret };
      const key = signingKeyAt(await store.listSigningKeys(), clock.now());
      if (!key) throw new Error('No JWT signing key signs yet');
      return { alg: key.algorithm, kid: key.kid, key: await importPrivateKey(key) };
    },

    /** The public keys for GET /.well-known/jwks.json: kty, kid, use, alg and the public parameters only. */
    async publishedKeySet(): Promise<{ keys: Record<string, unknown>[] }> {
      if (source.kind !== 'generated') return { keys: [] };
      return { keys: publishedAt(await store.listSigningKeys(), clock.now()).map((key) => key.publicJwk) };
    },

    /**
     * Publishes a new key of the configured algorithm that signs once every Hasura has fetched
     * it, and removes keys that no valid token can have been signed with. Refuses while another
     * rotation is pending, and for a shared secret, which is rotated in the environment.
     */
    async rotateSigningKey(): Promise<KeyRotation> {
      if (source.kind !== 'generated') {
        throw new KeyRotationRefused(
          'HS256 uses JWT_SECRET, which Hasura holds too: change both together instead of rotating here.',
        );
      }
      const now = clock.now();
      const keys = await store.listSigningKeys();
      const pending = keys.find((key) => key.signsFrom > now);
      if (pending) {
        throw new KeyRotationRefused(
          `Key ${pending.kid} is already waiting to sign from ${pending.signsFrom.toISOString()}.`,
        );
      }
      const signsFrom = new Date(now.getTime() + publishLeadMs);
      const key = await generateKey(source.algorithm, now, signsFrom);
      await store.insertSigningKey(key);
      const published = new Set(publishedAt([...keys, key], now).map((each) => each.kid));
      const removedKids = keys.filter((each) => !published.has(each.kid)).map((each) => each.kid);
      await store.deleteSigningKeys(removedKids);
      return { kid: key.kid, algorithm: key.algorithm, publishedAt: now, signsFrom, removedKids };
    },

    /** How long a key that stops signing now stays published. */
    retentionSeconds: retentionMs / 1000,
  };
}

export type SigningKeys = ReturnType<typeof createSigningKeys>;
