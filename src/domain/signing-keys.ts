import { createPublicKey, type KeyObject } from 'node:crypto';
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

/**
 * How long the published key set is answered from memory before it is read again. Hasura DDN
 * fetches the JWKS on every GraphQL request, so it must not cost a query each. A key rotated on
 * another instance, or published or withdrawn as time passes, is seen this much later here: well
 * within the margin above, by which every key is published before it signs and kept after.
 */
export const PUBLISHED_KEYS_REFRESH_SECONDS = 5;

export type SigningKeySource =
  /** ES256 or RS256 key pairs, generated here and kept in the database. */
  | { kind: 'generated'; algorithm: SigningAlgorithm }
  /** HS256 with a secret from the environment, which Hasura holds too; nothing is published. */
  | { kind: 'shared-secret'; secret: string }
  /**
   * ES256 or RS256 key pairs from the environment: `privateKey` signs until `nextPrivateKey` has
   * been published long enough for every Hasura to have fetched it. Only their public halves are
   * recorded in the database.
   */
  | { kind: 'environment'; algorithm: SigningAlgorithm; privateKey: KeyObject; nextPrivateKey: KeyObject | null };

export interface ActiveSigningKey {
  alg: 'ES256' | 'RS256' | 'HS256';
  /** Absent for a shared secret, which has no public half to name. */
  kid?: string;
  key: CryptoKey | KeyObject | Uint8Array;
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

/** What start-up did with the keys, for the log. No key material. */
export interface SigningKeysAtStart {
  /** The key generated, if any. */
  generated?: KeyRotation;
  /**
   * JWT_PRIVATE_KEY signs although it was published too recently for every Hasura to have
   * fetched it: a Hasura may refuse its tokens until `fetchedBy`.
   */
  signsBeforeFetched?: { kid: string; fetchedBy: Date };
}

export class KeyRotationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRotationRefused';
  }
}

/** What GET /.well-known/jwks.json answers. */
export interface PublishedKeySet {
  keys: Record<string, unknown>[];
}

/** A key from the environment: its name, what is published of it, and the private half that signs. */
interface EnvironmentKey {
  kid: string;
  publicJwk: Record<string, unknown>;
  privateKey: KeyObject;
}

const hasPrivateHalf = (key: SigningKeyRecord) => key.privateJwk !== null;

