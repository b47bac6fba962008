import { AppError } from '../errors';
import { validEmail } from './emails';
import type { Clock, User } from './model';
import { generateOneTimeToken, hashOneTimeToken, isWellFormedOneTimeToken } from './one-time-tokens';
import type { OneTimeTokenStore, QueuedMail } from './ports';

export interface EmailVerificationDeps {
  tokens: OneTimeTokenStore;
  clock: Clock;
  lifetimeSeconds: number;
  /** Told after each mail is queued: the outbox worker of this instance starts at once. */
  onMailQueued: () => void;
}

/** Proving that an address belongs to its user: at signup, on a change, and on request. */
export function createEmailVerification({ tokens, clock, lifetimeSeconds, onMailQueued }: EmailVerificationDeps) {
  /** Mails a verification token for `email` to it; any older one of the user stops working. */
  async function mailToken(user: User, email: string): Promise<void> {
    const { token, tokenHash } = generateOneTimeToken();
    const now = clock.now();
    const issued = await tokens.issueToken(
      {
        purpose: 'email-verification',
        tokenHash,
        userId: user.id,
        email,
        createdAt: now,
        expiresAt: new Date(now.getTime() + lifetimeSeconds * 1000),
      },
      {
        to: email,
        message: { template: 'email-verification', username: user.username, token, change: email !== user.email },
      },
    );
    if (!issued) throw new AppError('UNAUTHORIZED');
    onMailQueued();
  }

  return {
    /** After signup: the address the user gave, if any and not verified already. */
    async mailTokenForNewUser(user: User): Promise<void> {
      if (user.email !== null && !user.emailVerified) await mailToken(user, user.email);
    },

    /**
     * The user asks for a new address. The current one stays in force until the new one is
     * verified; asking for the address already verified changes nothing.
     */
    async requestChange(user: User, email: string): Promise<void> {
      const address = validEmail(email);
      if (address === user.email && user.emailVerified) return;
      await mailToken(user, address);
    },

    /** Mails a fresh token to the address waiting for verification: a requested change, else the current address. */
    async resend(user: User): Promise<void> {
      const pending = await tokens.findPendingTokenEmail(user.id, 'email-verification', clock.now());
      const address = pending ?? (user.email !== null && !user.emailVerified ? user.email : undefined);
      if (address !== undefined) await mailToken(user, address);
    },

    /**
     * Uses a token: its address is verified and in force, and an address it replaced that was
     * verified is told. Throws INVALID_TOKEN, or EMAIL_TAKEN when another account verified the
     * address first.
     */
    async verify(token: string): Promise<User> {
      if (!isWellFormedOneTimeToken(token)) throw new AppError('INVALID_TOKEN');
      const verification = await tokens.verifyEmail(
        hashOneTimeToken(token),
        clock.now(),
        ({ user, previousEmail, previousVerified }): QueuedMail | undefined =>
          previousEmail !== null && previousVerified && previousEmail !== user.email
            ? {
                to: previousEmail,
                message: { template: 'email-changed', username: user.username, newEmail: user.email! },
              }
            : undefined,
      );
      switch (verification.outcome) {
        case 'verified':
          onMailQueued();
          return verification.user;
        case 'invalid-token':
          throw new AppError('INVALID_TOKEN');
        case 'email-taken':
          throw new AppError('EMAIL_TAKEN');
      }
    },
  };
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
