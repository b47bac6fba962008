import request from 'supertest';
import { logInToken } from './requests';
import { PASSWORD, uniqueUsername, type SignedUpUser, type TestApp } from './test-app';

export const ADMIN_SECRET = 'test-admin-secret-0123456789';
export const withAdminSecret = { 'X-Hasura-Admin-Secret': ADMIN_SECRET };

/** Creates a user through the admin API and logs them in. */
export async function createUserAsAdmin(
  app: TestApp,
  options: { roles?: string[]; defaultRole?: string; username?: string } = {},
): Promise<SignedUpUser> {
  const username = options.username ?? uniqueUsername();
  const created = await request(app.http)
    .post('/admin/users')
    .set(withAdminSecret)
    .send({ username, password: PASSWORD, roles: options.roles, defaultRole: options.defaultRole });
  if (created.status !== 201) throw new Error(`create user failed: ${created.status} ${JSON.stringify(created.body)}`);
  return { id: created.body.id, username, password: PASSWORD, token: await logInToken(app, username) };
}

export async function createRole(app: TestApp, name: string): Promise<void> {
  const res = await request(app.http).post('/admin/roles').set(withAdminSecret).send({ name });
  if (res.status !== 201) throw new Error(`create role failed: ${res.status} ${JSON.stringify(res.body)}`);
}

let roleCounter = 0;
export function uniqueRoleName(prefix = 'role'): string {
  roleCounter += 1;
  return `${prefix}-${process.pid}-${roleCounter}`;
}
