import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { loadConfig, type Config, type Env } from '../../src/config';
import type { Clock } from '../../src/domain/model';
import { createLogger, type Logger } from '../../src/logger';
import { createServices, type Services } from '../../src/services';
import { createTestDatabase, type TestDatabase } from './database';

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
  http: Express;
  config: Config;
  services: Services;
  database: TestDatabase;
  clock: TestClock;
  /** Every log line the app wrote, as JSON text. */
  logLines: string[];
  close(): Promise<void>;
}

/** Builds an app on a fresh database. Tests pass only the settings they are about. */
export async function startTestApp(env: Env = {}): Promise<TestApp> {
  const config = loadConfig({ BCRYPT_COST: '4', LOG_LEVEL: 'info', ...env });
  const clock = new TestClock();
  const logLines: string[] = [];
  const logger = createLogger(
    config.logLevel,
    new Writable({
      write(chunk, _encoding, callback) {
        logLines.push(String(chunk));
        callback();
      },
    }),
  );
  const database = await createTestDatabase(logger);
  const services = createServices({ config, db: database.db, clock });
  const http = createApp({ config, logger, services });
  return { http, logger, config, services, database, clock, logLines, close: () => database.dispose() };
}

/** A second instance of the service on the same database, as another replica behind a load balancer. */
export function startPeerInstance(app: TestApp): Express {
  const services = createServices({ config: app.config, db: app.database.connectPeer(), clock: app.clock });
  return createApp({ config: app.config, logger: app.logger, services });
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
