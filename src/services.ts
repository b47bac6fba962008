import type { Config } from './config';
import type { Database } from './db/database';
import { createDatabaseProbe } from './db/database';
import { createAttemptCounterStore } from './db/attempt-counters';
import { createBootstrapRunsRepository } from './db/bootstrap-runs-repository';
import { createRolesRepository } from './db/roles-repository';
import { createSessionsRepository } from './db/sessions-repository';
import { createUsersRepository } from './db/users-repository';
import { createAccounts } from './domain/accounts';
import { createAdministration } from './domain/administration';
import { ensureBootstrapAdmin } from './domain/bootstrap';
import { createCallerIdentification } from './domain/caller-identity';
import { systemClock, type Clock } from './domain/model';
import { createPasswordHasher } from './domain/passwords';
import { createRateLimits } from './domain/rate-limits';
import { createSessionManager } from './domain/sessions';

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
  const runs = createBootstrapRunsRepository(db);
  const rateLimits = createRateLimits({ store: createAttemptCounterStore(db), policy: config.rateLimits });
  return {
    rateLimits,
    sessions,
    accounts,
    administration,
    callers,
    database: createDatabaseProbe(db),
    bootstrapAdmin: (admin: { username: string; password: string }) =>
      ensureBootstrapAdmin({ accounts, runs, clock }, admin),
  };
}

export type Services = ReturnType<typeof createServices>;
