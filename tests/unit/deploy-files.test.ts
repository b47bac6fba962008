import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { hasuraJwtSecret } from '../../src/cli';
import { loadConfig, settingNames } from '../../src/config';
import { SERVICE_NODE_FLAGS } from '../../src/v8-settings';
import {
  hasuraProjectDir,
  readMetadataSources,
  readMigrationScripts,
  readPermissions,
} from '../support/hasura-metadata';

// Deployment descriptors are never exercised by the other suites: a typo in one of them
// only shows on Heroku or under `docker compose up`. These tests catch it here instead.

const repoRoot = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
// Vendored (see tests/fixtures/README.md) so the suite needs nothing outside this repository.
const composeSchemaPath = path.resolve(__dirname, '../fixtures/compose-spec.json');

// Every name a test reads is one the file sets; a missing one fails that test's assertion.
type Environment = Record<string, string>;
interface ComposeService {
  image?: string;
  volumes?: string[];
  environment?: Environment | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number | { target: number })[];
  healthcheck?: { test?: string | string[] };
}
interface ComposeFile {
  services: Record<'postgres' | 'auth' | 'hasura' | 'hasura-jwt', ComposeService> & Record<string, ComposeService>;
}

interface AppJsonEnvEntry {
  description?: string;
  value?: string;
  generator?: string;
  required?: boolean;
}

const compose = parseYaml(read('docker-compose.yml')) as ComposeFile;
const appJson = JSON.parse(read('app.json')) as { env: Record<string, AppJsonEnvEntry> };

/** A service's environment as a map, whichever of the two Compose syntaxes it uses. */
function environmentOf(service: ComposeService): Environment {
  const { environment } = service;
  if (!Array.isArray(environment)) return environment ?? {};
  return Object.fromEntries(
    environment.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
}

/**
 * What Compose substitutes with only `given` set: `${VAR:-default}` and `${VAR-default}` become the
 * default, `${VAR:?message}` the given value (Compose refuses to start without one).
 */
function interpolate(value: string | undefined, given: Record<string, string>): string {
  if (value === undefined) throw new Error('the setting is not in the file');
  return value
    .replace(/\$\{([A-Z0-9_]+):?-([^}]*)\}/g, (_, name: string, fallback: string) => given[name] ?? fallback)
    .replace(/\$\{([A-Z0-9_]+):?\?[^}]*\}/g, (_, name: string) => {
      if (given[name] === undefined) throw new Error(`docker compose would refuse to start without ${name}`);
      return given[name];
    });
}

// What the compose file's header tells the operator to set.
const operatorEnv = {
  HASURA_ADMIN_SECRET: 'an-operator-chosen-secret-0123456789',
  MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
};

