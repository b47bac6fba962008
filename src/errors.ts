/**
 * The error catalogue: every error the API can answer with, its HTTP status and its default
 * message. Status numbers live here and nowhere else.
 *
 * One answer is deliberately not here: the webhook's `401 {}`. That is Hasura's protocol for
 * "this caller is not authenticated" (docs/hasura-webhook-contract.md), a normal outcome of a
 * webhook decision rather than an error, and Hasura ignores its body. The webhook route writes it
 * itself; every failure of the webhook (a bad POST body, an outage) still comes from here.
 */
export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid.' },
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  WEAK_PASSWORD: { status: 400, message: 'The password does not meet the password policy.' },
  PASSKEY_REJECTED: {
    status: 400,
    message: 'The passkey could not be registered: its answer did not verify, or its challenge was used or expired.',
  },
  INVALID_RETURN_URL: {
    status: 400,
    message: 'returnTo is not a URL this service may send you back to. List it in ALLOWED_RETURN_URLS.',
  },
  INTERACTION_EXPIRED: {
    status: 400,
    message: 'This login has expired, or was finished already. Go back to the app and start again.',
  },
  INVALID_CREDENTIALS: { status: 401, message: 'The username or password is incorrect.' },
  MFA_REQUIRED: {
    status: 401,
    message: 'The password is right; now send a code from your authenticator app, or a recovery code.',
  },
  INVALID_MFA_CODE: { status: 401, message: 'The code is incorrect, or was used already.' },
  INVALID_PASSKEY: { status: 401, message: 'The passkey could not be verified, or is not registered here.' },
  INVALID_MFA_CHALLENGE: {
    status: 401,
    message: 'This login has expired, was finished already, or had too many wrong codes. Log in again.',
  },
  UNAUTHORIZED: { status: 401, message: 'A valid session is required.' },
  INVALID_REFRESH_TOKEN: { status: 401, message: 'The refresh token is invalid, or its session has ended.' },
  INVALID_TOKEN: {
    status: 400,
    message: 'This link or token is invalid: it is unknown, was used already, has expired, or a newer one replaced it.',
  },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  PASSWORD_REQUIRED: {
    status: 403,
    message: 'Confirm your current password (`password`) to do this: the session is more than 5 minutes old.',
  },
  SIGNUP_CLOSED: { status: 403, message: 'Signing up is closed. Ask an administrator for an account.' },
  CSRF_REJECTED: {
    status: 403,
    message:
      "This request may have been forged by another site, and was refused. List the app's origin in CORS_ORIGINS.",
  },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  USERNAME_TAKEN: { status: 409, message: 'That username is taken.' },
  EMAIL_TAKEN: { status: 409, message: 'That email address belongs to another account.' },
  LAST_LOGIN_METHOD: {
    status: 409,
    message: 'This is the last way to log in to the account. Set a password, link an identity or add a passkey first.',
  },
  MFA_ALREADY_ENABLED: {
    status: 409,
    message: 'An authenticator app is already set up. Remove it before setting up another.',
  },
  MFA_NOT_ENABLED: { status: 409, message: 'No authenticator app is set up, or its setup is not confirmed.' },
  PASSKEY_EXISTS: { status: 409, message: 'That passkey is registered already.' },
  ROLE_EXISTS: { status: 409, message: 'That role already exists.' },
  ROLE_BUILT_IN: { status: 409, message: 'Built-in roles cannot be changed.' },
  PASSWORD_CHANGED: {
    status: 409,
    message: 'The password was changed by another request while this one was checked. Log in with the new password.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body encoding is not supported.' },
  RATE_LIMITED: { status: 429, message: 'Too many attempts. Try again later.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable. Try again.' },
  SHUTTING_DOWN: { status: 503, message: 'This instance is shutting down.' },
  PROVIDER_UNAVAILABLE: { status: 503, message: 'The identity provider cannot be reached. Try again.' },
  OVERLOADED: { status: 503, message: 'Too many sign-ins are being checked right now. Try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  /** Replaces the catalogue's message, to say more precisely what went wrong. */
  message?: string;
  /** The failure underneath, for the log; never shown to the client. */
  cause?: unknown;
  /** Response headers the answer needs, such as `Retry-After` or `WWW-Authenticate`. */
  headers?: Readonly<Record<string, string>>;
  /** Which parts of the request were wrong. */
  details?: readonly ErrorDetail[];
  /** What the client needs to go on, answered beside `error` (MFA_REQUIRED's challenge). */
  fields?: Readonly<Record<string, unknown>>;
}

export class AppError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly details: readonly ErrorDetail[] | undefined;
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(
    readonly code: ErrorCode,
    { message, cause, headers = {}, details, fields = {} }: AppErrorOptions = {},
  ) {
    super(message ?? errorCatalogue[code].message, cause === undefined ? undefined : { cause });
    this.name = 'AppError';
    this.status = errorCatalogue[code].status;
    this.headers = headers;
    this.details = details;
    this.fields = fields;
  }
}
