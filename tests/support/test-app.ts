import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { loadConfig, type Config, type Env } from '../../src/config';
import type { Clock } from '../../src/domain/model';
import type { Logger } from '../../src/logger';
import { startServer, type RunningServer, type ServerDeps } from '../../src/server';
import type { Services } from '../../src/services';
import { createTestDatabase, type TestDatabase } from './database';
import { capturingLogger } from './logs';

/** A clock the test moves by hand, so that expiry is tested without waiting. */
export class TestClock implements Clock {
  private current = new Date();
  now(): Date {
    return new Date(this.current);
  }
  advanceSeconds(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

export interface TestApp {
  logger: Logger;
  /** The running server's URL, for supertest: `request(app.http)`. */
  http: string;
  config: Config;
  services: Services;
  database: TestDatabase;
  clock: TestClock;
  /** Every log line the app wrote, as JSON text. */
  logLines: string[];
  /** Instances started beside this one on the same database, closed with it. */
  peers: RunningServer[];
  close(): Promise<void>;
}

const testDefaults: Env = {
  BCRYPT_COST: '4',
  // The hashing queue is sized for suites that send dozens of signups at once; its bound is tested on its own.
  BCRYPT_QUEUE_MAX: '1000',
  LOG_LEVEL: 'info',
  HOST: '127.0.0.1',
  PORT: '0',
  // Every test client comes from 127.0.0.1, as no two production clients do: the per-address
  // limits are out of the way, and the suites about them set their own.
  LOGIN_LIMIT_PER_IP: '1000000/3600',
  SIGNUP_LIMIT_PER_IP: '1000000/3600',
  PASSWORD_CHANGE_LIMIT_PER_IP: '1000000/3600',
  PASSWORD_RESET_LIMIT_PER_IP: '1000000/3600',
  EMAIL_VERIFICATION_LIMIT_PER_IP: '1000000/3600',
};

/**
 * Starts the real server, through startServer, on a fresh database. Tests pass only the settings
 * they are about, and a replacement for how the server hears of changes if that is their subject.
 */
export async function startTestApp(
  env: Env = {},
  deps: Pick<ServerDeps, 'listenForInvalidations'> = {},
): Promise<TestApp> {
  const config = loadConfig({ ...testDefaults, ...env });
  const clock = new TestClock();
  const { logger, lines: logLines } = capturingLogger(config.logLevel);
  const database = await createTestDatabase(logger);
  const server = await startServer({ config, logger, db: database.db, clock, ...deps });
  const peers: RunningServer[] = [];
  return {
    http: server.url,
    logger,
    config,
    services: server.services,
    database,
    clock,
    logLines,
    peers,
    close: async () => {
      await Promise.all([server, ...peers].map((each) => each.close()));
      await database.dispose();
    },
  };
}

/**
 * A second instance of the service on the same database, as another replica behind a load
 * balancer; with `env`, one started with those settings instead (on the test defaults), as after
 * a configuration change. It logs into the app's log lines.
 */
export async function startPeerInstance(app: TestApp, env?: Env): Promise<string> {
  const peer = await startServer({
    config: env ? loadConfig({ ...testDefaults, ...env }) : app.config,
    logger: app.logger,
    db: app.database.connectPeer(),
    clock: app.clock,
  });
  app.peers.push(peer);
  return peer.url;
}

export function uniqueUsername(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export const PASSWORD = 'correct horse battery staple';

export interface SignedUpUser {
  id: number;
  username: string;
  password: string;
  token: string;
}

export async function signUp(app: TestApp, username = uniqueUsername()): Promise<SignedUpUser> {
  const res = await request(app.http).post('/signup').send({ username, password: PASSWORD });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, username: res.body.username, password: PASSWORD, token: res.body.token };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
