import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { ConfigError, loadConfig, type Env } from '../../src/config';

/** The ConfigError that loading this environment throws. */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

const HEX_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
describe('loadConfig', () => {
  describe('defaults', () => {
    it('gives the documented defaults for an empty environment', () => {
      const config = loadConfig({});
      expect(config.port).toBe(3000);
      expect(config.host).toBeUndefined();
      expect(config.logLevel).toBe('info');
      expect(config.database).toEqual({ kind: 'pglite', dataDir: './data' });
      expect(config.passwords).toEqual({ bcryptCost: 12, minLength: 8 });
      expect(config.sessions.absoluteTimeoutSeconds).toBe(30 * 86400);
      expect(config.sessions.idleTimeoutSeconds).toBe(7 * 86400);
      expect(config.sessions.touchIntervalSeconds).toBe(60);
      expect(config.sessions.endOnRoleChange).toBe(true);
      expect(config.webhook.anonymousRole).toBe('anonymous');
      expect(config.webhook.maxAgeSeconds).toBe(60);
      expect(config.jsonBodyLimitBytes).toBe(64 * 1024);
      expect(config.webhook.bodyLimitBytes).toBe(10 * 1024 * 1024);
      expect(config.admin).toEqual({ secret: null, bootstrap: null });
    });

    it('ignores variables it does not know', () => {
      expect(loadConfig({ HOME: '/root', LANG: 'C.UTF-8' }).port).toBe(3000);
    });
  });

  describe('the database', () => {
    it('switches to PostgreSQL when DATABASE_URL is set', () => {
      const config = loadConfig({ DATABASE_URL: 'postgres://app:secret@db.example.com:5432/auth' });
      expect(config.database).toEqual({
        kind: 'postgres',
        url: 'postgres://app:secret@db.example.com:5432/auth',
        ssl: 'disable',
        poolMax: 10,
        statementTimeoutMs: 10_000,
        acquireTimeoutMs: 5_000,
      });
    });

    it('accepts the postgresql:// scheme and the SSL and pool settings', () => {
      const config = loadConfig({
        DATABASE_URL: 'postgresql://db.example.com/auth',
        DATABASE_SSL: 'verify-full',
        DATABASE_POOL_MAX: '25',
      });
      expect(config.database).toEqual({
        kind: 'postgres',
        url: 'postgresql://db.example.com/auth',
        ssl: 'verify-full',
        poolMax: 25,
        statementTimeoutMs: 10_000,
        acquireTimeoutMs: 5_000,
      });
    });

    it('keeps PGlite in DATA_DIR when DATABASE_URL is unset', () => {
      expect(loadConfig({ DATA_DIR: '/var/lib/auth' }).database).toEqual({ kind: 'pglite', dataDir: '/var/lib/auth' });
    });

    it('refuses a DATABASE_URL that is not PostgreSQL', () => {
      const error = configErrorFor({ DATABASE_URL: 'mysql://db.example.com/auth' });
      expect(error.problems).toEqual([expect.stringMatching(/^DATABASE_URL/)]);
    });
  });

  describe('anonymous access', () => {
    it('turns anonymous access off when ANONYMOUS_ROLE is empty', () => {
      expect(loadConfig({ ANONYMOUS_ROLE: '' }).webhook.anonymousRole).toBeNull();
    });

    it('uses another role name when given one', () => {
      expect(loadConfig({ ANONYMOUS_ROLE: 'public' }).webhook.anonymousRole).toBe('public');
    });

    it.each(['user', 'admin'])('refuses %s as the anonymous role, which would hand its rights to everyone', (role) => {
      expect(configErrorFor({ ANONYMOUS_ROLE: role }).problems).toEqual([expect.stringMatching(/^ANONYMOUS_ROLE/)]);
    });

    it('refuses a role name Hasura would not accept', () => {
      expect(configErrorFor({ ANONYMOUS_ROLE: 'Not A Role' }).problems).toEqual([
        expect.stringMatching(/^ANONYMOUS_ROLE/),
      ]);
    });
  });

  describe('bad values', () => {
    it('lists every bad key at once in one ConfigError', () => {
      const error = configErrorFor({
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'not a url',
        BCRYPT_COST: '99',
        PASSWORD_MIN_LENGTH: '0',
        SESSION_IDLE_TIMEOUT_SECONDS: '10',
        SESSIONS_EXPIRE_ON_ROLE_CHANGE: 'maybe',
        ANONYMOUS_ROLE: 'Bad Role',
        ADMIN_SECRET: 'short',
        ADMIN_USERNAME: 'admin',
      });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.name).toBe('ConfigError');
      const keys = [
        'PORT',
        'LOG_LEVEL',
        'DATABASE_URL',
        'BCRYPT_COST',
        'PASSWORD_MIN_LENGTH',
        'SESSION_IDLE_TIMEOUT_SECONDS',
        'SESSIONS_EXPIRE_ON_ROLE_CHANGE',
        'ANONYMOUS_ROLE',
        'ADMIN_SECRET',
        'ADMIN_PASSWORD',
      ];
      for (const key of keys) {
        expect(error.problems.some((problem) => problem.includes(key))).toBe(true);
        expect(error.message).toContain(key);
      }
      expect(error.problems).toHaveLength(keys.length);
    });

    it.each([
      ['PORT', '65536'],
      ['PORT', '3000.5'],
      ['BCRYPT_COST', '3'],
      ['PASSWORD_MIN_LENGTH', '73'],
      ['SESSION_ABSOLUTE_TIMEOUT_SECONDS', '59'],
      ['WEBHOOK_MAX_AGE_SECONDS', '-1'],
      ['JSON_BODY_LIMIT_BYTES', '100'],
      ['DATABASE_SSL', 'require'],
    ])('refuses %s=%s', (key, value) => {
      expect(configErrorFor({ [key]: value }).problems).toEqual([expect.stringMatching(new RegExp(`^${key}`))]);
    });

    it('asks for ADMIN_USERNAME and ADMIN_PASSWORD together', () => {
      expect(configErrorFor({ ADMIN_PASSWORD: 'a long enough password' }).problems).toEqual([
        expect.stringContaining('ADMIN_USERNAME'),
      ]);
      const config = loadConfig({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'a long enough password' });
      expect(config.admin.bootstrap).toEqual({ username: 'root', password: 'a long enough password' });
    });
  });

  describe('settings that contradict each other', () => {
    it.each([
      ['60', '60'],
      ['120', '60'],
    ])('refuses SESSION_TOUCH_INTERVAL_SECONDS=%s with SESSION_IDLE_TIMEOUT_SECONDS=%s', (touch, idle) => {
      expect(
        configErrorFor({ SESSION_TOUCH_INTERVAL_SECONDS: touch, SESSION_IDLE_TIMEOUT_SECONDS: idle }).problems,
      ).toEqual([
        expect.stringMatching(/^SESSION_TOUCH_INTERVAL_SECONDS \(\d+\) must be less than SESSION_IDLE_TIMEOUT_SECONDS/),
      ]);
    });

    it('accepts a touch interval one second below the idle timeout', () => {
      const config = loadConfig({ SESSION_TOUCH_INTERVAL_SECONDS: '59', SESSION_IDLE_TIMEOUT_SECONDS: '60' });
      expect(config.sessions).toMatchObject({ touchIntervalSeconds: 59, idleTimeoutSeconds: 60 });
    });

    it('refuses an ADMIN_PASSWORD that the password policy would refuse, without repeating it', () => {
      const problems = configErrorFor({
        ADMIN_USERNAME: 'root',
        ADMIN_PASSWORD: 'short-pw',
        PASSWORD_MIN_LENGTH: '12',
      }).problems;
      expect(problems).toEqual([
        expect.stringMatching(/^ADMIN_PASSWORD: The password must be at least 12 characters long/),
      ]);
      expect(problems.join('\n')).not.toContain('short-pw');
    });

    it.each([
      ['a common password', 'root', 'password123'],
      ['a password that contains ADMIN_USERNAME', 'operator', 'the operator password'],
    ])('refuses %s as ADMIN_PASSWORD', (_label, username, password) => {
      const problems = configErrorFor({ ADMIN_USERNAME: username, ADMIN_PASSWORD: password }).problems;
      expect(problems).toEqual([expect.stringMatching(/^ADMIN_PASSWORD: /)]);
      expect(problems.join('\n')).not.toContain(password);
    });
  });

  describe('browser sessions', () => {
    it('defaults to a Lax cookie, Secure only over HTTPS, host-only, no CORS origin and no trusted proxy', () => {
      const config = loadConfig({});
      expect(config.cookie).toEqual({ sameSite: 'lax', alwaysSecure: false, domain: null });
      expect(config.corsOrigins).toEqual([]);
      expect(config.trustProxy).toBe(false);
    });

    it('refuses COOKIE_SAME_SITE=None without COOKIE_SECURE=true, and accepts it with', () => {
      expect(configErrorFor({ COOKIE_SAME_SITE: 'None' }).problems).toEqual([
        expect.stringMatching(/^COOKIE_SAME_SITE=None needs COOKIE_SECURE=true/),
      ]);
      expect(loadConfig({ COOKIE_SAME_SITE: 'None', COOKIE_SECURE: 'true' }).cookie.sameSite).toBe('none');
    });

    it('refuses COOKIE_DOMAIN without COOKIE_SECURE=true, and accepts it with', () => {
      expect(configErrorFor({ COOKIE_DOMAIN: 'example.com' }).problems).toEqual([
        expect.stringMatching(/^COOKIE_DOMAIN needs COOKIE_SECURE=true/),
      ]);
      expect(loadConfig({ COOKIE_DOMAIN: 'example.com', COOKIE_SECURE: 'true' }).cookie.domain).toBe('example.com');
    });

    it('reads CORS_ORIGINS as a list of exact origins', () => {
      expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://127.0.0.1:5173' }).corsOrigins).toEqual([
        'https://app.example.com',
        'http://127.0.0.1:5173',
      ]);
    });

    it.each(['*', 'https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'ftp://example.com'])(
      'refuses CORS_ORIGINS=%s',
      (value) => {
        expect(configErrorFor({ CORS_ORIGINS: value }).problems).toEqual([expect.stringMatching(/^CORS_ORIGINS\.0: /)]);
      },
    );

    it('reads TRUST_PROXY as a hop count or a list of addresses and subnets', () => {
      expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
      expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback, ::1' }).trustProxy).toEqual([
        '10.0.0.0/8',
        'loopback',
        '::1',
      ]);
    });

    it.each(['true', '10.0.0.0/33', 'proxy.example.com'])('refuses TRUST_PROXY=%s', (value) => {
      expect(configErrorFor({ TRUST_PROXY: value }).problems).toEqual([expect.stringMatching(/^TRUST_PROXY/)]);
    });
  });

  describe('parsing', () => {
    it('reads numbers from strings', () => {
      const config = loadConfig({ PORT: '8080', BCRYPT_COST: '10', SESSION_TOUCH_INTERVAL_SECONDS: '0' });
      expect(config.port).toBe(8080);
      expect(config.passwords.bcryptCost).toBe(10);
      expect(config.sessions.touchIntervalSeconds).toBe(0);
    });

    it('counts empty strings as unset', () => {
      const config = loadConfig({
        PORT: '',
        DATABASE_URL: '',
        BCRYPT_COST: '',
        LOG_LEVEL: '',
        ADMIN_SECRET: '',
        ADMIN_USERNAME: '',
        ADMIN_PASSWORD: '',
        SESSIONS_EXPIRE_ON_ROLE_CHANGE: '',
      });
      expect(config.port).toBe(3000);
      expect(config.database.kind).toBe('pglite');
      expect(config.passwords.bcryptCost).toBe(12);
      expect(config.logLevel).toBe('info');
      expect(config.admin).toEqual({ secret: null, bootstrap: null });
      expect(config.sessions.endOnRoleChange).toBe(true);
    });

    it.each([
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ])('reads the boolean %s as %s', (value, expected) => {
      expect(loadConfig({ SESSIONS_EXPIRE_ON_ROLE_CHANGE: value }).sessions.endOnRoleChange).toBe(expected);
    });

    it.each(['maybe', 'TRUE ', '2', 'on'])('refuses the boolean %s', (value) => {
      expect(configErrorFor({ SESSIONS_EXPIRE_ON_ROLE_CHANGE: value }).problems).toEqual([
        expect.stringMatching(/^SESSIONS_EXPIRE_ON_ROLE_CHANGE/),
      ]);
    });
  });

  describe('rate limits and proxies', () => {
    it('limits by default, and trusts no proxy', () => {
      const config = loadConfig({});
      expect(config.trustProxy).toBe(false);
      expect(config.rateLimits).toEqual({
        loginPerIp: { attempts: 100, windowSeconds: 600 },
        loginFailuresPerUsername: { attempts: 50, windowSeconds: 3600 },
        loginFailuresPerUsernameAndIp: { attempts: 10, windowSeconds: 900 },
        signupPerIp: { attempts: 20, windowSeconds: 3600 },
        passwordChangePerIp: { attempts: 20, windowSeconds: 3600 },
        passwordResetPerIp: { attempts: 20, windowSeconds: 3600 },
        passwordResetPerAccount: { attempts: 5, windowSeconds: 3600 },
        emailVerificationPerIp: { attempts: 30, windowSeconds: 3600 },
        emailVerificationPerUser: { attempts: 5, windowSeconds: 3600 },
      });
    });

    it('reads a limit as attempts/seconds, and off as no limit', () => {
      const config = loadConfig({ LOGIN_LIMIT_PER_IP: '5/60', SIGNUP_LIMIT_PER_IP: 'off' });
      expect(config.rateLimits.loginPerIp).toEqual({ attempts: 5, windowSeconds: 60 });
      expect(config.rateLimits.signupPerIp).toBeNull();
    });

    it.each(['10', '10/', '0/60', '10/0', 'ten/60', '-1/60', 'none'])('refuses the limit %p', (value) => {
      expect(configErrorFor({ LOGIN_LIMIT_PER_IP: value }).problems).toEqual([
        expect.stringMatching(/^LOGIN_LIMIT_PER_IP/),
      ]);
    });

    it.each([
      ['1', 1],
      ['10.0.0.0/8, 192.168.1.7', ['10.0.0.0/8', '192.168.1.7']],
      ['loopback,uniquelocal,fd00::/8', ['loopback', 'uniquelocal', 'fd00::/8']],
    ])('reads TRUST_PROXY=%p', (value, expected) => {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
    });

    it.each(['true', '*', '10.0.0.0/33', 'proxy.example.com', '1.2.3.4/8/8'])('refuses TRUST_PROXY=%p', (value) => {
      expect(configErrorFor({ TRUST_PROXY: value }).problems).toEqual([expect.stringMatching(/^TRUST_PROXY/)]);
    });
  });

  describe('the result', () => {
    it('is frozen, nested objects included', () => {
      const config = loadConfig({ DATABASE_URL: 'postgres://db.example.com/auth' });
      expect(Object.isFrozen(config)).toBe(true);
      for (const part of [config.database, config.passwords, config.sessions, config.webhook, config.admin]) {
        expect(Object.isFrozen(part)).toBe(true);
      }
      expect(() => {
        (config as { port: number }).port = 1;
      }).toThrow(TypeError);
      expect(() => {
        (config.sessions as { idleTimeoutSeconds: number }).idleTimeoutSeconds = 1;
      }).toThrow(TypeError);
      expect(config.port).toBe(3000);
      expect(config.sessions.idleTimeoutSeconds).toBe(7 * 86400);
    });

    it('does not change the environment object it was given', () => {
      const env = { PORT: '', ANONYMOUS_ROLE: '' };
      loadConfig(env);
      expect(env).toEqual({ PORT: '', ANONYMOUS_ROLE: '' });
    });
  });
  describe('JWT mode', () => {
    it('defaults to ES256, 15-minute access tokens, a 10 s reuse grace and a JWKS max-age of 300 s', () => {
      expect(loadConfig({}).jwt).toEqual({
        signing: { kind: 'generated', algorithm: 'ES256' },
        issuer: 'hasura-auth-webhook',
        audience: 'hasura',
        claimsNamespace: 'https://hasura.io/jwt/claims',
        claimsFormat: 'json',
        accessTokenLifetimeSeconds: 900,
        refreshTokenReuseGraceSeconds: 10,
        jwksMaxAgeSeconds: 300,
      });
    });

    it('takes an HS256 secret of 32 bytes', () => {
      const secret = 'x'.repeat(32);
      expect(loadConfig({ JWT_ALGORITHM: 'HS256', JWT_SECRET: secret }).jwt.signing).toEqual({
        kind: 'shared-secret',
        secret,
      });
    });

    it('refuses an HS256 secret of 31 bytes, as Hasura would, without repeating it', () => {
      const secret = 'y'.repeat(31);
      const error = configErrorFor({ JWT_ALGORITHM: 'HS256', JWT_SECRET: secret });
      expect(error.problems).toEqual(['JWT_SECRET: must be at least 32 bytes']);
      expect(error.message).not.toContain(secret);
    });

    it('refuses HS256 without a secret, and a secret beside an asymmetric algorithm', () => {
      expect(configErrorFor({ JWT_ALGORITHM: 'HS256' }).problems).toEqual([
        'JWT_SECRET: required when JWT_ALGORITHM is HS256',
      ]);
      expect(configErrorFor({ JWT_SECRET: 'z'.repeat(40) }).problems).toEqual([
        expect.stringMatching(/^JWT_SECRET: only HS256 uses a shared secret/),
      ]);
    });

    it.each(['JWT_ISSUER', 'JWT_AUDIENCE'])(
      'refuses a %s with a colon that is not a URI, which Hasura would refuse',
      (key) => {
        expect(configErrorFor({ [key]: 'not:a uri' }).problems).toEqual([expect.stringMatching(new RegExp(`^${key}`))]);
        expect(() => loadConfig({ [key]: 'https://auth.example.com' })).not.toThrow();
      },
    );

    it('refuses a reuse grace window longer than a minute', () => {
      expect(configErrorFor({ REFRESH_TOKEN_REUSE_GRACE_SECONDS: '61' }).problems).toEqual([
        expect.stringMatching(/^REFRESH_TOKEN_REUSE_GRACE_SECONDS/),
      ]);
    });
  });

  describe('JWT signing keys from the environment', () => {
    const pkcs8 = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const privateJwk = (key: KeyObject) => JSON.stringify(key.export({ format: 'jwk' }));
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const nextEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    /** The signing a configuration with keys from the environment gives; fails the test for any other kind. */
    const environmentSigning = (env: Env) => {
      const { signing } = loadConfig(env).jwt;
      if (signing.kind !== 'environment') throw new Error(`expected keys from the environment, got ${signing.kind}`);
      return signing;
    };
    const spkiOf = (key: KeyObject | null | undefined) =>
      key
        ? (key.type === 'private' ? createPublicKey(key) : key)
            .export({ type: 'spki', format: 'der' })
            .toString('base64')
        : key;

    /** Every piece of a key's text long enough to matter: its PEM lines, and its JWK's values. */
    function materialOf(key: KeyObject): string[] {
      const pemLines = pkcs8(key)
        .split('\n')
        .filter((line) => line.length > 0 && !line.startsWith('-----'));
      const jwkValues = Object.values(key.export({ format: 'jwk' })).filter(
        (value): value is string => typeof value === 'string' && value.length > 8,
      );
      return [...pemLines, ...jwkValues];
    }

    function expectNoMaterialOf(error: ConfigError, ...keys: KeyObject[]) {
      const text = `${error.message}\n${error.problems.join('\n')}`;
      for (const key of keys) for (const piece of materialOf(key)) expect(text).not.toContain(piece);
    }

    it.each([
      ['a PKCS#8 PEM', pkcs8(ec.privateKey)],
      ['a PKCS#8 PEM flattened to one line with literal \\n', pkcs8(ec.privateKey).replace(/\n/g, '\\n')],
      ['a private JWK', privateJwk(ec.privateKey)],
    ])('takes JWT_PRIVATE_KEY as %s', (_label, text) => {
      const signing = environmentSigning({ JWT_PRIVATE_KEY: text });
      expect(signing.algorithm).toBe('ES256');
      expect(spkiOf(signing.privateKey)).toBe(spkiOf(ec.publicKey));
      expect(signing.nextPrivateKey).toBeNull();
    });

    it('takes an RSA key for RS256, and a next key beside the current one', () => {
      const next = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const signing = environmentSigning({
        JWT_ALGORITHM: 'RS256',
        JWT_PRIVATE_KEY: pkcs8(rsa.privateKey),
        JWT_NEXT_PRIVATE_KEY: privateJwk(next.privateKey),
      });
      expect(signing.algorithm).toBe('RS256');
      expect(spkiOf(signing.privateKey)).toBe(spkiOf(rsa.publicKey));
      expect(spkiOf(signing.nextPrivateKey)).toBe(spkiOf(next.publicKey));
    });

    it('gives the keys in a frozen configuration that can still sign with them', () => {
      const signing = environmentSigning({ JWT_PRIVATE_KEY: pkcs8(ec.privateKey) });
      const data = Buffer.from('a token');
      expect(verify('sha256', data, ec.publicKey, sign('sha256', data, signing.privateKey))).toBe(true);
    });

    const ecJwk = ec.privateKey.export({ format: 'jwk' });
    const { d: _d, ...publicEcJwk } = ecJwk;
    it.each([
      ['text that is no key', 'not a key at all', /^JWT_PRIVATE_KEY: must be a PKCS#8 PEM/],
      [
        'a PEM whose body does not parse',
        '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----',
        /^JWT_PRIVATE_KEY: is not a readable PKCS#8 private key$/,
      ],
      ['JSON that does not parse', '{"kty":"EC",', /^JWT_PRIVATE_KEY: is not valid JSON/],
      [
        'a public PEM',
        ec.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        /^JWT_PRIVATE_KEY: is a public key/,
      ],
      ['a public JWK', JSON.stringify(publicEcJwk), /^JWT_PRIVATE_KEY: is a public key/],
      [
        'a SEC1 PEM, which is not PKCS#8',
        ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string,
        /^JWT_PRIVATE_KEY: must be PKCS#8 .*not EC PRIVATE KEY/,
      ],
      [
        'an EC key on P-384',
        pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey),
        /^JWT_PRIVATE_KEY: must be an EC P-256 key \(ES256\) or an RSA key \(RS256\)$/,
      ],
      ['an Ed25519 key', pkcs8(generateKeyPairSync('ed25519').privateKey), /^JWT_PRIVATE_KEY: must be an EC P-256 key/],
    ])('refuses as JWT_PRIVATE_KEY %s, without quoting it', (_label, text, problem) => {
      const error = configErrorFor({ JWT_PRIVATE_KEY: text });
      expect(error.problems).toEqual([expect.stringMatching(problem)]);
      for (const line of text.split('\n').filter((each) => each.length > 8 && !each.startsWith('-----'))) {
        expect(error.message).not.toContain(line);
      }
      expectNoMaterialOf(error, ec.privateKey);
    });

    it('refuses an RSA key of fewer than 2048 bits', () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
      const error = configErrorFor({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: pkcs8(weak) });
      expect(error.problems).toEqual(['JWT_PRIVATE_KEY: is an RSA key of 1024 bits: use 2048 or more']);
      expectNoMaterialOf(error, weak);
    });

    it.each([
      [
        'an RSA key with ES256',
        'ES256',
        rsa.privateKey,
        'JWT_PRIVATE_KEY: is a key for RS256 (RSA), but JWT_ALGORITHM is ES256',
      ],
      [
        'a P-256 key with RS256',
        'RS256',
        ec.privateKey,
        'JWT_PRIVATE_KEY: is a key for ES256 (EC P-256), but JWT_ALGORITHM is RS256',
      ],
    ])('refuses %s', (_label, algorithm, key, problem) => {
      const error = configErrorFor({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: pkcs8(key) });
      expect(error.problems).toEqual([problem]);
      expectNoMaterialOf(error, key);
    });

    it('refuses a next key of another algorithm than the current one', () => {
      const error = configErrorFor({
        JWT_PRIVATE_KEY: pkcs8(ec.privateKey),
        JWT_NEXT_PRIVATE_KEY: pkcs8(rsa.privateKey),
      });
      expect(error.problems).toEqual(['JWT_NEXT_PRIVATE_KEY: is a key for RS256 (RSA), but JWT_ALGORITHM is ES256']);
      expectNoMaterialOf(error, ec.privateKey, rsa.privateKey);
    });

    it('refuses either key with HS256, which signs with JWT_SECRET', () => {
      const error = configErrorFor({
        JWT_ALGORITHM: 'HS256',
        JWT_SECRET: 'a shared secret of 32 bytes, or more',
        JWT_PRIVATE_KEY: pkcs8(ec.privateKey),
        JWT_NEXT_PRIVATE_KEY: pkcs8(nextEc.privateKey),
      });
      expect(error.problems).toEqual([
        'JWT_PRIVATE_KEY: HS256 signs with JWT_SECRET; a private key is for JWT_ALGORITHM ES256 or RS256',
        'JWT_NEXT_PRIVATE_KEY: HS256 signs with JWT_SECRET; a private key is for JWT_ALGORITHM ES256 or RS256',
      ]);
      expectNoMaterialOf(error, ec.privateKey, nextEc.privateKey);
    });

    it('refuses JWT_NEXT_PRIVATE_KEY without JWT_PRIVATE_KEY', () => {
      const error = configErrorFor({ JWT_NEXT_PRIVATE_KEY: pkcs8(nextEc.privateKey) });
      expect(error.problems).toEqual([
        'JWT_NEXT_PRIVATE_KEY: needs JWT_PRIVATE_KEY, the key that signs until the next one takes over',
      ]);
      expectNoMaterialOf(error, nextEc.privateKey);
    });

    it('refuses a next key that is the current one, even written another way', () => {
      const error = configErrorFor({
        JWT_PRIVATE_KEY: pkcs8(ec.privateKey),
        JWT_NEXT_PRIVATE_KEY: privateJwk(ec.privateKey),
      });
      expect(error.problems).toEqual([
        'JWT_NEXT_PRIVATE_KEY: is the same key as JWT_PRIVATE_KEY; give the new key to rotate to',
      ]);
      expectNoMaterialOf(error, ec.privateKey);
    });

    it('refuses a bad next key on its own name', () => {
      const error = configErrorFor({ JWT_PRIVATE_KEY: pkcs8(ec.privateKey), JWT_NEXT_PRIVATE_KEY: 'not a key' });
      expect(error.problems).toEqual([expect.stringMatching(/^JWT_NEXT_PRIVATE_KEY: must be a PKCS#8 PEM/)]);
      expectNoMaterialOf(error, ec.privateKey);
    });
  });
});

