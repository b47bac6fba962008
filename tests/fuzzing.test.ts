import fc from 'fast-check';
import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { startTestApp, type SignedUpUser, type TestApp } from './support/test-app';

// Modest by default, so that the suite stays quick; FUZZ_RUNS=2000 npm test -- tests/fuzzing.test.ts
// searches harder.
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);

/** Every route, with a method it answers. */
const ROUTES = [
  ['post', '/signup'],
  ['post', '/login'],
  ['post', '/logout'],
  ['post', '/logout/all'],
  ['get', '/me'],
  ['post', '/password'],
  ['get', '/sessions'],
  ['delete', '/sessions/00000000-0000-4000-8000-000000000000'],
  ['get', '/webhook'],
  ['post', '/webhook'],
  ['get', '/admin/users'],
  ['post', '/admin/users'],
  ['patch', '/admin/users/1'],
  ['put', '/admin/users/1/roles/user'],
  ['post', '/admin/roles'],
  ['get', '/readyz'],
] as const;

/** The routes that read a JSON body, with what a well-formed body must hold. */
const BODY_ROUTES = [
  ['post', '/signup'],
  ['post', '/login'],
  ['post', '/password'],
  ['post', '/admin/users'],
  ['patch', '/admin/users/1'],
  ['post', '/admin/roles'],
] as const;

// Headers that describe the transport itself: random values for them make the client, not the
// server, fail.
const TRANSPORT_HEADERS = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'expect', 'upgrade']);

const headerName = fc
  .stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/)
  .filter((name) => !TRANSPORT_HEADERS.has(name.toLowerCase()));

// What Node's HTTP client lets through in a header value: tab, visible ASCII and Latin-1.
const headerValue = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
    fc.constant('\t'),
  ),
  maxLength: 200,
});

const headersArbitrary = fc.dictionary(
  fc.oneof(
    headerName,
    fc.constantFrom('Authorization', 'X-Hasura-Role', 'Content-Type', 'Content-Encoding', 'X-Forwarded-For', 'Cookie'),
  ),
  headerValue,
  { maxKeys: 6 },
);

/** Every error the API writes: `{error: {code, message}}` and perhaps details, as JSON. */
function expectErrorShape(res: request.Response): void {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    error: {
      code: expect.stringMatching(/^[A-Z_]+$/),
      message: expect.any(String),
      ...(res.body?.error?.details !== undefined && { details: expect.any(Array) }),
    },
  });
}

/**
 * A body that is not a non-empty object cannot hold what these routes need, except PATCH, for
 * which `{}` is an update that changes nothing.
 */
function expectRefusedUnlessAnObject(res: request.Response, path: string, body: unknown): void {
  const anObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  if (anObject && (Object.keys(body).length > 0 || path === '/admin/users/1')) return;
  expect(res.status).toBeGreaterThanOrEqual(400);
  expectErrorShape(res);
}

function expectNoServerError(res: request.Response): void {
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400 && res.status !== 401) expectErrorShape(res);
}

