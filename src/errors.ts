/**
 * The error catalogue: every error the API can answer with, its HTTP status and its default
 * message. Status numbers live here and nowhere else.
 */
export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid.' },
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  WEAK_PASSWORD: { status: 400, message: 'The password does not meet the password policy.' },
  INVALID_CREDENTIALS: { status: 401, message: 'The username or password is incorrect.' },
  UNAUTHORIZED: { status: 401, message: 'A valid session is required.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  USERNAME_TAKEN: { status: 409, message: 'That username is taken.' },
  ROLE_EXISTS: { status: 409, message: 'That role already exists.' },
  ROLE_BUILT_IN: { status: 409, message: 'Built-in roles cannot be changed.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body encoding is not supported.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable. Try again.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ErrorDetail {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message ?? errorCatalogue[code].message, options);
    this.name = 'AppError';
    this.status = errorCatalogue[code].status;
  }
}