describe('accounts and mail settings', () => {
  it('open signup, links to localhost in development, and no SMTP: mail is logged', () => {
    const config = loadConfig({ PORT: '4000' });
    expect(config.accounts.signupOpen).toBe(true);
    expect(config.mail).toMatchObject({ publicUrl: 'http://localhost:4000', smtpUrl: null, logInsteadOfSending: true });
  });

  it('in production, builds no link without PUBLIC_URL and never logs mail', () => {
    const config = loadConfig({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: HEX_KEY });
    expect(config.mail).toMatchObject({ publicUrl: null, logInsteadOfSending: false });
  });

  it('takes PUBLIC_URL without its trailing slash, and SMTP_URL as smtp:// or smtps://', () => {
    const config = loadConfig({
      PUBLIC_URL: 'https://example.com/auth/',
      SMTP_URL: 'smtps://u:p@mail.example.com:465',
      SIGNUP: 'closed',
    });
    expect(config.mail).toMatchObject({
      publicUrl: 'https://example.com/auth',
      smtpUrl: 'smtps://u:p@mail.example.com:465',
    });
    expect(config.accounts.signupOpen).toBe(false);
  });

  it.each([
    ['PUBLIC_URL', 'auth.example.com'],
    ['PUBLIC_URL', 'https://auth.example.com/?x=1'],
    ['PUBLIC_URL', 'ftp://auth.example.com'],
    ['SMTP_URL', 'http://mail.example.com'],
    ['SMTP_URL', 'mail.example.com:25'],
    ['SIGNUP', 'invite-only'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});

describe('identity providers', () => {
  const google = {
    id: 'google',
    type: 'oidc',
    name: 'Google',
    issuer: 'https://accounts.google.com',
    clientId: 'client',
    clientSecret: 'secret',
  };
  const providersOf = (entries: unknown) =>
    loadConfig({ IDENTITY_PROVIDERS: JSON.stringify(entries) }).identityProviders;

  it('has none by default, and returns browsers to CORS_ORIGINS and PUBLIC_URL', () => {
    expect(loadConfig({}).identityProviders.providers).toEqual([]);
    expect(
      loadConfig({ CORS_ORIGINS: 'https://app.example.com', PUBLIC_URL: 'https://auth.example.com/' }).identityProviders
        .allowedReturnUrls,
    ).toEqual(['https://app.example.com', 'https://auth.example.com']);
  });

  it('fills in the scopes, asks for openid always, and puts GitHub at github.com', () => {
    const { providers } = providersOf([
      google,
      { ...google, id: 'keycloak', scopes: ['email'], linkByVerifiedEmail: true },
      { id: 'github', type: 'github', name: 'GitHub', clientId: 'c', clientSecret: 's' },
    ]);
    expect(providers).toEqual([
      expect.objectContaining({ id: 'google', scopes: ['openid', 'email', 'profile'], linkByVerifiedEmail: false }),
      expect.objectContaining({ id: 'keycloak', scopes: ['openid', 'email'], linkByVerifiedEmail: true }),
      expect.objectContaining({ id: 'github', issuer: 'https://github.com', scopes: ['read:user', 'user:email'] }),
    ]);
  });

  it('reads the same JSON from IDENTITY_PROVIDERS_FILE', () => {
    const path = `${tmpdir()}/providers-${process.pid}.json`;
    writeFileSync(path, JSON.stringify([google]));
    try {
      expect(loadConfig({ IDENTITY_PROVIDERS_FILE: path }).identityProviders.providers[0]?.id).toBe('google');
    } finally {
      rmSync(path);
    }
    expect(configErrorFor({ IDENTITY_PROVIDERS_FILE: `${path}.missing` }).problems).toEqual([
      'IDENTITY_PROVIDERS_FILE: cannot be read (ENOENT)',
    ]);
  });

  it.each([
    ['not JSON', '[{', /^IDENTITY_PROVIDERS: is not valid JSON/],
    ['no issuer for OpenID Connect', [{ ...google, issuer: undefined }], /^IDENTITY_PROVIDERS\.0\.issuer: is required/],
    [
      'no secret for GitHub',
      [{ id: 'gh', type: 'github', name: 'GitHub', clientId: 'c' }],
      /clientSecret: is required by GitHub/,
    ],
    ['an unknown field', [{ ...google, clientSecrt: 'typo' }], /^IDENTITY_PROVIDERS\.0: Unrecognized key/],
    ['an id used twice', [google, google], /^IDENTITY_PROVIDERS\.1\.id: is used twice/],
    ['an id that is a path of /auth', [{ ...google, id: 'exchange' }], /^IDENTITY_PROVIDERS\.0\.id: must not be/],
    [
      'an issuer with credentials',
      [{ ...google, issuer: 'https://u:p@idp.example' }],
      /issuer: must be the issuer URL/,
    ],
  ])('refuses %s, saying where', (_case, entries, problem) => {
    const text = typeof entries === 'string' ? entries : JSON.stringify(entries);
    expect(configErrorFor({ IDENTITY_PROVIDERS: text }).problems).toEqual([expect.stringMatching(problem)]);
  });

  it('needs PUBLIC_URL and https issuers in production', () => {
    // (The second-factor key production needs is another test's subject.)
    const problems = configErrorFor({
      NODE_ENV: 'production',
      IDENTITY_PROVIDERS: JSON.stringify([{ ...google, issuer: 'http://keycloak:8080/realms/app' }]),
    }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'IDENTITY_PROVIDERS: needs PUBLIC_URL, the callback URLs start with it',
        'IDENTITY_PROVIDERS: google: issuer must be https in production',
      ]),
    );
  });
});

describe('second factors', () => {
  it('take MFA_ENCRYPTION_KEY as 64 hex digits or base64 of 32 bytes', () => {
    expect(loadConfig({ MFA_ENCRYPTION_KEY: HEX_KEY }).secondFactors.encryptionKey?.export().toString('hex')).toBe(
      HEX_KEY,
    );
    const base64 = Buffer.from(HEX_KEY, 'hex').toString('base64');
    expect(loadConfig({ MFA_ENCRYPTION_KEY: base64 }).secondFactors.encryptionKey?.export().toString('hex')).toBe(
      HEX_KEY,
    );
    for (const bad of ['too short', HEX_KEY.slice(2), `${HEX_KEY}00`, Buffer.alloc(31).toString('base64')]) {
      expect(configErrorFor({ MFA_ENCRYPTION_KEY: bad }).problems).toEqual([
        expect.stringMatching(/^MFA_ENCRYPTION_KEY: must be 32 random bytes/),
      ]);
    }
  });

  it('generate the key outside production, and need it in production', () => {
    expect(loadConfig({}).secondFactors.encryptionKey).toBeNull();
    expect(configErrorFor({ NODE_ENV: 'production' }).problems).toEqual([
      expect.stringMatching(/^MFA_ENCRYPTION_KEY: required in production/),
    ]);
  });

  it('take MFA_REQUIRED_ROLES as role names', () => {
    expect(loadConfig({}).secondFactors.requiredForRoles).toEqual([]);
    expect(loadConfig({ MFA_REQUIRED_ROLES: 'admin, editor' }).secondFactors.requiredForRoles).toEqual([
      'admin',
      'editor',
    ]);
    expect(configErrorFor({ MFA_REQUIRED_ROLES: 'admin,Not A Role' }).problems).toEqual([
      expect.stringMatching(/^MFA_REQUIRED_ROLES\.1: must be role names/),
    ]);
  });

  it('give passkeys PUBLIC_URL’s host and origin, or localhost and this port, unless told otherwise', () => {
    expect(loadConfig({ PORT: '4000' }).passkeys).toEqual({
      relyingPartyId: 'localhost',
      origins: ['http://localhost:4000'],
      relyingPartyName: 'Hasura Auth',
    });
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.com/base/' }).passkeys).toMatchObject({
      relyingPartyId: 'auth.example.com',
      origins: ['https://auth.example.com'],
    });
    const told = loadConfig({
      PUBLIC_URL: 'https://auth.example.com',
      WEBAUTHN_RP_ID: 'example.com',
      WEBAUTHN_ORIGINS: 'https://app.example.com, https://auth.example.com',
    });
    expect(told.passkeys).toMatchObject({
      relyingPartyId: 'example.com',
      origins: ['https://app.example.com', 'https://auth.example.com'],
    });
    expect(configErrorFor({ WEBAUTHN_ORIGINS: 'https://app.example.com/path' }).problems).toEqual([
      expect.stringMatching(/^WEBAUTHN_ORIGINS\.0: must be an origin/),
    ]);
    expect(configErrorFor({ WEBAUTHN_RP_ID: 'https://example.com' }).problems).toEqual([
      expect.stringMatching(/^WEBAUTHN_RP_ID: must be a domain/),
    ]);
  });

  it('name the issuer that authenticator apps show after PRODUCT_NAME', () => {
    expect(loadConfig({ PRODUCT_NAME: 'Acme' }).secondFactors.issuer).toBe('Acme');
  });
});

