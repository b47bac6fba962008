import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { AppError } from '../errors';

// bcrypt reads at most 72 bytes and silently ignores the rest, so longer passwords are
// refused rather than truncated.
const BCRYPT_MAX_BYTES = 72;

export interface PasswordPolicy {
  bcryptCost: number;
  minLength: number;
}

/** NIST SP 800-63B asks for Unicode normalisation, so that the same password typed on two keyboards matches. */
function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** What is wrong with a password that is to be stored, in words a person can act on; undefined if nothing. */
export function passwordProblem(
  password: string,
  { minLength }: Pick<PasswordPolicy, 'minLength'>,
): string | undefined {
  const normalized = normalizePassword(password);
  if ([...normalized].length < minLength) return `The password must be at least ${minLength} characters long.`;
  if (Buffer.byteLength(normalized, 'utf8') > BCRYPT_MAX_BYTES) {
    return `The password must be at most ${BCRYPT_MAX_BYTES} bytes in UTF-8.`;
  }
  // bcrypt's C core stops at a NUL byte; everything after it would be ignored.
  if (normalized.includes('\u0000')) return 'The password must not contain NUL characters.';
  return undefined;
}

export function createPasswordHasher(policy: PasswordPolicy) {
  // Unknown usernames are checked against this hash, so that they cost the same time as a
  // wrong password. It is made once, at the configured cost.
  const dummyHash = bcrypt.hash(randomBytes(16).toString('hex'), policy.bcryptCost);
  dummyHash.catch(() => undefined);

  return {
    /** Throws WEAK_PASSWORD unless the password may be stored. */
    assertAcceptable(password: string): void {
      const problem = passwordProblem(password, policy);
      if (problem) throw new AppError('WEAK_PASSWORD', { message: problem });
    },

    hash(password: string): Promise<string> {
      return bcrypt.hash(normalizePassword(password), policy.bcryptCost);
    },

    /**
     * Compares in bcrypt's constant time. Without a stored hash it compares against the dummy,
     * and a password that could never have been stored is still run through bcrypt, so every
     * refusal takes the same time.
     */
    async verify(password: string, storedHash: string | undefined): Promise<boolean> {
      const normalized = normalizePassword(password);
      const storable = Buffer.byteLength(normalized, 'utf8') <= BCRYPT_MAX_BYTES && !normalized.includes('\u0000');
      const matches = await bcrypt.compare(normalized, storedHash ?? (await dummyHash));
      return matches && storable && storedHash !== undefined;
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
