#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ConfigError, loadConfig, type Config } from './config';
import {
  DatabaseWaitTimeoutError,
  describeDatabase,
  migrateToLatest,
  openDatabase,
  waitForDatabase,
} from './db/database';
import { DataDirInUseError } from './db/data-dir-lock';
import { ADMIN_ROLE } from './domain/model';
import { KeyRotationRefused } from './domain/signing-keys';
import { AppError } from './errors';
import { createLogger } from './logger';
import { createServices } from './services';
import { createClientBody } from './http/routes/openid-clients';

/**
 * Operator commands. Passwords come from ADMIN_PASSWORD or stdin, never from arguments (they show
 * in `ps`). What a command reports goes to stdout as text; log lines (a bad setting, waiting for
 * the database, a failure) go to stderr as JSON, as the server writes them.
 */
const usage = `Usage:
  cli migrate                            apply pending migrations
  cli create-admin --username <name>     create a user holding the admin role;
                                         the password is read from ADMIN_PASSWORD, or else stdin
  cli hasura-jwt-config [--jwks-url <url>]
                                         print the value of Hasura's HASURA_GRAPHQL_JWT_SECRET;
                                         --jwks-url is where Hasura reaches this service's JWKS
                                         (default http://auth:<PORT>/.well-known/jwks.json)
  cli hasura-ddn-auth-config --mode webhook|jwt --url <url>
                                         print the AuthConfig that points Hasura DDN (v3) at this
                                         service, as YAML for globals/metadata/auth-config.hml;
                                         --url is where DDN reaches this service
  cli rotate-jwt-key                     publish a new signing key, which signs once every
                                         Hasura has fetched it; remove keys no token needs
  cli reseal-mfa-secrets                 seal again with MFA_ENCRYPTION_KEY the authenticator
                                         apps' secrets that MFA_ENCRYPTION_PREVIOUS_KEYS sealed
  cli create-client --name <name> --type confidential|public --redirect-uri <uri>...
        [--post-logout-redirect-uri <uri>...] [--first-party] [--backchannel-logout-uri <uri>]
                                         register an app with the OpenID Provider, as
                                         POST /admin/clients does; prints it as JSON, with the
                                         secret of a confidential client, shown only this once
`;

const COMMANDS = new Set([
  'migrate',
  'create-admin',
  'hasura-jwt-config',
  'hasura-ddn-auth-config',
  'rotate-jwt-key',
  'reseal-mfa-secrets',
  'create-client',
]);

/**
 * HASURA_GRAPHQL_JWT_SECRET for this configuration (docs/hasura-jwt-contract.md §1): where the
 * keys are, and the same namespace, format, audience and issuer the tokens carry. For HS256 it
 * holds the shared secret itself, which Hasura needs; it is printed only on this request.
 */
export function hasuraJwtSecret(config: Config, jwksUrl: string): Record<string, string> {
  const { jwt } = config;
  const keySource: Record<string, string> =
    jwt.signing.kind === 'shared-secret' ? { type: 'HS256', key: jwt.signing.secret } : { jwk_url: jwksUrl };
  return {
    ...keySource,
    claims_namespace: jwt.claimsNamespace,
    claims_format: jwt.claimsFormat,
    audience: jwt.audience,
    issuer: jwt.issuer,
  };
}

/** An http(s) URL without a trailing slash, or undefined. */
function parseServiceUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.href.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

