import { z } from 'zod';
import { errorCatalogue, type ErrorCode } from '../errors';

/**
 * The shapes of the HTTP API: what each route accepts, and what it answers. The routes validate
 * with the request schemas, the presenters are typed by the response schemas, and
 * src/http/openapi.ts describes the API from both, so that the description cannot drift from
 * what is served.
 */

// ---- Requests ------------------------------------------------------------------------------

// Long enough for any valid value: the domain says what is valid, with a precise message.
const text = z.string().max(1000);

export const signupBody = z
  .object({
    username: z.string(),
    password: z.string(),
    email: text
      .optional()
      .describe('Stored normalised (trimmed, NFKC, lower-cased); a verification mail is sent to it.'),
    displayName: text.optional().describe('1 to 100 characters, shown in place of the username.'),
    confirmPassword: z.string().optional().describe('When given, must equal `password`.'),
  })
  .refine((body) => body.confirmPassword === undefined || body.confirmPassword === body.password, {
    path: ['confirmPassword'],
    message: 'does not match password',
  });

export const loginBody = z.object({ username: z.string(), password: z.string() });

export const refreshTokenBody = z.object({ refreshToken: z.string() });

const totpCode = z.string().max(20).describe('The 6 digits the authenticator app shows now.');
const recoveryCode = z.string().max(40).describe('One of the recovery codes; dashes and case do not matter.');

/** A code from the app, or a recovery code (exactly one), beside the fields that go with it. */
const withSecondFactorProof = <F extends z.ZodRawShape>(fields: F) =>
  z.union([z.strictObject({ ...fields, code: totpCode }), z.strictObject({ ...fields, recoveryCode })]);

/**
 * A browser's answer to a WebAuthn ceremony, as PublicKeyCredential.toJSON() (or
 * @simplewebauthn/browser) gives it; @simplewebauthn/server checks the rest.
 */
const webAuthnResponse = z.looseObject({
  id: z.string().max(1400),
  rawId: z.string().max(1400),
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: z.string().max(10_000) }),
  clientExtensionResults: z.looseObject({}).default({}),
});

const loginChallenge = z.string().max(200).describe('From the MFA_REQUIRED answer.');

/** A login's second step: its challenge, and a code, a recovery code or a passkey's answer. */
export const secondFactorLoginBody = z.union([
  withSecondFactorProof({ challenge: loginChallenge }),
  z.strictObject({
    challenge: loginChallenge,
    passkey: webAuthnResponse.describe(
      'navigator.credentials.get() with the options of POST /login/mfa/passkey/options, as JSON.',
    ),
  }),
]);

export const loginChallengeBody = z.strictObject({ challenge: loginChallenge });

export const passkeyRegistrationBody = z.strictObject({
  response: webAuthnResponse,
  name: z.string().max(1000).optional().describe('What the owner calls it, up to 100 characters.'),
});

export const passkeyRenameBody = z.strictObject({ name: z.string().max(1000) });

export const passkeyLoginBody = z.strictObject({
  response: webAuthnResponse,
  username: z
    .string()
    .max(1000)
    .optional()
    .describe(
      'When given, the passkey must be this user’s. The options never name passkeys, so they reveal no account.',
    ),
});

export const passkeyIdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,1400}$/) });

/** A change to the second factors: the password again, unless the session is fresh. */
export const passwordConfirmationBody = z.strictObject({
  password: z
    .string()
    .optional()
    .describe('The current password; required unless the session started less than 5 minutes ago.'),
});

export const totpConfirmationBody = z.strictObject({ code: totpCode });

export const totpRemovalBody = withSecondFactorProof({ password: z.string() });

export const passwordChangeBody = z.object({ currentPassword: z.string(), newPassword: z.string() });

export const updateMeBody = z.strictObject({
  displayName: text.nullable().optional().describe('null clears it.'),
});

export const emailChangeBody = z.object({ email: text });

export const tokenBody = z.object({ token: z.string().max(200).describe('The token from the link in the mail.') });

export const passwordForgotBody = z.object({ login: text.describe('A username, or a verified email address.') });

export const passwordResetBody = z.object({ token: z.string().max(200), newPassword: z.string() });

export const sessionIdParams = z.object({ id: z.uuid() });

export const userIdParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
});

export const userRoleParams = userIdParams.extend({ role: z.string() });

export const roleNameParams = z.object({ name: z.string() });

export const userListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  search: z
    .string()
    .max(200)
    .optional()
    .describe('Only users whose username or email address contains this text, in any case.'),
});

export const createUserBody = z.object({
  username: z.string(),
  password: z
    .string()
    .optional()
    .describe('Without one, `email` is required: an invitation mail lets the user choose their password.'),
  roles: z.array(z.string()).optional(),
  defaultRole: z.string().optional(),
  displayName: text.optional(),
  email: text.optional(),
  emailVerified: z.boolean().optional().describe('Whether the address is known to be the user’s; false unless given.'),
});

