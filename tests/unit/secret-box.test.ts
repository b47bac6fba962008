import { createSecretKey, randomBytes } from 'node:crypto';
import { createSecretBox } from '../../src/domain/secret-box';

describe('the secret box that keeps TOTP secrets', () => {
  const box = createSecretBox(createSecretKey(randomBytes(32)));

  it('opens what it sealed, for the same context only', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:1');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(sealed, 'totp:1')).toBe('JBSWY3DPEHPK3PXP');
    // A row copied onto another user's does not open there.
    expect(() => box.open(sealed, 'totp:2')).toThrow();
  });

  it('seals the same secret differently each time', () => {
    expect(box.seal('same', 'totp:1')).not.toBe(box.seal('same', 'totp:1'));
  });

  it('refuses a value sealed with another key, altered, or not sealed at all', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:1');
    expect(() => createSecretBox(createSecretKey(randomBytes(32))).open(sealed, 'totp:1')).toThrow(
      'sealed with none of the keys',
    );
    const parts = sealed.split('.');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0]! ^= 1;
    expect(() => box.open([...parts.slice(0, 3), ciphertext.toString('base64url')].join('.'), 'totp:1')).toThrow();
    expect(() => box.open(['v2', ...parts.slice(1)].join('.'), 'totp:1')).toThrow('not a sealed value');
    expect(() => box.open('JBSWY3DPEHPK3PXP', 'totp:1')).toThrow('not a sealed value');
  });

  it('takes 32-byte keys only, previous keys too', () => {
    expect(() => createSecretBox(createSecretKey(randomBytes(16)))).toThrow('32 bytes');
    expect(() => createSecretBox(createSecretKey(randomBytes(32)), [createSecretKey(randomBytes(16))])).toThrow(
      '32 bytes',
    );
  });

  describe('rotated to a new key, with the old one as a previous key', () => {
    const oldKey = createSecretKey(randomBytes(32));
    const newKey = createSecretKey(randomBytes(32));
    const oldBox = createSecretBox(oldKey);
    const rotated = createSecretBox(newKey, [oldKey]);

    it('still opens what the old key sealed, and seals with the new one only', () => {
      const sealedBefore = oldBox.seal('JBSWY3DPEHPK3PXP', 'totp:1');
      expect(rotated.open(sealedBefore, 'totp:1')).toBe('JBSWY3DPEHPK3PXP');
      expect(() => rotated.open(sealedBefore, 'totp:2')).toThrow();
      expect(() => oldBox.open(rotated.seal('x', 'totp:1'), 'totp:1')).toThrow();
    });

    it('reseals under the new key what the old one sealed, and leaves alone what the new one did', () => {
      const resealed = rotated.reseal(oldBox.seal('JBSWY3DPEHPK3PXP', 'totp:1'), 'totp:1')!;
      // What remains once the old key is dropped opens it.
      expect(createSecretBox(newKey).open(resealed, 'totp:1')).toBe('JBSWY3DPEHPK3PXP');
      expect(() => oldBox.open(resealed, 'totp:1')).toThrow();
      expect(rotated.reseal(resealed, 'totp:1')).toBeUndefined();
      expect(() =>
        rotated.reseal(createSecretBox(createSecretKey(randomBytes(32))).seal('x', 'totp:1'), 'totp:1'),
      ).toThrow();
    });
  });
});
