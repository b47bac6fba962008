import type { Config } from './config';
import type { Database } from './db/database';
import { createDatabaseProbe } from './db/database';
import { createBootstrapRunsRepository } from './db/bootstrap-runs-repository';
import { createRefreshTokensRepository } from './db/refresh-tokens-repository';
import { createSigningKeysRepository } from './db/signing-keys-repository';
import { createRolesRepository } from './db/roles-repository';
import { createSessionsRepository } from './db/sessions-repository';
import { createUsersRepository } from './db/users-repository';
import { createAccessTokens } from './domain/access-tokens';
import { createAccounts } from './domain/accounts';
import { createAdministration } from './domain/administration';
import { ensureBootstrapAdmin } from './domain/bootstrap';
import { createCallerIdentification } from './domain/caller-identity';
import { createJwtSessions } from './domain/jwt-sessions';
import { systemClock, type Clock } from './domain/model';
import { createPasswordHasher } from './domain/passwords';
import { createSessionManager } from './domain/sessions';
import { createSigningKeys } from './domain/signing-keys';

export interface ServiceDeps {
  config: Config;
  db: Database;
  clock?: Clock;
}

/** Wires repositories into the domain. Shared by the HTTP app and the operator CLI. */
export function createServices({ config, db, clock = systemClock }: ServiceDeps) {
  const users = createUsersRepository(db);
  const roles = createRolesRepository(db);
  const sessions = createSessionManager({ store: createSessionsRepository(db), clock, policy: config.sessions });
  const passwords = createPasswordHasher(config.passwords);
  const accounts = createAccounts({ users, sessions, passwords, clock });
  const administration = createAdministration({
    users,
    roles,
    sessions,
    accounts,
    clock,
    expireSessionsOnRoleChange: config.sessions.expireOnRoleChange,
    anonymousRole: config.webhook.anonymousRole,
  });
  const callers = createCallerIdentification({
    sessions,
    anonymousRole: config.webhook.anonymousRole,
    maxAgeSeconds: config.webhook.maxAgeSeconds,
  });
  const { jwt } = config;
  const signingKeys = createSigningKeys({
    store: createSigningKeysRepository(db),
    clock,
    source:
      jwt.algorithm === 'HS256'
        ? { kind: 'shared-secret', secret: jwt.secret! }
        : { kind: 'generated', algorithm: jwt.algorithm },
    jwksMaxAgeSeconds: jwt.jwksMaxAgeSeconds,
    accessTokenLifetimeSeconds: jwt.accessTokenLifetimeSeconds,
  });
  const jwtSessions = createJwtSessions({
    store: createRefreshTokensRepository(db),
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
  const runs = createBootstrapRunsRepository(db);
  return {
    sessions,
    jwtSessions,
    signingKeys,
    accounts,
    administration,
    callers,
    database: createDatabaseProbe(db),
    bootstrapAdmin: (admin: { username: string; password: string }) =>
      ensureBootstrapAdmin({ accounts, runs, clock }, admin),
  };
}

export type Services = ReturnType<typeof createServices>;
