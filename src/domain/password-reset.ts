import { AppError } from '../errors';
import { isValidEmail, normalizeEmail } from './emails';
import type { Clock, User } from './model';
import { generateOneTimeToken, hashOneTimeToken, isWellFormedOneTimeToken } from './one-time-tokens';
import type { PasswordHasher } from './passwords';
import type { OneTimeTokenStore, PasswordResetRecipient } from './ports';
import { usernameKey } from './usernames';

export interface PasswordResetDeps {
  tokens: OneTimeTokenStore;
  passwords: PasswordHasher;
  clock: Clock;
  lifetimeSeconds: number;
  invitationLifetimeSeconds: number;
  onMailQueued: () => void;
  /** Runs work after the request is answered; its failure is logged, never answered. */
  runInBackground: (what: string, work: () => Promise<void>) => void;
}

/** Getting back into an account through its verified address. */
export function createPasswordReset({
  tokens,
  passwords,
  clock,
  lifetimeSeconds,
  invitationLifetimeSeconds,
  onMailQueued,
  runInBackground,
}: PasswordResetDeps) {
  /** Mails a link that sets the password: a reset, or an invitation (which lives longer). */
  async function mailToken(user: PasswordResetRecipient, template: 'password-reset' | 'invitation'): Promise<void> {
    const { token, tokenHash } = generateOneTimeToken();
    const now = clock.now();
    const lifetime = template === 'invitation' ? invitationLifetimeSeconds : lifetimeSeconds;
    const issued = await tokens.issueToken(
      {
        purpose: 'password-reset',
        tokenHash,
        userId: user.id,
        email: user.email,
        createdAt: now,
        expiresAt: new Date(now.getTime() + lifetime * 1000),
      },
      { to: user.email, message: { template, username: user.username, token } },
    );
    if (issued) onMailQueued();
  }

  return {
    /**
     * Mails a reset token if `login` is the username, or the verified address, of an enabled
     * account with a verified address. The caller learns nothing: the lookup is the same one
     * query either way, and the token is made and queued after the answer, so that a known
     * account is not the slow branch.
     */
    async requestReset(login: string): Promise<void> {
      const recipient = await tokens.findPasswordResetRecipient({
        usernameKey: usernameKey(login),
        email: isValidEmail(login) ? normalizeEmail(login) : null,
      });
      if (recipient) runInBackground('password reset mail', () => mailToken(recipient, 'password-reset'));
    },

    /** A user an admin created without a password: their address gets a link to choose one. */
    async invite(user: User): Promise<void> {
      if (user.email !== null) await mailToken({ ...user, email: user.email }, 'invitation');
    },

    /**
     * Sets a new password with a token: every session and refresh token of the user ends, and a
     * notice is mailed. Throws INVALID_TOKEN or WEAK_PASSWORD; a weak password leaves the token usable.
     */
    async reset(token: string, newPassword: string): Promise<User> {
      if (!isWellFormedOneTimeToken(token)) throw new AppError('INVALID_TOKEN');
      const tokenHash = hashOneTimeToken(token);
      const found = await tokens.findUsableToken('password-reset', tokenHash, clock.now());
      if (!found) throw new AppError('INVALID_TOKEN');
      passwords.assertAcceptable(newPassword, found.user);
      const user = await tokens.resetPassword(tokenHash, await passwords.hash(newPassword), clock.now(), (reset) => ({
        to: reset.email ?? found.email,
        message: { template: 'password-changed', username: reset.username },
      }));
      // Used meanwhile by a request that came first.
      if (!user) throw new AppError('INVALID_TOKEN');
      onMailQueued();
      return user;
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