describe('the OpenID Provider', () => {
  it('is on when PUBLIC_URL is an origin and tokens are signed with a key pair, with its issuer there', () => {
    expect(loadConfig({}).openIdProvider).toBeNull();
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.com/' }).openIdProvider).toEqual({
      issuer: 'https://auth.example.com',
      logoUrl: null,
      accessTokenLifetimeSeconds: 600,
      refreshTokenLifetimeSeconds: 30 * 86400,
    });
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.com', OIDC_PROVIDER: 'off' }).openIdProvider).toBeNull();
    // Where it cannot work, it is off unless asked for.
    expect(loadConfig({ PUBLIC_URL: 'https://example.com/auth' }).openIdProvider).toBeNull();
    expect(
      loadConfig({ PUBLIC_URL: 'https://auth.example.com', JWT_ALGORITHM: 'HS256', JWT_SECRET: 'x'.repeat(32) })
        .openIdProvider,
    ).toBeNull();
  });

  it('says why it cannot be turned on', () => {
    expect(configErrorFor({ OIDC_PROVIDER: 'on' }).problems).toEqual([
      'OIDC_PROVIDER: needs PUBLIC_URL, which is its issuer',
    ]);
    expect(configErrorFor({ OIDC_PROVIDER: 'on', PUBLIC_URL: 'https://example.com/auth' }).problems).toEqual([
      'OIDC_PROVIDER: PUBLIC_URL must be an origin without a path, such as https://auth.example.com',
    ]);
    expect(
      configErrorFor({
        OIDC_PROVIDER: 'on',
        PUBLIC_URL: 'https://auth.example.com',
        JWT_ALGORITHM: 'HS256',
        JWT_SECRET: 'x'.repeat(32),
      }).problems,
    ).toEqual(['OIDC_PROVIDER: apps verify its ID tokens with public keys: set JWT_ALGORITHM to ES256 or RS256']);
    expect(configErrorFor({ LOGO_URL: 'javascript:alert(1)' }).problems).toEqual([expect.stringMatching(/^LOGO_URL/)]);
  });
});
