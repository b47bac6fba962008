import { createSecretKey, randomBytes } from 'node:crypto';
import type { Config } from './config';
import type { Database } from './db/database';
import { createDatabaseProbe } from './db/database';
import { createAttemptCounterStore } from './db/attempt-counters';
import { createBootstrapRunsRepository } from './db/bootstrap-runs-repository';
import { createRefreshTokensRepository } from './db/refresh-tokens-repository';
import { createSigningKeysRepository } from './db/signing-keys-repository';
import { createOpenIdClientsRepository } from './db/openid-clients-repository';
import { createProviderModelStore, type LoginSessionLinks } from './db/openid-provider-store';
import { createOpenIdClients } from './domain/openid-clients';
import { createRolesRepository } from './db/roles-repository';
import { createServerSecretsRepository } from './db/server-secrets-repository';
import { createSessionsRepository } from './db/sessions-repository';
import { createUsersRepository } from './db/users-repository';
import { createMailOutboxRepository } from './db/mail-outbox-repository';
import { createOneTimeTokensRepository } from './db/one-time-tokens-repository';
import { createIdentitiesRepository } from './db/identities-repository';
import { createSecondFactorsRepository } from './db/second-factors-repository';
import { createPasskeysRepository } from './db/passkeys-repository';
import { createAccessTokens, createProviderJwtReader } from './domain/access-tokens';
import { createAccounts } from './domain/accounts';
import { createAdministration } from './domain/administration';
import { invalidatingStores } from './domain/cache-invalidation';
import { ensureBootstrapAdmin } from './domain/bootstrap';
import { createCallerIdentification } from './domain/caller-identity';
import { createJwtSessions } from './domain/jwt-sessions';
import { systemClock, type Clock, type UserId } from './domain/model';
import { createPasswordHasher } from './domain/passwords';
import { SessionCache } from './domain/session-cache';
import { createRateLimits } from './domain/rate-limits';
import { createSessionManager } from './domain/sessions';
import { createSessionTokens, generateSessionTokenKey } from './domain/session-tokens';
import { createSigningKeys } from './domain/signing-keys';
import { createEmailVerification } from './domain/email-verification';
import { createPasswordReset } from './domain/password-reset';
import { createIdentityLogins } from './domain/identity-logins';
import { createSecondFactors } from './domain/second-factors';
import { createPasskeys } from './domain/passkeys';
import { createSecretBox, SECRET_BOX_KEY_BYTES } from './domain/secret-box';
import type { Logger } from './logger';

export interface ServiceDeps {
  config: Config;
  db: Database;
  clock?: Clock;
  /** Where work done after an answer (a reset mail being queued) reports its failures. */
  logger: Logger;
}

const SESSION_TOKEN_KEY = 'session-token-mac';
// Signs the cookie that carries a login through an identity provider from its start to its callback.
const IDENTITY_FLOW_KEY = 'identity-flow-mac';
// Makes the CSRF tokens of the signed-in pages' forms.
const PAGE_FORM_KEY = 'page-form-mac';
// Signs the OpenID Provider's cookies (its login session, its interactions).
const OPENID_COOKIE_KEY = 'openid-provider-cookies';
// Encrypts TOTP secrets where MFA_ENCRYPTION_KEY is not set (never in production).
const MFA_ENCRYPTION_KEY = 'mfa-secret-encryption';
// How long the code that a provider login hands to an app may be traded for a session.
const LOGIN_CODE_LIFETIME_SECONDS = 60;
// How long the record of a sent mail (recipient, template, when; never its token) is kept, for an
// operator asking "was it sent?".
const MAIL_RECORDS_KEPT_SECONDS = 7 * 86400;

/**
 * Wires repositories into the domain. Shared by the HTTP app and the operator CLI. Reads the
 * secrets the instances share, so the database must be migrated. close() stops the password
 * hashing threads.
 */