export const updateUserBody = z.strictObject({
  displayName: text.nullable().optional().describe('null clears it.'),
  email: text
    .nullable()
    .optional()
    .describe('null clears it; a new address is unverified unless `emailVerified` is true.'),
  emailVerified: z.boolean().optional(),
  defaultRole: z.string().optional(),
  disabled: z.boolean().optional(),
  sessionVariables: z
    .record(z.string(), z.string())
    .optional()
    .describe('Names begin with `x-hasura-`; `x-hasura-role` and `x-hasura-user-id` are reserved.'),
});

export const createRoleBody = z.object({ name: z.string() });

export const providerParams = z.object({ provider: z.string() });

/** The id of an OpenID Provider interaction (a hosted login), as it appears in /interaction/{uid}. */
export const interactionUid = z.string().regex(/^[A-Za-z0-9_-]{10,64}$/);

export const providerLoginQuery = z.object({
  returnTo: z
    .string()
    .optional()
    .describe('Where to send the browser afterwards: a URL or path that ALLOWED_RETURN_URLS admits.'),
  link: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: add the identity to the signed-in account instead of logging in.'),
  interaction: interactionUid
    .optional()
    .describe(
      "The OpenID Provider's hosted login this login continues (its buttons link here): the callback goes back to it.",
    ),
});

/** The callback's query is the provider's answer; openid-client reads it whole. */
export const providerCallbackQuery = z.object({
  state: z.string().max(200).default(''),
});

export const loginCodeBody = z.object({
  code: z.string().max(200).describe("The `code` parameter of the login's redirect to returnTo."),
  issue: z
    .enum(['session', 'tokens'])
    .default('session')
    .describe('`session`: the body of POST /login. `tokens`: the body of POST /token (JWT mode).'),
});

export const identityIdParams = z.object({ id: z.string().max(20) });

export const userIdentityParams = userIdParams.extend({ identityId: z.string().max(20) });

/**
 * Hasura's POST-mode body: the client's headers, and the GraphQL request, which may be an
 * object, an array, null or absent and is not needed.
 */
export const webhookPostBody = z.object({
  headers: z.record(z.string(), z.string()).describe("The client's request headers, names in any case."),
  request: z.unknown().optional(),
});

// ---- Responses -----------------------------------------------------------------------------

const timestamp = z.iso.datetime();

/** Who the user is, in every answer that has a user. */
const userSummary = {
  id: z.int().describe('Also the X-Hasura-User-Id the webhook answers.'),
  username: z.string(),
  displayName: z.string().nullable(),
  email: z.string().nullable().describe('The address in force: verified, or not yet verified.'),
  emailVerified: z.boolean(),
  roles: z.array(z.string()),
  defaultRole: z.string(),
};

export const mfaSummary = z
  .object({
    totp: z.boolean().describe('Whether logins ask for a code from an authenticator app.'),
    passkeys: z.int().describe('How many passkeys log in to the account.'),
  })
  .describe("The user's second factors.");

export const passkeyResponse = z.object({
  id: z.string().describe('The credential id, base64url.'),
  name: z.string(),
  deviceType: z
    .enum(['singleDevice', 'multiDevice'])
    .describe('multiDevice: synced by a passkey manager; singleDevice: bound to one authenticator.'),
  backedUp: z.boolean(),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
});

export const passkeyListResponse = z.object({ passkeys: z.array(passkeyResponse) });

/** What navigator.credentials.create() or .get() was given, as @simplewebauthn/browser passes it on. */
export const webAuthnOptionsResponse = z.looseObject({
  challenge: z.string(),
  rpId: z.string().optional(),
  rp: z.looseObject({ id: z.string().optional(), name: z.string() }).optional(),
});

export const userResponse = z.object({
  ...userSummary,
  disabled: z.boolean(),
  sessionVariables: z.record(z.string(), z.string()),
  createdAt: timestamp,
});

export const identityResponse = z.object({
  id: z.string(),
  provider: z.string().describe('The id of the configured provider it came through.'),
  issuer: z.string(),
  subject: z.string(),
  email: z.string().nullable().describe('The address the provider gave at the last login.'),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
});

export const identityListResponse = z.object({ identities: z.array(identityResponse) });

export const adminUserResponse = userResponse.extend({
  identities: z.array(identityResponse).describe('Identities at providers that log in to this account.'),
  mfa: mfaSummary,
});

export const userListResponse = z.object({ users: z.array(adminUserResponse), total: z.int() });

export const providerListResponse = z.object({
  providers: z.array(z.object({ id: z.string(), name: z.string() })),
});

export const newSessionResponse = z.object({
  ...userSummary,
  token: z.string().describe('The bearer token of the new session. It is shown this once.'),
  expiresAt: timestamp,
});

