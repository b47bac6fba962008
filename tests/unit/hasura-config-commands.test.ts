import { generateKeyPairSync } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { runCliCapturing } from '../support/cli';

const cli = (argv: string[], env: Record<string, string> = {}) => runCliCapturing(argv, env);

// No database is opened: the value depends on configuration only.
describe('npm run cli -- hasura-jwt-config', () => {
  it('prints the HASURA_GRAPHQL_JWT_SECRET for the default ES256 keys, with the JWKS URL given', async () => {
    const { code, stdout } = await cli([
      'hasura-jwt-config',
      '--jwks-url',
      'https://auth.example.com/.well-known/jwks.json',
    ]);
    expect(code).toBe(0);
    expect(stdout).toBe(
      '{"jwk_url":"https://auth.example.com/.well-known/jwks.json","claims_namespace":"https://hasura.io/jwt/claims",' +
        '"claims_format":"json","audience":"hasura","issuer":"hasura-auth-webhook"}\n',
    );
  });

  it('points Hasura at the JWKS for a key from JWT_PRIVATE_KEY too, and prints nothing of the key', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const { code, stdout } = await cli(['hasura-jwt-config'], { JWT_PRIVATE_KEY: pem });
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ jwk_url: 'http://auth:3000/.well-known/jwks.json' });
    expect(Object.keys(printed)).not.toContain('key');
  });

  it('points at the compose service by default, on the configured port', async () => {
    const { stdout } = await cli(['hasura-jwt-config'], { PORT: '4000' });
    expect(JSON.parse(stdout)).toMatchObject({ jwk_url: 'http://auth:4000/.well-known/jwks.json' });
  });

  it('prints the type and the key for HS256, with the configured namespace, format, audience and issuer', async () => {
    const secret = 'a shared secret of 32 bytes, or more';
    const { code, stdout } = await cli(['hasura-jwt-config'], {
      JWT_ALGORITHM: 'HS256',
      JWT_SECRET: secret,
      JWT_CLAIMS_NAMESPACE: 'https://example.com/claims',
      JWT_CLAIMS_FORMAT: 'stringified_json',
      JWT_AUDIENCE: 'my-api',
      JWT_ISSUER: 'https://auth.example.com',
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      type: 'HS256',
      key: secret,
      claims_namespace: 'https://example.com/claims',
      claims_format: 'stringified_json',
      audience: 'my-api',
      issuer: 'https://auth.example.com',
    });
  });

  it('refuses a configuration Hasura would refuse, with exit code 2', async () => {
    const { code, stderr, stdout } = await cli(['hasura-jwt-config'], { JWT_ALGORITHM: 'HS256', JWT_SECRET: 'short' });
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain('JWT_SECRET: must be at least 32 bytes');
  });
});

// No database is opened either; tests/hasura-ddn.test.ts verifies tokens by what the JWT config says.
describe('npm run cli -- hasura-ddn-auth-config', () => {
  const authConfig = async (argv: string[], env: Record<string, string> = {}) => {
    const { code, stdout } = await cli(['hasura-ddn-auth-config', ...argv], env);
    expect(code).toBe(0);
    return parseYaml(stdout) as { kind: string; version: string; definition: { mode: Record<string, unknown> } };
  };

  it('points DDN at the webhook by GET, forwarding what the webhook reads', async () => {
    const printed = await authConfig(['--mode', 'webhook', '--url', 'https://auth.example.com/']);
    expect(printed).toEqual({
      kind: 'AuthConfig',
      version: 'v3',
      definition: {
        mode: {
          webhook: {
            method: 'GET',
            url: { value: 'https://auth.example.com/webhook' },
            customHeadersConfig: {
              headers: { forward: ['Authorization', 'Cookie', 'X-Hasura-Role', 'Sec-Fetch-Site', 'X-Request-Id'] },
            },
          },
        },
      },
    });
  });

  it('points DDN at the JWKS, with the namespace as a JSON pointer and the settings of this deploy', async () => {
    const printed = await authConfig(['--mode', 'jwt', '--url', 'http://auth:3000'], {
      JWT_CLAIMS_NAMESPACE: 'https://example.com/~claims',
      JWT_CLAIMS_FORMAT: 'stringified_json',
      JWT_AUDIENCE: 'my-api',
      JWT_ISSUER: 'https://auth.example.com',
    });
    expect(printed.definition.mode).toEqual({
      jwt: {
        claimsConfig: { namespace: { claimsFormat: 'StringifiedJson', location: '/https:~1~1example.com~1~0claims' } },
        tokenLocation: { type: 'BearerAuthorization' },
        key: { jwkFromUrl: 'http://auth:3000/.well-known/jwks.json' },
        audience: ['my-api'],
        issuer: 'https://auth.example.com',
      },
    });
  });

  it('names the variable an HS256 secret is read from, and never prints the secret', async () => {
    const secret = 'a shared secret of at least thirty-two bytes';
    const { code, stdout } = await cli(['hasura-ddn-auth-config', '--mode', 'jwt', '--url', 'http://auth:3000'], {
      JWT_ALGORITHM: 'HS256',
      JWT_SECRET: secret,
    });
    expect(code).toBe(0);
    expect(stdout).not.toContain(secret);
    expect((parseYaml(stdout) as { definition: { mode: { jwt: { key: unknown } } } }).definition.mode.jwt.key).toEqual({
      fixed: { algorithm: 'HS256', key: { valueFromEnv: 'AUTH_JWT_SECRET' } },
    });
  });

  it.each([
    [['--mode', 'webhook']],
    [['--mode', 'both', '--url', 'https://auth.example.com']],
    [['--mode', 'jwt', '--url', 'auth.example.com']],
    [['--mode', 'jwt', '--url', 'ftp://auth.example.com']],
  ])('refuses %j with exit code 2 and says what it needs', async (argv) => {
    const { code, stdout, stderr } = await cli(['hasura-ddn-auth-config', ...argv]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/--mode webhook or --mode jwt, and --url/);
  });
});