/** A JSON pointer (RFC 6901) to one member of the top level: how DDN's claimsConfig names the namespace. */
function pointerTo(member: string): string {
  return `/${member.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

// Strings are written as JSON, which YAML reads as double-quoted scalars.
const yamlString = (value: string) => JSON.stringify(value);

/**
 * The AuthConfig (v3) that points Hasura DDN at this service (docs/hasura-ddn.md). Webhook mode
 * uses GET, the webhook's fastest path, forwarding only what the webhook reads: the credential,
 * the role the client asks for, Sec-Fetch-Site (without which a cross-site request's cookie would
 * count) and X-Request-Id for the logs. JWT mode says where the keys are and how the claims are
 * carried; an HS256 secret is never printed, only the variable that DDN reads it from.
 */
export function hasuraDdnAuthConfig(config: Config, mode: 'webhook' | 'jwt', serviceUrl: string): string {
  const header = [
    '# Hasura DDN AuthConfig for hasura-auth-webhook: save as globals/metadata/auth-config.hml',
    'kind: AuthConfig',
    'version: v3',
    'definition:',
    '  mode:',
  ];
  if (mode === 'webhook') {
    return [
      ...header,
      '    webhook:',
      '      method: GET',
      '      url:',
      `        value: ${yamlString(`${serviceUrl}/webhook`)}`,
      '      customHeadersConfig:',
      '        headers:',
      '          forward: ["Authorization", "Cookie", "X-Hasura-Role", "Sec-Fetch-Site", "X-Request-Id"]',
      '',
    ].join('\n');
  }
  const { jwt } = config;
  const key =
    jwt.signing.kind === 'shared-secret'
      ? [
          "      # Set AUTH_JWT_SECRET in DDN to the value of this service's JWT_SECRET.",
          '      key:',
          '        fixed:',
          '          algorithm: HS256',
          '          key:',
          '            valueFromEnv: AUTH_JWT_SECRET',
        ]
      : [
          `      # This service signs with ${jwt.signing.algorithm}; DDN reads the keys from the JWKS on every request.`,
          '      key:',
          `        jwkFromUrl: ${yamlString(`${serviceUrl}/.well-known/jwks.json`)}`,
        ];
  return [
    ...header,
    '    jwt:',
    '      claimsConfig:',
    '        namespace:',
    `          claimsFormat: ${jwt.claimsFormat === 'json' ? 'Json' : 'StringifiedJson'}`,
    `          location: ${yamlString(pointerTo(jwt.claimsNamespace))}`,
    '      tokenLocation:',
    '        type: BearerAuthorization',
    ...key,
    `      audience: [${yamlString(jwt.audience)}]`,
    `      issuer: ${yamlString(jwt.issuer)}`,
    '',
  ].join('\n');
}