export const userOnlyResponse = z.object({ user: userResponse });

const amr = z
  .array(z.enum(['pwd', 'otp', 'hwk', 'mfa']))
  .describe(
    'How the user proved who they are when the session started (RFC 8176): `pwd` a password, `otp` a code from an ' +
      'authenticator app or a recovery code, `hwk` a passkey, `mfa` more than one factor at once (a passkey that ' +
      "verified its user). Empty for an identity provider's login and for sessions from before it was kept.",
  );

export const currentUserResponse = z.object({
  ...userSummary,
  mfa: mfaSummary,
  sessionVariables: z.record(z.string(), z.string()),
  session: z.object({ id: z.uuid(), createdAt: timestamp, expiresAt: timestamp, amr }),
});

export const totpEnrolmentResponse = z.object({
  secret: z.string().describe('Base32, for typing into the app by hand.'),
  otpauthUri: z.string().describe('The otpauth:// URI that the QR code holds.'),
  qrSvg: z.string().describe('The URI as a QR code, an SVG document.'),
});

export const recoveryCodesResponse = z.object({
  recoveryCodes: z.array(z.string()).describe('10 codes, each good for one login. Shown this once.'),
});

export const mfaStatusResponse = z.object({
  totp: z.boolean(),
  recoveryCodesLeft: z.int().describe('Recovery codes not used yet.'),
});

export const sessionResponse = z.object({
  id: z.uuid(),
  createdAt: timestamp,
  lastUsedAt: timestamp,
  expiresAt: timestamp,
  userAgent: z.string().nullable(),
  current: z.boolean().describe('Whether this is the session the request came with.'),
  amr,
  kind: z
    .enum(['bearer', 'refresh', 'op'])
    .describe(
      'bearer: a token from /login or /signup; refresh: a JWT-mode session from /token; op: a login at the OpenID Provider (single sign-on for apps).',
    ),
});

export const sessionListResponse = z.object({ sessions: z.array(sessionResponse) });

export const currentSessionResponse = sessionResponse.extend({
  endsAt: timestamp.describe('When the session ends unless it is used again: its idle deadline or its absolute end.'),
});

export const roleResponse = z.object({ name: z.string(), builtIn: z.boolean() });

export const roleListResponse = z.object({ roles: z.array(roleResponse) });

export const livenessResponse = z.object({ status: z.literal('ok') });

export const readinessResponse = z.object({ status: z.literal('ready') });

/** What Hasura reads from a webhook's 200: every value a string. */
export const hasuraSessionVariablesResponse = z
  .object({
    'X-Hasura-Role': z.string(),
    'X-Hasura-User-Id': z.string().optional().describe('Absent for an anonymous caller.'),
    'Cache-Control': z
      .string()
      .regex(/^max-age=\d+$/)
      .optional()
      .describe('How long Hasura may reuse the answer; absent for an anonymous caller.'),
  })
  .catchall(z.string().describe("One of the user's session variables, such as X-Hasura-Org-Id."));

/** Hasura's protocol answer for a caller who is not authenticated; Hasura ignores the body. */
export const webhookRefusalResponse = z.strictObject({});

/** An accepted request whose outcome is mailed, or not: the answer says nothing either way. */
export const acceptedResponse = z.strictObject({});

export const openApiDocumentResponse = z.looseObject({ openapi: z.literal('3.1.0') });

/** The body of every error answer, for the codes given (all of the catalogue's by default). */
export function errorResponse(codes: readonly ErrorCode[] = Object.keys(errorCatalogue) as ErrorCode[]) {
  return z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
    ...(codes.includes('MFA_REQUIRED') && {
      challenge: z
        .string()
        .optional()
        .describe('With MFA_REQUIRED: send it with a code to /login/mfa (or /token/mfa) within 5 minutes.'),
      methods: z
        .array(z.enum(['totp', 'recovery_code', 'passkey']))
        .optional()
        .describe('With MFA_REQUIRED: the ways the second step may be proved; `passkey` when the account has one.'),
    }),
    ...(codes.includes('INVALID_MFA_CODE') && {
      attemptsLeft: z
        .int()
        .optional()
        .describe("With INVALID_MFA_CODE at a login's second step: wrong codes the challenge still takes."),
    }),
  });
}

export const tokenPairResponse = z.object({
  accessToken: z.string().describe('A JWT for Hasura, in `Authorization: Bearer`.'),
  accessTokenExpiresIn: z.int().describe('Seconds until the access token expires.'),
  refreshToken: z.string().describe('Shown this once; POST /token/refresh takes it, and it is replaced each time.'),
  refreshTokenExpiresAt: timestamp,
  user: z.object(userSummary),
});

export const jwksResponse = z.object({
  keys: z.array(z.object({ kty: z.string(), kid: z.string(), use: z.literal('sig'), alg: z.string() }).loose()),
});
