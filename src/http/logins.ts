import type { Request } from 'express';
import type { z } from 'zod';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AuthenticationMethod, User } from '../domain/model';
import type { Passkeys } from '../domain/passkeys';
import type { RateLimits } from '../domain/rate-limits';
import type { SecondFactors } from '../domain/second-factors';
import { AppError } from '../errors';
import type { LoginKind } from '../metrics';
import { recordAuthEvent } from './auth-events';
import { checkLogin, type Authenticator } from './passport';
import type { passkeyLoginBody, secondFactorLoginBody } from './schemas';

/** The answer to a first step whose user has a second factor: MFA_REQUIRED, with the challenge for the second. */
export async function secondFactorRequired(
  secondFactors: SecondFactors,
  user: User,
  issues: LoginKind['issued'],
  firstStepAmr: AuthenticationMethod[],
): Promise<AppError> {
  const challenge = await secondFactors.startChallenge(user, issues, firstStepAmr);
  return new AppError('MFA_REQUIRED', { fields: { challenge, methods: await secondFactors.methodsOf(user.id) } });
}

/** What a login gives (a session, a token pair), issued by the route for a user who proved who they are. */
export type IssueLogin<T> = (user: User, amr: AuthenticationMethod[]) => Promise<{ answer: T; sessionId: string }>;

/**
 * Every way of logging in goes through here, so that each is rate limited, checked with the
 * same timing for unknown users and recorded as an auth event alike: an operator watching a
 * credential-stuffing attack sees every door. Its route counts it in hasura_auth_logins_total
 * (its definition's `countedAs`, which is the kind passed here). What the login gives (a
 * session, a token pair) is the caller's `issue`.
 *
 * A user with a second factor gets MFA_REQUIRED and a challenge after the right password, and
 * nothing else: the login finishes in `finishLogIn`, with the challenge and a code. Only a
 * finished login counts as the account's success for the rate limits, so that a known password
 * does not reset the count of wrong codes.
 */
export function createLogins(
  passport: Authenticator,
  rateLimits: RateLimits,
  secondFactors: SecondFactors,
  passkeys: Passkeys,
) {
  return {
    async logIn<T>(
      req: Request,
      credentials: { username: string; password: string },
      kind: LoginKind,
      issue: IssueLogin<T>,
    ): Promise<T> {
      const checked = await checkLogin(passport, rateLimits, req.ip, credentials);
      if (!checked) {
        recordAuthEvent(req, 'login.failed', { ...kind });
        throw new AppError('INVALID_CREDENTIALS');
      }
      const { user, attempt } = checked;
      if (await secondFactors.isRequired(user.id)) {
        recordAuthEvent(req, 'login.second_factor_required', { ...kind, userId: user.id });
        throw await secondFactorRequired(secondFactors, user, kind.issued, ['pwd']);
      }
      await attempt.succeeded();
      const { answer, sessionId } = await issue(user, ['pwd']);
      recordAuthEvent(req, 'login.succeeded', { ...kind, userId: user.id, sessionId });
      return answer;
    },

    /** A login with a passkey alone, which verified its user: two factors, so no second step. */
    async logInWithPasskey<T>(
      req: Request,
      { response, username }: z.output<typeof passkeyLoginBody>,
      kind: LoginKind,
      issue: IssueLogin<T>,
    ): Promise<T> {
      let proved;
      try {
        // The schema checked the outline; @simplewebauthn/server checks every byte.
        proved = await passkeys.logIn(response as unknown as AuthenticationResponseJSON, username);
      } catch (error) {
        if (error instanceof AppError && error.code === 'INVALID_PASSKEY')
          recordAuthEvent(req, 'login.failed', { ...kind });
        throw error;
      }
      const { user, amr } = proved;
      const { answer, sessionId } = await issue(user, amr);
      recordAuthEvent(req, 'login.succeeded', { ...kind, userId: user.id, sessionId });
      return answer;
    },

    /**
     * A login's second step. Each try counts against the account's rate limits as a login does,
     * and a challenge dies after its fifth wrong code.
     */
    async finishLogIn<T>(
      req: Request,
      { challenge, ...proof }: z.output<typeof secondFactorLoginBody>,
      kind: LoginKind,
      issue: IssueLogin<T>,
    ): Promise<T> {
      const pending = await secondFactors.pendingChallenge(challenge, kind.issued);
      if (pending === undefined) throw new AppError('INVALID_MFA_CHALLENGE');
      const attempt = await rateLimits.admitLogin(req.ip, pending.username);
      let finished;
      try {
        finished = await secondFactors.finishChallenge(
          challenge,
          kind.issued,
          'passkey' in proof
            ? {
                // The schema checked the outline; @simplewebauthn/server checks every byte.
                passkeyProved: await passkeys.proveSecondStep(
                  pending.userId,
                  proof.passkey as unknown as AuthenticationResponseJSON,
                ),
              }
            : proof,
        );
      } catch (error) {
        if (error instanceof AppError && error.code === 'INVALID_MFA_CODE')
          recordAuthEvent(req, 'login.failed', { ...kind });
        throw error;
      }
      await attempt.succeeded();
      const { user, amr } = finished;
      const { answer, sessionId } = await issue(user, amr);
      recordAuthEvent(req, 'login.succeeded', { ...kind, userId: user.id, sessionId });
      return answer;
    },
  };
}

export type Logins = ReturnType<typeof createLogins>;