export interface CliIo {
  env: Record<string, string | undefined>;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

async function readPassword(io: CliIo): Promise<string> {
  if (io.env.ADMIN_PASSWORD) return io.env.ADMIN_PASSWORD;
  if (io.stdin.isTTY) io.stderr.write('Password (input is not hidden; pipe it in to keep it off screen): ');
  const lines = createInterface({ input: io.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

/** Runs one command and answers the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || !COMMANDS.has(command)) {
    io.stderr.write(usage);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }

  let logger = createLogger('info', io.stderr);
  let config;
  try {
    // ADMIN_USERNAME and ADMIN_PASSWORD configure the server's start-up admin; here the
    // password is this command's input, so it is not checked as configuration.
    const { ADMIN_USERNAME: _username, ADMIN_PASSWORD: _password, ...configEnv } = io.env;
    config = loadConfig(configEnv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.fatal({ problems: error.problems }, 'invalid configuration');
    return 2;
  }
  logger = createLogger(config.logLevel, io.stderr);

  if (command === 'hasura-ddn-auth-config') {
    const { values } = parseArgs({ args: rest, options: { mode: { type: 'string' }, url: { type: 'string' } } });
    const { mode, url } = values;
    const serviceUrl = url === undefined ? undefined : parseServiceUrl(url);
    if ((mode !== 'webhook' && mode !== 'jwt') || serviceUrl === undefined) {
      io.stderr.write(
        'hasura-ddn-auth-config needs --mode webhook or --mode jwt, and --url with the http(s) URL at which DDN reaches this service\n',
      );
      return 2;
    }
    io.stdout.write(hasuraDdnAuthConfig(config, mode, serviceUrl));
    return 0;
  }

  if (command === 'hasura-jwt-config') {
    const { values } = parseArgs({ args: rest, options: { 'jwks-url': { type: 'string' } } });
    const jwksUrl = values['jwks-url'] ?? `http://auth:${config.port}/.well-known/jwks.json`;
    io.stdout.write(`${JSON.stringify(hasuraJwtSecret(config, jwksUrl))}\n`);
    return 0;
  }

  let db;
  try {
    db = openDatabase(config.database, logger);
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    io.stderr.write(`${error.message}\n`);
    return 1;
  }
  try {
    // A release step (Heroku's, a compose job) may run while the database is still starting.
    await waitForDatabase(db, {
      database: describeDatabase(config.database),
      timeoutSeconds: config.databaseWaitTimeoutSeconds,
      logger,
    });
    const applied = await migrateToLatest(db);
    if (command === 'rotate-jwt-key') {
      const services = await createServices({ config, db, logger });
      try {
        const { signingKeys } = services;
        // Keys from the environment are rotated there; refused before anything is recorded.
        signingKeys.assertRotatable();
        // A database with no key yet gets its first one, as a start would, before it is rotated.
        await signingKeys.ensureSigningKey();
        const rotation = await signingKeys.rotateSigningKey();
        io.stdout.write(
          `Published key ${rotation.kid} (${rotation.algorithm}); it signs from ${rotation.signsFrom.toISOString()}.\n` +
            `The key it replaces stays published for ${signingKeys.retentionSeconds} s after that.\n` +
            (rotation.removedKids.length > 0 ? `Removed expired keys: ${rotation.removedKids.join(', ')}.\n` : ''),
        );
        return 0;
      } finally {
        await services.close();
      }
    }
    if (command === 'reseal-mfa-secrets') {
      const services = await createServices({ config, db, logger });
      try {
        const { resealed, unreadable } = await services.secondFactors.resealSecrets();
        io.stdout.write(`Sealed ${resealed} authenticator app secrets again with MFA_ENCRYPTION_KEY.\n`);
        if (unreadable === 0) {
          io.stdout.write('MFA_ENCRYPTION_PREVIOUS_KEYS can now be removed.\n');
          return 0;
        }
        io.stderr.write(
          `${unreadable} secrets open with none of the keys: add the key that sealed them to ` +
            'MFA_ENCRYPTION_PREVIOUS_KEYS, or have an admin reset those users (DELETE /admin/users/:id/mfa).\n',
        );
        return 1;
      } finally {
        await services.close();
      }
    }
    if (command === 'create-client') {
      const { values } = parseArgs({
        args: rest,
        options: {
          name: { type: 'string' },
          type: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          'first-party': { type: 'boolean' },
          'backchannel-logout-uri': { type: 'string' },
        },
      });
      const parsed = createClientBody.safeParse({
        name: values.name,
        type: values.type,
        redirectUris: values['redirect-uri'] ?? [],
        postLogoutRedirectUris: values['post-logout-redirect-uri'],
        firstParty: values['first-party'],
        backchannelLogoutUri: values['backchannel-logout-uri'],
      });
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || 'input'}: ${issue.message}`);
        io.stderr.write(`create-client: the client is not valid:\n${problems.join('\n')}\n${usage}`);
        return 2;
      }
      const services = await createServices({ config, db, logger });
      try {
        const { client, clientSecret } = await services.openIdClients.create(parsed.data);
        io.stdout.write(`${JSON.stringify({ ...client, ...(clientSecret !== null && { clientSecret }) }, null, 2)}\n`);
        return 0;
      } finally {
        await services.close();
      }
    }
    if (command === 'migrate') {
      io.stdout.write(applied.length > 0 ? `Applied: ${applied.join(', ')}\n` : 'Already up to date.\n');
      return 0;
    }

    const { values } = parseArgs({ args: rest, options: { username: { type: 'string' } } });
    if (!values.username) {
      io.stderr.write(usage);
      return 2;
    }
    const password = await readPassword(io);
    const services = await createServices({ config, db, logger });
    try {
      const admin = await services.accounts.registerUser({
        username: values.username,
        password,
        grantedRoles: [ADMIN_ROLE],
      });
      io.stdout.write(`Created admin ${admin.username} with id ${admin.id}.\n`);
      return 0;
    } finally {
      await services.close();
    }
  } catch (error) {
    if (error instanceof KeyRotationRefused) {
      io.stderr.write(`${error.message}\n`);
      return 1;
    }
    if (error instanceof AppError && error.status < 500) {
      io.stderr.write(`${error.code}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof DatabaseWaitTimeoutError) {
      logger.fatal(error.details, error.message);
      return 1;
    }
    throw error;
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      createLogger('info', process.stderr).fatal({ err: error }, 'the command failed');
      process.exit(1);
    },
  );
}