/** A public key as the JWKS publishes it, named by its RFC 7638 thumbprint. */
async function publishedFormOf(
  publicKey: CryptoKey | KeyObject,
  algorithm: SigningAlgorithm,
): Promise<{ kid: string; publicJwk: Record<string, unknown> }> {
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, publicJwk: { ...jwk, kid, use: 'sig', alg: algorithm } };
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
  // Named once: a kid is a digest, and the configured keys do not change while the process runs.
  const environment =
    source.kind === 'environment'
      ? {
          algorithm: source.algorithm,
          // The current key, and the next one when there is one.
          keys: (async (): Promise<[EnvironmentKey] | [EnvironmentKey, EnvironmentKey]> => {
            const environmentKey = async (privateKey: KeyObject): Promise<EnvironmentKey> => ({
              ...(await publishedFormOf(createPublicKey(privateKey), source.algorithm)),
              privateKey,
            });
            const current = await environmentKey(source.privateKey);
            return source.nextPrivateKey ? [current, await environmentKey(source.nextPrivateKey)] : [current];
          })(),
        }
      : undefined;
  // Awaited only when used; a failure surfaces there, not as an unhandled rejection.
  environment?.keys.catch(() => undefined);

  // The published set, until the earlier of its refresh and the next moment time changes it.
  let published: { keySet: PublishedKeySet; computedAt: number; validUntil: number } | undefined;
  // A change made here drops the memo at once; a reading begun before it must not put it back.
  let keyChanges = 0;
  const keysChanged = () => {
    keyChanges += 1;
    published = undefined;
  };
  const publishedIfFresh = (now: number) =>
    published && now >= published.computedAt && now < published.validUntil ? published.keySet : undefined;

  async function readPublishedKeySet(now: Date): Promise<{ keySet: PublishedKeySet; validUntil: number }> {
    const refreshAt = now.getTime() + PUBLISHED_KEYS_REFRESH_SECONDS * 1000;
    if (source.kind === 'shared-secret') return { keySet: { keys: [] }, validUntil: refreshAt };
    const keys = await store.listSigningKeys();
    const configured = environment ? new Set((await environment.keys).map((key) => key.kid)) : undefined;
    // Generated keys stay published by their successors' times, as rotation supersedes them; keys
    // from the environment while configured, and after that by their retirement.
    const generated = keys.filter(hasPrivateHalf);
    const publishedUntil = (key: SigningKeyRecord) => {
      if (configured) return configured.has(key.kid) ? Infinity : retiredUntil(key);
      return hasPrivateHalf(key) ? supersededUntil(key, generated) : retiredUntil(key);
    };
    const ends = keys.map((key) => ({ key, until: publishedUntil(key) }));
    const live = ends.filter(({ until }) => until > now.getTime());
    return {
      keySet: { keys: live.map(({ key }) => key.publicJwk) },
      validUntil: Math.min(refreshAt, ...live.map(({ until }) => until)),
    };
  }

  /** The key that signs at `now`: the one that began signing last. */
  function signingKeyAt(keys: SigningKeyRecord[], now: Date): SigningKeyRecord | undefined {
    return keys.filter((key) => key.signsFrom <= now).sort((a, b) => b.signsFrom.getTime() - a.signsFrom.getTime())[0];
  }

  /**
   * Until when a generated key is published: a valid token may have been signed with it, or it
   * will sign soon. A key is superseded when its first successor begins signing (a successor still
   * to come supersedes it in the future, so it stays), and is published for the retention time
   * after that.
   */
  function supersededUntil(key: SigningKeyRecord, keys: SigningKeyRecord[]): number {
    const successors = keys.filter((other) => other.signsFrom > key.signsFrom);
    if (successors.length === 0) return Infinity;
    return Math.min(...successors.map((other) => other.signsFrom.getTime())) + retentionMs;
  }

  /** Until when a key is published that is still in use somewhere, or was retired so recently that a token it signed may be valid. */
  function retiredUntil(key: SigningKeyRecord): number {
    return key.retiredAt === null ? Infinity : key.retiredAt.getTime() + retentionMs;
  }

  async function generateKey(algorithm: SigningAlgorithm, now: Date, signsFrom: Date): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
    const { kid, publicJwk } = await publishedFormOf(publicKey, algorithm);
    return {
      kid,
      algorithm,
      publicJwk,
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: algorithm },
      createdAt: now,
      signsFrom,
      retiredAt: null,
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

  /**
   * Records the configured keys, so that every instance reads the same publication times, and
   * retires every other key. A key dropped so long ago that it is no longer published is recorded
   * afresh when it comes back: a Hasura may not hold it any more.
   */
  async function recordEnvironmentKeys(algorithm: SigningAlgorithm, configured: EnvironmentKey[], now: Date) {
    const recordedBefore = await store.listSigningKeys();
    await store.deleteEnvironmentKeysRetiredBefore(new Date(now.getTime() - retentionMs));
    const fetchedByAll = new Date(now.getTime() + publishLeadMs);
    await store.insertSigningKeysUnlessRecorded(
      configured.map((key, index) => ({
        kid: key.kid,
        algorithm,
        publicJwk: key.publicJwk,
        privateJwk: null,
        createdAt: now,
        // The very first key signs at once (no token exists yet); any other once every Hasura has it.
        signsFrom: recordedBefore.length === 0 && index === 0 ? now : fetchedByAll,
        retiredAt: null,
      })),
    );
    await store.retireSigningKeysNotInUse({ kids: configured.map((key) => key.kid) }, now);
  }

  /** The generated-keys source, or KeyRotationRefused with what to do instead. */
  function rotatableSource(): { kind: 'generated'; algorithm: SigningAlgorithm } {
    if (source.kind === 'generated') return source;
    throw new KeyRotationRefused(
      source.kind === 'shared-secret'
        ? 'HS256 uses JWT_SECRET, which Hasura holds too: change both together instead of rotating here.'
        : 'The signing key comes from JWT_PRIVATE_KEY, so it is rotated in the environment: set JWT_NEXT_PRIVATE_KEY ' +
            `to a new key, which is published at once and signs JWKS_MAX_AGE_SECONDS + ${KEY_ROTATION_MARGIN_SECONDS} s ` +
            'later, once every Hasura has fetched it. Then move it to JWT_PRIVATE_KEY and unset JWT_NEXT_PRIVATE_KEY; ' +
            'the old key stays published until its last token has expired.',
    );
  }

  /** The key pair that signs now: the environment's current or next key, or the generated key whose time has come. */
  async function currentKeyPair(): Promise<
    { alg: SigningAlgorithm; kid: string } & (
      { record: SigningKeyRecord; privateKey?: never } | { record?: never; privateKey: KeyObject }
    )
  > {
    if (environment) {
      const [current, next] = await environment.keys;
      const nextRecord = next && (await store.listSigningKeys()).find((key) => key.kid === next.kid);
      const signing = nextRecord && nextRecord.signsFrom <= clock.now() ? next : current;
      return { alg: environment.algorithm, kid: signing.kid, privateKey: signing.privateKey };
    }
    const key = signingKeyAt((await store.listSigningKeys()).filter(hasPrivateHalf), clock.now());
    if (!key) throw new Error('No JWT signing key signs yet');
    return { alg: key.algorithm, kid: key.kid, record: key };
  }

  return {
    /**
     * At start. Generated keys: makes sure a key of the configured algorithm exists. The very
     * first key signs at once (no other could sign); a key for a newly configured algorithm waits
     * to be fetched. Instances starting together generate one key. Keys from the environment:
     * records them. Either way, every key that no longer signs here starts its retention.
     */
    async ensureSigningKey(): Promise<SigningKeysAtStart> {
      const now = clock.now();
      if (source.kind === 'shared-secret') return {};
      if (environment) {
        const configured = await environment.keys;
        await recordEnvironmentKeys(environment.algorithm, configured, now);
        keysChanged();
        const current = (await store.listSigningKeys()).find((key) => key.kid === configured[0].kid);
        return current && current.signsFrom > now
          ? { signsBeforeFetched: { kid: current.kid, fetchedBy: current.signsFrom } }
          : {};
      }
      await store.retireSigningKeysNotInUse({ privateKeysInDatabase: true }, now);
      keysChanged();
      const keys = (await store.listSigningKeys()).filter(hasPrivateHalf);
      if (keys.some((key) => key.algorithm === source.algorithm)) return {};
      const signsFrom = keys.length === 0 ? now : new Date(now.getTime() + publishLeadMs);
      const key = await generateKey(source.algorithm, now, signsFrom);
      if (!(await store.insertSigningKeyUnlessAlgorithmExists(key))) return {};
      keysChanged();
      return { generated: { kid: key.kid, algorithm: key.algorithm, publishedAt: now, signsFrom, removedKids: [] } };
    },

    /**
     * The key to sign with now. What decides is read from the database each time, so every
     * instance switches together: from JWT_PRIVATE_KEY to JWT_NEXT_PRIVATE_KEY once the latter's
     * record says every Hasura has fetched it.
     */
    async currentSigningKey(): Promise<ActiveSigningKey> {
      if (sharedSecret) return { alg: 'HS256', key: sharedSecret };
      const current = await currentKeyPair();
      return {
        alg: current.alg,
        kid: current.kid,
        key: current.record ? await importPrivateKey(current.record) : current.privateKey,
      };
    },

    /**
     * The key to sign with now, as a private JWK, for the OpenID Provider, which takes its keys so;
     * undefined under HS256, whose secret Hasura shares and no app may hold.
     */
    async currentSigningJwk(): Promise<(JWK & { kid: string; alg: SigningAlgorithm }) | undefined> {
      if (sharedSecret) return undefined;
      const { alg, kid, record, privateKey } = await currentKeyPair();
      const jwk = record ? (record.privateJwk as JWK) : (privateKey.export({ format: 'jwk' }) as JWK);
      return { ...jwk, kid, alg };
    },

    /**
     * The public keys for GET /.well-known/jwks.json: kty, kid, use, alg and the public parameters
     * only. Read at most once per PUBLISHED_KEYS_REFRESH_SECONDS; the same object until then.
     */
    async publishedKeySet(): Promise<PublishedKeySet> {
      const now = clock.now();
      const fresh = publishedIfFresh(now.getTime());
      if (fresh) return fresh;
      const changesBefore = keyChanges;
      const { keySet, validUntil } = await readPublishedKeySet(now);
      if (keyChanges === changesBefore) published = { keySet, computedAt: now.getTime(), validUntil };
      return keySet;
    },

    /** The published key set if it is in memory and fresh, without waiting: the JWKS's fast path. */
    publishedKeySetNow(): PublishedKeySet | undefined {
      return publishedIfFresh(clock.now().getTime());
    },

    /**
     * Publishes a new key of the configured algorithm that signs once every Hasura has fetched
     * it, and removes keys that no valid token can have been signed with. Refuses while another
     * rotation is pending, and for keys from the environment, which are rotated there.
     */
    async rotateSigningKey(): Promise<KeyRotation> {
      const { algorithm } = rotatableSource();
      const now = clock.now();
      const keys = (await store.listSigningKeys()).filter(hasPrivateHalf);
      const pending = keys.find((key) => key.signsFrom > now);
      if (pending) {
        throw new KeyRotationRefused(
          `Key ${pending.kid} is already waiting to sign from ${pending.signsFrom.toISOString()}.`,
        );
      }
      const signsFrom = new Date(now.getTime() + publishLeadMs);
      const key = await generateKey(algorithm, now, signsFrom);
      await store.insertSigningKey(key);
      const removedKids = keys
        .filter((each) => supersededUntil(each, [...keys, key]) <= now.getTime())
        .map((each) => each.kid);
      await store.deleteSigningKeys(removedKids);
      keysChanged();
      return { kid: key.kid, algorithm: key.algorithm, publishedAt: now, signsFrom, removedKids };
    },

    /** Throws KeyRotationRefused, before anything is written, unless the keys are rotated here. */
    assertRotatable(): void {
      rotatableSource();
    },

    /** How long a key that stops signing now stays published. */
    retentionSeconds: retentionMs / 1000,
  };
}

export type SigningKeys = ReturnType<typeof createSigningKeys>;
