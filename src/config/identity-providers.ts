import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { list } from './settings';

/** The identity providers users may log in through, and where a login may send them back to. */

const httpUrl = (what: string) =>
  z.string().refine((value) => {
    try {
      const { protocol, search, hash, username, password } = new URL(value);
      return (protocol === 'http:' || protocol === 'https:') && !search && !hash && !username && !password;
    } catch {
      return false;
    }
  }, `must be ${what}: an http(s) URL without query, fragment or credentials`);

const providerEntry = z
  .strictObject({
    // In URLs (/auth/<id>) and in the flow cookie's name.
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1 to 63 of a-z, 0-9, "-" and "_"')
      .refine(
        (id) => id !== 'providers' && id !== 'exchange',
        'must not be "providers" or "exchange" (paths of /auth)',
      ),
    type: z.enum(['oidc', 'github']),
    // Shown on login pages.
    name: z.string().min(1).max(100),
    // OpenID Connect: the issuer, whose /.well-known/openid-configuration is read. GitHub:
    // https://github.com unless it is a GitHub Enterprise Server.
    issuer: httpUrl('the issuer URL').optional(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token')).optional(),
    linkByVerifiedEmail: z.boolean().default(false),
  })
  .superRefine((entry, context) => {
    if (entry.type === 'oidc' && entry.issuer === undefined) {
      context.addIssue({ code: 'custom', path: ['issuer'], message: 'is required for an OpenID Connect provider' });
    }
    if (entry.type === 'github' && entry.clientSecret === undefined) {
      context.addIssue({ code: 'custom', path: ['clientSecret'], message: 'is required by GitHub' });
    }
  });

/** JSON text, parsed; a parse failure is an issue of the setting, never a crash. */
const json = z.string().transform((text, context) => {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    context.addIssue({ code: 'custom', message: `is not valid JSON (${(error as Error).message})` });
    return z.NEVER;
  }
});

const providerList = z.array(providerEntry).superRefine((entries, context) => {
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    if (seen.has(entry.id)) context.addIssue({ code: 'custom', path: [index, 'id'], message: 'is used twice' });
    seen.add(entry.id);
  });
});

const returnUrl = httpUrl('a URL such as https://app.example.com or https://app.example.com/callback');

export const identityProviderSettings = {
  // A JSON array of providers (see README, "Log in through identity providers").
  IDENTITY_PROVIDERS: json.pipe(providerList).optional(),
  // A path to a file holding the same JSON, for secrets kept out of the environment.
  IDENTITY_PROVIDERS_FILE: z
    .string()
    .transform((path, context) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        context.addIssue({ code: 'custom', message: `cannot be read (${(error as NodeJS.ErrnoException).code})` });
        return z.NEVER;
      }
    })
    .pipe(json)
    .pipe(providerList)
    .optional(),
  // Where a login may send the browser back to: each entry admits its origin and, if it has
  // one, only paths under its path. Default: CORS_ORIGINS and PUBLIC_URL.
  ALLOWED_RETURN_URLS: list(returnUrl).optional(),
};

type ProviderEntry = z.output<typeof providerEntry>;

type IdentityProviderEnv = z.output<z.ZodObject<typeof identityProviderSettings>> & {
  NODE_ENV?: string;
  PUBLIC_URL?: string;
  CORS_ORIGINS: string[];
};

const DEFAULT_SCOPES = { oidc: ['openid', 'email', 'profile'], github: ['read:user', 'user:email'] };
const GITHUB = 'https://github.com';

export interface IdentityProviderSettings {
  id: string;
  type: 'oidc' | 'github';
  name: string;
  /** The issuer of its identities: with the subject, what an identity is. */
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  scopes: readonly string[];
  linkByVerifiedEmail: boolean;
}

function settingsOf(entry: ProviderEntry): IdentityProviderSettings {
  const scopes = entry.scopes ?? DEFAULT_SCOPES[entry.type];
  return {
    id: entry.id,
    type: entry.type,
    name: entry.name,
    issuer: (entry.issuer ?? GITHUB).replace(/\/+$/, '') || GITHUB,
    clientId: entry.clientId,
    clientSecret: entry.clientSecret ?? null,
    // An OpenID Connect request without `openid` is plain OAuth: no ID token would come back.
    scopes: entry.type === 'oidc' && !scopes.includes('openid') ? ['openid', ...scopes] : scopes,
    linkByVerifiedEmail: entry.linkByVerifiedEmail,
  };
}

export function identityProviderConfig(env: IdentityProviderEnv) {
  const production = env.NODE_ENV === 'production';
  const entries = env.IDENTITY_PROVIDERS ?? env.IDENTITY_PROVIDERS_FILE ?? [];
  return {
    identityProviders: {
      providers: entries.map(settingsOf),
      allowedReturnUrls: env.ALLOWED_RETURN_URLS ?? [
        ...env.CORS_ORIGINS,
        ...(env.PUBLIC_URL === undefined ? [] : [env.PUBLIC_URL]),
      ],
      /** Plain-http issuers, for a provider on the developer's machine; never in production. */
      allowInsecureIssuers: !production,
    },
  };
}

export function identityProviderProblems(env: IdentityProviderEnv): string[] {
  const problems: string[] = [];
  if (env.IDENTITY_PROVIDERS !== undefined && env.IDENTITY_PROVIDERS_FILE !== undefined) {
    problems.push('IDENTITY_PROVIDERS and IDENTITY_PROVIDERS_FILE: set one or neither');
  }
  const entries = env.IDENTITY_PROVIDERS ?? env.IDENTITY_PROVIDERS_FILE ?? [];
  if (env.NODE_ENV === 'production' && entries.length > 0) {
    // The redirect URI each provider is given is PUBLIC_URL/auth/<id>/callback.
    if (env.PUBLIC_URL === undefined)
      problems.push('IDENTITY_PROVIDERS: needs PUBLIC_URL, the callback URLs start with it');
    for (const entry of entries) {
      if (entry.issuer?.startsWith('http:')) {
        problems.push(`IDENTITY_PROVIDERS: ${entry.id}: issuer must be https in production`);
      }
    }
  }
  return problems;
}