/** The auth service's environment as Compose hands it over, once the operator set what the header says. */
const composedAuthEnv = () =>
  Object.fromEntries(
    Object.entries(environmentOf(compose.services.auth)).map(([name, value]) => [
      name,
      interpolate(value, operatorEnv),
    ]),
  );

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(composeSchemaPath, 'utf8')) as Record<string, unknown>;
    // The schema names its meta-schema "https://json-schema.org/draft-07/schema", an alias ajv
    // does not know; ajv's default dialect is draft-07 already, so the reference is dropped.
    delete schema.$schema;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);

    const valid = validate(compose);

    if (!valid) console.error(ajv.errorsText(validate.errors, { separator: '\n' }), validate.errors);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('uses the Compose Specification without the obsolete top-level version key', () => {
    expect(Object.keys(compose)).not.toContain('version');
  });

  it('points Hasura at the auth service /webhook, on the port the auth service listens on', () => {
    const hasura = environmentOf(compose.services.hasura);
    const hook = new URL(hasura.HASURA_GRAPHQL_AUTH_HOOK ?? '');

    expect(hook.hostname).toBe('auth');
    expect(Object.keys(compose.services)).toContain(hook.hostname);
    expect(hook.pathname).toBe('/webhook');
    const authConfig = loadConfig(composedAuthEnv());
    expect(Number(hook.port || 80)).toBe(authConfig.port);
    // Hasura compares the mode case-sensitively.
    expect(['GET', 'POST']).toContain(hasura.HASURA_GRAPHQL_AUTH_HOOK_MODE);
  });

  it('gives the auth service and Hasura the same admin secret', () => {
    const auth = environmentOf(compose.services.auth);
    const hasura = environmentOf(compose.services.hasura);

    expect(interpolate(auth.ADMIN_SECRET, operatorEnv)).toBe(operatorEnv.HASURA_ADMIN_SECRET);
    expect(interpolate(hasura.HASURA_GRAPHQL_ADMIN_SECRET, operatorEnv)).toBe(operatorEnv.HASURA_ADMIN_SECRET);
  });

  it('refuses to start without HASURA_ADMIN_SECRET instead of falling back to a published one, and says how long it must be', () => {
    const secrets = [
      environmentOf(compose.services.auth).ADMIN_SECRET,
      environmentOf(compose.services.hasura).HASURA_GRAPHQL_ADMIN_SECRET,
      environmentOf(compose.services['hasura-jwt']).HASURA_GRAPHQL_ADMIN_SECRET,
    ];
    for (const secret of secrets) {
      expect(secret).toMatch(/^\$\{HASURA_ADMIN_SECRET:\?.+\}$/);
      expect(secret).toContain('at least 16 characters');
      expect(() => interpolate(secret, {})).toThrow('without HASURA_ADMIN_SECRET');
    }
    // The length the message names is the one the auth service checks.
    expect(() => loadConfig({ ADMIN_SECRET: 'x'.repeat(15) })).toThrow('at least 16 characters');
    expect(() => loadConfig({ ADMIN_SECRET: 'x'.repeat(16) })).not.toThrow();
  });

  it('refuses to start without MFA_ENCRYPTION_KEY, which production needs, and says how to make one', () => {
    const key = environmentOf(compose.services.auth).MFA_ENCRYPTION_KEY;
    expect(key).toMatch(/^\$\{MFA_ENCRYPTION_KEY:\?.*openssl rand -hex 32.*\}$/);
    expect(() => interpolate(key, {})).toThrow('without MFA_ENCRYPTION_KEY');
    expect(read('docker-compose.yml')).toContain('MFA_ENCRYPTION_KEY=$(openssl rand -hex 32)');
    // The image runs in production, where the key is required.
    const { MFA_ENCRYPTION_KEY: _, ...withoutKey } = composedAuthEnv();
    expect(() => loadConfig({ ...withoutKey, NODE_ENV: 'production' })).toThrow('MFA_ENCRYPTION_KEY');
    expect(() => loadConfig({ ...composedAuthEnv(), NODE_ENV: 'production' })).not.toThrow();
  });

  it('runs, in the jwt profile, a Hasura in JWT mode configured as hasura-jwt-config prints for the auth service', () => {
    const service = compose.services['hasura-jwt'] as ComposeService & { profiles?: string[] };
    const hasura = environmentOf(service);
    const authConfig = loadConfig(composedAuthEnv());

    expect(service.profiles).toEqual(['jwt']);
    expect(hasura.HASURA_GRAPHQL_AUTH_HOOK).toBeUndefined();
    expect(JSON.parse(hasura.HASURA_GRAPHQL_JWT_SECRET ?? 'null')).toEqual(
      hasuraJwtSecret(authConfig, `http://auth:${authConfig.port}/.well-known/jwks.json`),
    );
    expect(hasura.HASURA_GRAPHQL_UNAUTHORIZED_ROLE).toBe(authConfig.webhook.anonymousRole);
  });

  it.each(Object.entries(compose.services).filter(([, service]) => service.ports !== undefined))(
    'publishes the ports of %s on 127.0.0.1 only',
    (_name, service) => {
      for (const port of service.ports!) expect(port).toEqual(expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/));
    },
  );

  it('gives the auth service an environment its configuration accepts, defaults included', () => {
    const env = Object.fromEntries(
      Object.entries(environmentOf(compose.services.auth)).map(([key, value]) => [
        key,
        interpolate(value, operatorEnv),
      ]),
    );

    const config = loadConfig(env);

    expect(config.database.kind).toBe('postgres');
    expect(config.admin.secret).toBeTruthy();
  });

  it('starts Hasura only once the auth service reports healthy', () => {
    const dependsOn = compose.services.hasura.depends_on as Record<string, { condition?: string }>;

    expect(dependsOn.auth?.condition).toBe('service_healthy');
    expect(compose.services.auth.healthcheck?.test).toBeDefined();
  });
});

