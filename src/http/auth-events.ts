import type { Request, Response } from 'express';
import type { AuthenticatedSession } from '../domain/model';
import type { Logger } from '../logger';

/**
 * What an operator watches for in an auth service, each as a log line of its own with an
 * `authEvent` field. The lines name users by id: never by a username typed at a failed login
 * (people type their password there by mistake), never with a password or a token.
 */
export type AuthEvent =
  | 'signup'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.second_factor_required'
  | 'login.code_exchanged'
  | 'logout'
  | 'logout.all'
  | 'password.changed'
  | 'password.reset'
  | 'email.change_requested'
  | 'email.verified'
  | 'profile.updated'
  | 'mfa.enabled'
  | 'mfa.disabled'
  | 'mfa.recovery_codes_replaced'
  | 'mfa.reset'
  | 'passkey.added'
  | 'passkey.renamed'
  | 'passkey.removed'
  | 'identity.linked'
  | 'identity.unlinked'
  | 'session.ended'
  | 'user.created'
  | 'user.updated'
  | 'user.deleted'
  | 'user.sessions.ended'
  | 'role.granted'
  | 'role.revoked'
  | 'role.created'
  | 'role.deleted'
  | 'client.created'
  | 'client.updated'
  | 'client.secret_rotated'
  | 'client.deleted'
  | 'oidc.authorized'
  | 'oidc.token_granted'
  | 'oidc.grant_revoked'
  | 'oidc.logout'
  | 'rate_limited';

type EventFields = Record<string, string | number | boolean | undefined>;

/** Logs the event through the request's own logger, so that the line carries the request id. */
export function recordAuthEvent(req: Request, authEvent: AuthEvent, fields: EventFields = {}): void {
  logAuthEvent(req.log, authEvent, { ip: req.ip, ...fields });
}

/** The same line through a given logger: for the OpenID Provider's requests, which Express never sees. */
export function logAuthEvent(logger: Pick<Logger, 'info'>, authEvent: AuthEvent, fields: EventFields): void {
  logger.info({ authEvent, ...fields }, `auth event: ${authEvent}`);
}

/** Who did an admin's deed: the admin's user id, or the admin secret. */
export function adminActor(res: Response): EventFields {
  const auth = res.locals.auth as AuthenticatedSession | undefined;
  return auth ? { actorUserId: auth.user.id } : { actor: 'admin-secret' };
}
