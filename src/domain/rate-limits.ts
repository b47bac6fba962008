import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { AppError } from '../errors';
import type { AttemptCounter, AttemptCounterStore, AttemptLimit } from './ports';
import { usernameKey } from './usernames';

/** Each limit, or null where it is off. */
export interface RateLimitPolicy {
  /** Every login attempt from one address: a flood from one address stops. */
  loginPerIp: AttemptLimit | null;
  /** Failed logins to one account from anywhere: slow guessing from many addresses slows down. */
  loginFailuresPerUsername: AttemptLimit | null;
  /** Failed logins to one account from one address: guessing from one address stops. */
  loginFailuresPerUsernameAndIp: AttemptLimit | null;
  signupPerIp: AttemptLimit | null;
  passwordChangePerIp: AttemptLimit | null;
  passwordResetPerIp: AttemptLimit | null;
  /** Reset mails asked for one login, whether or not it names an account: the answer reveals nothing. */
  passwordResetPerAccount: AttemptLimit | null;
  emailVerificationPerIp: AttemptLimit | null;
  /** Verification mails one user asks for: no user makes the service mail an address over and over. */
  emailVerificationPerUser: AttemptLimit | null;
}

/**
 * An address that logged in to an account is remembered this long, and keeps its access to the
 * account while the account's own limit is exceeded: an attacker spread over many addresses
 * cannot lock the owner out of their usual address (OWASP's credential stuffing guidance).
 */
// Under 24.8 days: the in-memory store expires keys with setTimeout, which holds no longer.
const KNOWN_ADDRESS_SECONDS = 14 * 86400;

/**
 * The key for a client address. An IPv6 client usually holds a whole /64, so it counts as its
 * /64; an IPv4 address mapped into IPv6 (::ffff:192.0.2.1) counts as the IPv4 address.
 */
export function clientAddressKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** An account's key: a hash of its username key, so that no counter holds a username. */
function accountKey(username: string): string {
  return createHash('sha256').update(usernameKey(username)).digest('base64url');
}

function rateLimited(message: string, retryAfterSeconds: number, limit: string): AppError {
  return new AppError('RATE_LIMITED', {
    message: `${message} Try again in ${retryAfterSeconds} seconds.`,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    // For the log line of the refusal: which limit refused it.
    cause: { limit },
  });
}

interface NamedCounter {
  name: string;
  counter: AttemptCounter;
}

/** What a login does once it knows how its password check ended. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
  /**
   * The password was never checked (the hashing queue was full): the attempt is taken back from
   * the account's failure counts, so that an overload locks no owner out of their account.
   */
  notChecked(): Promise<void>;
}

/**
 * The rate limits of the endpoints that check passwords or create accounts. Every check runs
 * before any bcrypt work, so a refusal is cheap; each throws RATE_LIMITED with Retry-After.
 */