describe('fuzzing through HTTP', () => {
  let app: TestApp;
  let users: (SignedUpUser & { roles: string[] })[];
  beforeAll(async () => {
    app = await startTestApp({
      ADMIN_SECRET,
      // Thousands of requests from one address: the limits are tested elsewhere.
      LOGIN_LIMIT_PER_IP: 'off',
      LOGIN_FAILURE_LIMIT_PER_USERNAME: 'off',
      LOGIN_FAILURE_LIMIT_PER_USER_IP: 'off',
      SIGNUP_LIMIT_PER_IP: 'off',
      PASSWORD_CHANGE_LIMIT_PER_IP: 'off',
    });
    const editor = uniqueRoleName('editor');
    await createRole(app, editor);
    users = [
      { ...(await createUserAsAdmin(app)), roles: ['user'] },
      { ...(await createUserAsAdmin(app, { roles: [editor], defaultRole: editor })), roles: ['user', editor] },
      { ...(await createUserAsAdmin(app, { roles: ['admin'] })), roles: ['user', 'admin'] },
    ];
  });
  afterAll(() => app.close());

  /** After a property: the process is still alive, and still serving. */
  async function expectStillServing(): Promise<void> {
    expect((await request(app.http).get('/healthz')).status).toBe(200);
  }

  const rolesOf = (userId: unknown) => users.find((user) => String(user.id) === userId)?.roles;

  /** A 200 from the webhook: only string values, a role, and a role the user holds. */
  function expectHonestWebhookAnswer(res: request.Response): void {
    expect([200, 400, 401, 413, 415]).toContain(res.status);
    if (res.status !== 200) return;
    const body = res.body as Record<string, unknown>;
    for (const value of Object.values(body)) expect(typeof value).toBe('string');
    expect(body['X-Hasura-Role']).toEqual(expect.stringMatching(/.+/));
    if (body['X-Hasura-User-Id'] === undefined) {
      expect(body['X-Hasura-Role']).toBe('anonymous');
    } else {
      expect(rolesOf(body['X-Hasura-User-Id'])).toContain(body['X-Hasura-Role']);
    }
  }

  /** An Authorization value: a user's real token, mangled or not, or noise. */
  const authorizationValue = () =>
    fc.oneof(
      fc.constantFrom(...users.map((user) => `Bearer ${user.token}`)),
      fc
        .tuple(fc.constantFrom(...users.map((user) => user.token)), headerValue)
        .map(([token, noise]) => `Bearer ${token}${noise}`),
      fc
        .tuple(
          fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', ''),
          fc.constantFrom(' ', '  ', '\t', ''),
        )
        .chain(([scheme, gap]) => headerValue.map((rest) => `${scheme}${gap}${rest}`)),
      headerValue,
    );

  const roleValue = () =>
    fc.oneof(fc.constantFrom('user', 'admin', 'anonymous', 'editor', users[1]!.roles[1]!, ''), headerValue);

  it('answers random headers on every route without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), headersArbitrary, async ([method, path], headers) => {
        const res = await request(app.http)[method](path).set(headers);
        expectNoServerError(res);
      }),
      { numRuns: RUNS },
    );
    await expectStillServing();
  });

  it('answers random Authorization and X-Hasura-Role values on every route without a 5xx, and the webhook never grants a role the user lacks', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Not /logout: it would end the sessions whose tokens the next runs mangle.
        fc.constantFrom(...ROUTES.filter(([, path]) => !path.startsWith('/logout'))),
        authorizationValue(),
        fc.option(roleValue()),
        async ([method, path], authorization, role) => {
          const res = await request(app.http)
            [method](path)
            .set({ Authorization: authorization, ...(role === null ? {} : { 'X-Hasura-Role': role }) });
          expectNoServerError(res);
          if (path === '/webhook' && method === 'get') expectHonestWebhookAnswer(res);
        },
      ),
      { numRuns: RUNS * 2 },
    );
    await expectStillServing();
  });

  it('answers random POST-mode webhook envelopes without a 5xx, with only honest 200s', async () => {
    const forwardedHeaders = fc.dictionary(
      fc.oneof(fc.mixedCase(fc.constantFrom('authorization', 'x-hasura-role')), headerName),
      fc.oneof(authorizationValue(), roleValue(), fc.jsonValue({ maxDepth: 2 })),
      { maxKeys: 4 },
    );
    const envelope = fc.oneof(
      fc.record(
        { headers: fc.oneof(forwardedHeaders, fc.jsonValue({ maxDepth: 2 })), request: fc.jsonValue({ maxDepth: 3 }) },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(envelope, async (body) => {
        const res = await request(app.http)
          .post('/webhook')
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expectNoServerError(res);
        expectHonestWebhookAnswer(res);
      }),
      { numRuns: RUNS * 2 },
    );
    await expectStillServing();
  });

  describe('auth and admin endpoints', () => {
    const credentials = () => ({ ...withAdminSecret, Authorization: `Bearer ${users[0]!.token}` });

    it('answer random JSON bodies with an answer or a 4xx in the error shape, never a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...BODY_ROUTES),
          fc.jsonValue({ maxDepth: 3 }),
          async ([method, path], body) => {
            const res = await request(app.http)
              [method](path)
              .set(credentials())
              .set('Content-Type', 'application/json')
              .send(JSON.stringify(body));
            expectNoServerError(res);
            expectRefusedUnlessAnObject(res, path, body);
          },
        ),
        { numRuns: RUNS * 2 },
      );
      await expectStillServing();
    });

    it('answer bodies that are not JSON with a 4xx in the error shape', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...BODY_ROUTES),
          fc.constantFrom(
            'application/json',
            'application/json; charset=utf-8',
            'application/json; charset=latin-9',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
          ),
          fc.uint8Array({ minLength: 1, maxLength: 300 }).filter((bytes) => {
            try {
              JSON.parse(Buffer.from(bytes).toString('utf8'));
              return false;
            } catch {
              return true;
            }
          }),
          async ([method, path], contentType, bytes) => {
            const res = await request(app.http)
              [method](path)
              .set(credentials())
              .set('Content-Type', contentType)
              .send(Buffer.from(bytes));
            expect(res.status).toBeGreaterThanOrEqual(400);
            expect(res.status).toBeLessThan(500);
            expectErrorShape(res);
          },
        ),
        { numRuns: RUNS * 2 },
      );
      await expectStillServing();
    });
  });
});
