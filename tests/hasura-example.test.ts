import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readPermissions, sessionVariablesIn } from './support/hasura-metadata';
import { webhookGet } from './support/requests';
import { signUp, startTestApp, type TestApp } from './support/test-app';

// The example's permissions in hasura/metadata work only if they name roles and session variables
// that the webhook really answers: Hasura accepts metadata naming any role, and a role or
// variable the webhook never sends only shows as "field not found" under docker compose.

interface ComposeFile {
  services: { auth: { environment?: Record<string, string> } };
}

/** The auth service's ANONYMOUS_ROLE as docker compose sets it, if it does. */
function composeAnonymousRole(): Record<string, string> {
  const composeFile = path.resolve(__dirname, '../docker-compose.yml');
  const compose = parseYaml(readFileSync(composeFile, 'utf8')) as ComposeFile;
  const role = compose.services.auth.environment?.ANONYMOUS_ROLE;
  return role === undefined ? {} : { ANONYMOUS_ROLE: role };
}

describe('the Hasura example metadata', () => {
  let app: TestApp;
  let answers: Record<string, string>[];
  beforeAll(async () => {
    app = await startTestApp(composeAnonymousRole());
    const user = await signUp(app);
    answers = [(await webhookGet(app, user.token)).body, (await webhookGet(app)).body];
  });
  afterAll(() => app.close());

  it('gives permissions only to roles that the webhook answers, for a user and without credentials', () => {
    const answered = answers.map((answer) => answer['X-Hasura-Role']);
    const roles = readPermissions().map((each) => each.role);

    expect(answered).toEqual(['user', app.config.webhook.anonymousRole]);
    expect(roles).toContain('user');
    expect(roles.filter((role) => !answered.includes(role))).toEqual([]);
  });

  it("grants only columns that the auth service's public view of users has", async () => {
    const granted = readPermissions()
      .filter((each) => each.table === 'auth_public.users')
      .flatMap((each) => each.permission.columns as string[]);
    const { rows } = await app.database.db.raw<{ rows: { column_name: string }[] }>(
      "select column_name from information_schema.columns where table_schema = 'auth_public' and table_name = 'users'",
    );
    const columns = rows.map((row) => row.column_name);

    expect(granted.length).toBeGreaterThan(0);
    expect(granted.filter((column) => !columns.includes(column))).toEqual([]);
  });

  it('names only session variables that the webhook answers', () => {
    const answered = answers.flatMap((answer) => Object.keys(answer).map((name) => name.toLowerCase()));
    const named = readPermissions().flatMap((each) => sessionVariablesIn(each.permission));

    expect(named).toContain('x-hasura-user-id');
    expect(named.filter((name) => !answered.includes(name))).toEqual([]);
  });
});