export async function createServices({ config, db, clock = systemClock, logger }: ServiceDeps) {
  const { cache: cacheConfig } = config.webhook;
  const cache =
    cacheConfig.ttlSeconds > 0 && cacheConfig.maxEntries > 0
      ? new SessionCache({ maxEntries: cacheConfig.maxEntries, ttlSeconds: cacheConfig.ttlSeconds })
      : undefined;
  const {
    sessions: sessionStore,
    refreshSessions,
    users,
    roles,
    oneTimeTokens,
  } = invalidatingStores(
    {
      sessions: createSessionsRepository(db),
      refreshSessions: createRefreshTokensRepository(db),
      users: createUsersRepository(db),
      roles: createRolesRepository(db),
      oneTimeTokens: createOneTimeTokensRepository(db),
    },
    cache,
  );
  const serverSecrets = createServerSecretsRepository(db);
  const key = await serverSecrets.findOrCreateSecret(SESSION_TOKEN_KEY, generateSessionTokenKey);
  const identityFlowKey = await serverSecrets.findOrCreateSecret(IDENTITY_FLOW_KEY, generateSessionTokenKey);
  const pageFormKey = await serverSecrets.findOrCreateSecret(PAGE_FORM_KEY, generateSessionTokenKey);
  const openIdCookieKey = await serverSecrets.findOrCreateSecret(OPENID_COOKIE_KEY, generateSessionTokenKey);
  const mfaEncryptionKey =
    config.secondFactors.encryptionKey ??
    createSecretKey(
      await serverSecrets.findOrCreateSecret(MFA_ENCRYPTION_KEY, () => randomBytes(SECRET_BOX_KEY_BYTES)),
    );
  // While any session from before MAC'd tokens is left (or an instance of an earlier version, in
  // a rolling deploy, still makes them), their tokens are looked up; read again after each purge.
  let legacyTokensMayExist = await sessionStore.hasSessionsWithoutTokenMac();
  const tokens = createSessionTokens({ key, legacyTokensMayExist: () => legacyTokensMayExist });
  const { jwt } = config;
  const signingKeys = createSigningKeys({
    store: createSigningKeysRepository(db),
    clock,
    source: jwt.signing,
    jwksMaxAgeSeconds: jwt.jwksMaxAgeSeconds,
    accessTokenLifetimeSeconds: jwt.accessTokenLifetimeSeconds,
  });
  const sessions = createSessionManager({
    store: sessionStore,
    tokens,
    clock,
    policy: config.sessions,
    cache,
    // The provider's JWT access tokens, which /webhook takes as it takes its opaque ones.
    providerJwtIdOf: config.openIdProvider
      ? createProviderJwtReader(signingKeys, clock, { issuer: config.openIdProvider.issuer, audience: jwt.audience })
      : undefined,
  });
  const passwords = createPasswordHasher(config.passwords, config.hashing);
  // Told whenever a mail is queued here: the outbox worker (src/server.ts) sends it at once, and
  // the metrics count it.
  const mailQueuedListeners = new Set<() => void>();
  const onMailQueued = () => mailQueuedListeners.forEach((listener) => listener());
  const accounts = createAccounts({ users, sessions, passwords, clock, onMailQueued });
  const passkeyStore = createPasskeysRepository(db);
  const secondFactors = createSecondFactors({
    store: createSecondFactorsRepository(db),
    box: createSecretBox(mfaEncryptionKey, config.secondFactors.previousEncryptionKeys),
    clock,
    issuer: config.secondFactors.issuer,
    users,
    passkeys: passkeyStore,
    confirmPassword: accounts.confirmPassword,
  });
  const passkeys = createPasskeys({
    store: passkeyStore,
    users,
    clock,
    relyingParty: config.passkeys,
    confirmFreshness: secondFactors.confirmFreshness,
  });
  const administration = createAdministration({
    users,
    roles,
    sessions,
    accounts,
    secondFactors,
    clock,
    endSessionsOnRoleChange: config.sessions.endOnRoleChange,
    anonymousRole: config.webhook.anonymousRole,
  });
  const callers = createCallerIdentification({
    sessions,
    anonymousRole: config.webhook.anonymousRole,
    maxAgeSeconds: config.webhook.maxAgeSeconds,
    secondFactorRoles: new Set(config.secondFactors.requiredForRoles),
  });
  const jwtSessions = createJwtSessions({
    store: refreshSessions,
    tokens,
    callers,
    accessTokens: createAccessTokens({
      keys: signingKeys,
      clock,
      policy: {
        lifetimeSeconds: jwt.accessTokenLifetimeSeconds,
        issuer: jwt.issuer,
        audience: jwt.audience,
        claimsNamespace: jwt.claimsNamespace,
        claimsFormat: jwt.claimsFormat,
      },
    }),
    clock,
    policy: config.sessions,
    reuseGraceSeconds: jwt.refreshTokenReuseGraceSeconds,
  });
  // Work that runs after its request was answered; close() waits for it.
  const background = new Set<Promise<void>>();
  const runInBackground = (what: string, work: () => Promise<void>) => {
    const running = work()
      .catch((error: unknown) => logger.error({ err: error }, `${what} failed`))
      .finally(() => background.delete(running));
    background.add(running);
  };
  const emailVerification = createEmailVerification({
    tokens: oneTimeTokens,
    clock,
    lifetimeSeconds: config.accounts.emailVerificationTokenLifetimeSeconds,
    onMailQueued,
  });
  const passwordReset = createPasswordReset({
    tokens: oneTimeTokens,
    passwords,
    clock,
    lifetimeSeconds: config.accounts.passwordResetTokenLifetimeSeconds,
    invitationLifetimeSeconds: config.accounts.invitationTokenLifetimeSeconds,
    onMailQueued,
    runInBackground,
  });
  const identities = createIdentitiesRepository(db);
  const identityLogins = createIdentityLogins({
    identities,
    clock,
    signupOpen: config.accounts.signupOpen,
    loginCodeLifetimeSeconds: LOGIN_CODE_LIFETIME_SECONDS,
  });
  const mailOutbox = createMailOutboxRepository(db);
  const runs = createBootstrapRunsRepository(db);
  const rateLimits = createRateLimits({ store: createAttemptCounterStore(db), policy: config.rateLimits });
  const openIdClients = createOpenIdClients({ store: createOpenIdClientsRepository(db), clock });
  // What the OpenID Provider keeps; built once, by the provider's HTTP side, which knows the request.
  let providerModels: ReturnType<typeof createProviderModelStore> | undefined;
  return {
    /** What every rule here reads the time from (tests move it by hand). */
    clock,
    rateLimits,
    sessions,
    jwtSessions,
    signingKeys,
    accounts,
    secondFactors,
    passkeys,
    emailVerification,
    passwordReset,
    identityLogins,
    /** The key that signs identity provider flows' cookies, the same in every instance. */
    identityFlowKey,
    /** The key of the pages' CSRF tokens, the same in every instance. */
    pageFormKey,
    /** The key of the OpenID Provider's signed cookies, the same in every instance. */
    openIdCookieKey: openIdCookieKey.toString('base64url'),
    mailOutbox,
    /** Calls `listener` after each mail queued by this instance. */
    whenMailQueued: (listener: () => void) => void mailQueuedListeners.add(listener),
    administration,
    openIdClients,
    /**
     * The store of the OpenID Provider's models. `currentLinks` tells it which login session the
     * request being served belongs to (see LoginSessionLinks).
     */
    providerModelStore(currentLinks: () => LoginSessionLinks | undefined) {
      providerModels ??= createProviderModelStore(db, clock, config.sessions, currentLinks);
      return providerModels;
    },
    /**
     * A new opaque access token for the OpenID Provider: random, with the MAC that lets the
     * webhook refuse forgeries without a query, as a session's token has.
     */
    newProviderAccessToken: () => tokens.generateProviderAccessToken(),
    /** A user by id, as the OpenID Provider shows them to apps; undefined when there is none. */
    findUser: (id: UserId) => users.findUserById(id),
    callers,
    /** The webhook's cache of validated sessions, which the invalidation listener keeps true; absent when turned off. */
    sessionCache: cache,
    database: createDatabaseProbe(db),
    bootstrapAdmin: (admin: { username: string; password: string }) =>
      ensureBootstrapAdmin({ accounts, runs, clock }, admin),
    /** Deletes dead sessions; answers how many. */
    async purgeDeadSessions(): Promise<number> {
      const count = await sessions.purgeDeadSessions();
      legacyTokensMayExist = await sessionStore.hasSessionsWithoutTokenMac();
      return count;
    },
    /**
     * Deletes what mail leaves behind: tokens that expired (provider logins' codes, logins'
     * second-factor challenges, passkey challenges and the OpenID Provider's codes, tokens and
     * interactions too), and the
     * records of mail sent or given up on, after MAIL_RECORDS_KEPT_SECONDS. Answers how many of each.
     */
    async purgeMailRecords(): Promise<{ tokens: number; mails: number }> {
      const now = clock.now();
      const cutoff = new Date(now.getTime() - MAIL_RECORDS_KEPT_SECONDS * 1000);
      const [tokens, mails] = [
        (await oneTimeTokens.deleteExpiredTokens(now)) +
          (await identities.deleteExpiredLoginCodes(now)) +
          (await secondFactors.purgeExpiredChallenges()) +
          (await passkeys.purgeExpiredChallenges()) +
          ((await providerModels?.purgeExpired()) ?? 0),
        await mailOutbox.deleteFinishedBefore(cutoff),
      ];
      return { tokens, mails };
    },
    async close(): Promise<void> {
      await Promise.all(background);
      await passwords.close();
    },
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