export function createRateLimits({ store, policy }: { store: AttemptCounterStore; policy: RateLimitPolicy }) {
  /**
   * A limit's counter, under the limit's name: its key prefix in the shared table, and what the
   * log line of a refusal names. Null where the limit is off.
   */
  const open = (name: string, limit: AttemptLimit | null): NamedCounter | null =>
    limit ? { name, counter: store(name, limit) } : null;
  const loginPerIp = open('login-per-ip', policy.loginPerIp);
  const loginPerAccount = open('login-failures-per-username', policy.loginFailuresPerUsername);
  const loginPerAccountAndIp = open('login-failures-per-username-and-ip', policy.loginFailuresPerUsernameAndIp);
  const knownAddresses = loginPerAccount
    ? store('login-known-address', { attempts: 1, windowSeconds: KNOWN_ADDRESS_SECONDS })
    : null;
  const signupPerIp = open('signup-per-ip', policy.signupPerIp);
  const passwordChangePerIp = open('password-change-per-ip', policy.passwordChangePerIp);
  const passwordResetPerIp = open('password-reset-per-ip', policy.passwordResetPerIp);
  const passwordResetPerAccount = open('password-reset-per-account', policy.passwordResetPerAccount);
  const emailVerificationPerIp = open('email-verification-per-ip', policy.emailVerificationPerIp);
  const emailVerificationPerUser = open('email-verification-per-user', policy.emailVerificationPerUser);

  const admitted = { admitted: true } as const;

  async function admit(limit: NamedCounter | null, key: string, message: string): Promise<void> {
    if (!limit) return;
    const count = await limit.counter.count(key);
    if (!count.admitted) throw rateLimited(message, count.retryAfterSeconds, limit.name);
  }

  return {
    /**
     * Counts a login attempt before its password is checked. Attempts count against the
     * account until one succeeds, which forgets them: only failures add up, and the owner
     * logging in is never slowed by their own successes.
     */
    async admitLogin(clientAddress: string | undefined, username: string): Promise<LoginAttempt> {
      const address = clientAddressKey(clientAddress);
      await admit(loginPerIp, address, 'Too many login attempts from this address.');
      const account = accountKey(username);
      const accountAtAddress = `${account}@${address}`;
      const [fromAddress, fromAnywhere] = await Promise.all([
        loginPerAccountAndIp ? loginPerAccountAndIp.counter.count(accountAtAddress) : admitted,
        loginPerAccount ? loginPerAccount.counter.count(account) : admitted,
      ]);
      const failedLoginsMessage = 'Too many failed logins to this account.';
      if (!fromAddress.admitted && loginPerAccountAndIp) {
        throw rateLimited(failedLoginsMessage, fromAddress.retryAfterSeconds, loginPerAccountAndIp.name);
      }
      if (!fromAnywhere.admitted && loginPerAccount && !(await knownAddresses?.isCounted(accountAtAddress))) {
        throw rateLimited(failedLoginsMessage, fromAnywhere.retryAfterSeconds, loginPerAccount.name);
      }
      return {
        async succeeded() {
          await Promise.all([
            loginPerAccountAndIp?.counter.reset(accountAtAddress),
            loginPerAccount?.counter.reset(account),
            knownAddresses?.markSeen(accountAtAddress),
          ]);
        },
        async notChecked() {
          await Promise.all([
            loginPerAccountAndIp?.counter.uncount(accountAtAddress),
            loginPerAccount?.counter.uncount(account),
          ]);
        },
      };
    },

    /**
     * A login without a password (through an identity provider, counted when it starts; with a
     * passkey): against the same per-address limit as password logins, so that every way in is
     * bounded alike. There is no password here to guess, so no account's count moves.
     */
    admitLoginWithoutPassword: (clientAddress: string | undefined) =>
      admit(loginPerIp, clientAddressKey(clientAddress), 'Too many login attempts from this address.'),

    admitSignup: (clientAddress: string | undefined) =>
      admit(signupPerIp, clientAddressKey(clientAddress), 'Too many signups from this address.'),

    admitPasswordChange: (clientAddress: string | undefined) =>
      admit(passwordChangePerIp, clientAddressKey(clientAddress), 'Too many password changes from this address.'),

    /** A reset asked for (`login` given) or carried out. */
    async admitPasswordReset(clientAddress: string | undefined, login?: string): Promise<void> {
      await admit(passwordResetPerIp, clientAddressKey(clientAddress), 'Too many password resets from this address.');
      if (login !== undefined) {
        await admit(passwordResetPerAccount, accountKey(login), 'Too many password resets for this account.');
      }
    },

    /** A verification mail asked for by a user (`userId` given), or a verification carried out. */
    async admitEmailVerification(clientAddress: string | undefined, userId?: number): Promise<void> {
      const address = clientAddressKey(clientAddress);
      await admit(emailVerificationPerIp, address, 'Too many email verifications from this address.');
      if (userId !== undefined) {
        await admit(emailVerificationPerUser, String(userId), 'Too many verification mails for this account.');
      }
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