describe('the Hasura example that docker compose applies (hasura/)', () => {
  const hasura = compose.services.hasura;
  const permissions = readPermissions();
  const migrations = readMigrationScripts();

  /** The host directory that Compose mounts at this path in the Hasura container. */
  function mountedAt(containerPath: string): string | undefined {
    const volume = hasura.volumes?.find((each) => each.split(':')[1] === containerPath);
    return volume === undefined ? undefined : path.resolve(repoRoot, volume.split(':')[0] ?? '');
  }

  /** The columns of `CREATE TABLE <name> (...)` in the migrations. */
  function migratedColumns(table: string): string[] {
    const created = Object.values(migrations)
      .map((sql) => new RegExp(`CREATE TABLE ${table.replace('.', '\\.')} \\(([^;]*)\\);`, 'i').exec(sql))
      .find((match) => match !== null);
    if (!created) throw new Error(`no migration creates ${table}`);
    return (created[1] ?? '')
      .split(',\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter((name) => name !== '' && !/^(primary|unique|check|constraint|foreign)$/i.test(name));
  }

  it('runs the cli-migrations-v3 image with hasura/metadata and hasura/migrations mounted where it reads them', () => {
    const env = environmentOf(hasura);

    expect(hasura.image).toMatch(/^hasura\/graphql-engine:v2\.[\d.]+\.cli-migrations-v3$/);
    expect(mountedAt(env.HASURA_GRAPHQL_METADATA_DIR ?? '')).toBe(path.join(hasuraProjectDir, 'metadata'));
    expect(mountedAt(env.HASURA_GRAPHQL_MIGRATIONS_DIR ?? '')).toBe(path.join(hasuraProjectDir, 'migrations'));
    expect(existsSync(path.join(hasuraProjectDir, 'metadata/version.yaml'))).toBe(true);
    expect(read('hasura/metadata/version.yaml')).toMatch(/^version: 3$/m);
  });

  it('connects the metadata to the database that Hasura is given, under the name the migrations use', () => {
    const sources = readMetadataSources();

    expect(sources.map((source) => source.name)).toEqual(['default']);
    expect(sources[0]?.kind).toBe('postgres');
    const { database_url: url } = sources[0]!.configuration.connection_info;
    expect(url).toEqual({ from_env: 'HASURA_GRAPHQL_DATABASE_URL' });
    expect(environmentOf(hasura).HASURA_GRAPHQL_DATABASE_URL).toBeTruthy();
    expect(Object.keys(migrations).every((file) => file.startsWith(`default${path.sep}`))).toBe(true);
  });

  it("tracks the example's table and the auth service's public view of users, never the service's own schema", () => {
    const tracked = readMetadataSources().flatMap((source) => source.tables.map(({ table }) => table));

    expect(tracked).toEqual([
      { schema: 'public', name: 'notes' },
      { schema: 'auth_public', name: 'users' },
    ]);
  });

  it('relates a note to its owner through the public view of users', () => {
    const notes = readMetadataSources()[0]!.tables.find(({ table }) => table.name === 'notes');

    expect(notes?.object_relationships).toEqual([
      {
        name: 'owner',
        using: {
          manual_configuration: {
            remote_table: { name: 'users', schema: 'auth_public' },
            column_mapping: { owner_id: 'id' },
          },
        },
      },
    ]);
  });

  it("never touches the auth service's schema in a migration", () => {
    expect(Object.keys(migrations).length).toBeGreaterThan(0);
    for (const sql of Object.values(migrations)) expect(sql).not.toMatch(/\bauth\s*\.|schema\s+"?auth\b/i);
    expect(Object.values(migrations).join('\n')).toMatch(/CREATE TABLE public\.notes\b/);
  });

  it('names only columns that the migrations create', () => {
    const columns = migratedColumns('public.notes');

    expect(columns).toEqual(expect.arrayContaining(['id', 'owner_id', 'body']));
    for (const { permission } of permissions.filter((each) => each.table === 'public.notes')) {
      const named = [
        ...((permission.columns as string[] | undefined) ?? []),
        ...Object.keys((permission.set as object | undefined) ?? {}),
      ];
      expect(named.filter((column) => !columns.includes(column))).toEqual([]);
    }
  });

  it('lets the user role select, insert and update only their own notes, owner_id preset from X-Hasura-User-Id', () => {
    const ofUser = (kind: string) => permissions.find((each) => each.role === 'user' && each.kind === kind)?.permission;
    const ownRows = { owner_id: { _eq: 'X-Hasura-User-Id' } };

    expect(ofUser('select')?.filter).toEqual(ownRows);
    expect(ofUser('insert')?.check).toEqual(ownRows);
    expect(ofUser('insert')?.set).toEqual({ owner_id: 'X-Hasura-User-Id' });
    expect(ofUser('insert')?.columns).not.toContain('owner_id');
    expect(ofUser('update')?.filter).toEqual(ownRows);
    expect(ofUser('update')?.check).toEqual(ownRows);
    expect(ofUser('update')?.columns).not.toContain('owner_id');
    expect(permissions.filter((each) => each.role !== 'user')).toEqual([]);
  });
});

describe('app.json', () => {
  it("is deployed by the README's Heroku button, which says where to point Hasura", () => {
    const readme = read('README.md');
    expect(readme).toContain(
      '[![Deploy to Heroku](https://www.herokucdn.com/deploy/button.svg)](https://heroku.com/deploy)',
    );
    expect(readme).toContain('`https://<app>.herokuapp.com/webhook`');
  });

  const entries = Object.entries(appJson.env);

  it('lists only variables that the service reads', () => {
    const known: string[] = settingNames;

    expect(entries.map(([key]) => key).filter((key) => !known.includes(key))).toEqual([]);
  });

  it('leaves DATABASE_URL to the Heroku Postgres add-on', () => {
    expect(Object.keys(appJson.env)).not.toContain('DATABASE_URL');
  });

  it.each(entries.filter(([, entry]) => entry.value !== undefined))(
    'has a value for %s that the configuration accepts',
    (key, entry) => {
      expect(() => loadConfig({ [key]: entry.value })).not.toThrow();
    },
  );

  it('accepts all its values together', () => {
    const env = Object.fromEntries(entries.map(([key, entry]) => [key, entry.value]));

    expect(() => loadConfig(env)).not.toThrow();
  });

  it("offers the service's own defaults, except what Heroku needs: Heroku Postgres' TLS mode, and its router as the one trusted proxy", () => {
    const herokuSettings = ['DATABASE_SSL', 'TRUST_PROXY'];
    const env = Object.fromEntries(
      entries.filter(([key]) => !herokuSettings.includes(key)).map(([key, entry]) => [key, entry.value]),
    );

    expect(loadConfig(env)).toEqual(loadConfig({}));
    expect(appJson.env.DATABASE_SSL?.value).toBe('no-verify');
  });

  it('describes every variable and generates a required admin secret and second-factor key', () => {
    for (const [, entry] of entries) expect(entry.description).toBeTruthy();
    expect(appJson.env.ADMIN_SECRET).toMatchObject({ generator: 'secret', required: true });
    expect(appJson.env.MFA_ENCRYPTION_KEY).toMatchObject({ generator: 'secret', required: true });
    // Heroku's generated secrets are 64 hex digits: a key the configuration takes, in production too.
    expect(() =>
      loadConfig({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex') }),
    ).not.toThrow();
  });
});

describe('the Node.js version', () => {
  // The major production runs and CI tests on: .ci/run installs it whatever Node the machine has.
  const ciMajor = /^NODE_MAJOR=(\d+)$/m.exec(read('.ci/run'))?.[1];

  it('is Node 24 LTS in CI', () => {
    expect(ciMajor).toBe('24');
  });

  it('lets Heroku resolve the major CI tests, and developers use Node 20.19 or newer', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
    // Heroku installs the newest version that engines.node allows.
    const releases = ['20.19.0', '20.99.0', '22.99.0', `${ciMajor}.99.0`, '25.0.0', '26.99.0'];
    expect(semver.maxSatisfying(releases, pkg.engines.node)).toBe(`${ciMajor}.99.0`);
    expect(semver.satisfies('20.19.0', pkg.engines.node)).toBe(true);
    expect(semver.satisfies('20.18.9', pkg.engines.node)).toBe(false);
  });

  it('is the major CI tests in every stage of the Dockerfile', () => {
    const images = [...read('Dockerfile').matchAll(/^FROM node:(\d+)\b/gm)].map((match) => match[1]);
    expect(images.length).toBeGreaterThan(0);
    expect(new Set(images)).toEqual(new Set([ciMajor]));
  });
});

describe('Procfile', () => {
  const processes = Object.fromEntries(
    read('Procfile')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => {
        const at = line.indexOf(':');
        return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
      }),
  );

  /** The TypeScript source a `node [flags] dist/<path>.js` command runs once built. */
  function sourceOf(command: string): string {
    const match = /^node (?:--\S+ )*(dist\/\S+)\.js\b/.exec(command);
    if (!match) throw new Error(`not a \`node dist/....js\` command: ${command}`);
    return `${match[1]!.slice('dist/'.length)}.ts`;
  }

  it('runs the web process from the compiled service entry point in dist/', () => {
    expect(processes.web).toMatch(/^node (--\S+ )*dist\/\S+\.js$/);
    expect(sourceOf(processes.web ?? '')).toBe('src/main.ts');
  });

  it('starts the service as npm start and the Docker image do, with the same node flags', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: { start: string } };
    const dockerCommand = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(processes.web).toBe(scripts.start);
    expect((JSON.parse(dockerCommand ?? '[]') as string[]).join(' ')).toBe(scripts.start);
    // The flags main.ts expects, on the command line, where V8 reads them as it starts.
    expect(scripts.start).toBe(`node ${SERVICE_NODE_FLAGS.join(' ')} dist/src/main.js`);
  });

  it('migrates the database in the release phase with the compiled CLI', () => {
    expect(processes.release).toMatch(/^node dist\/\S+\.js migrate$/);
    expect(existsSync(path.join(repoRoot, sourceOf(processes.release ?? '')))).toBe(true);
  });
});
