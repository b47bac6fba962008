import { usernameCandidates } from '../../src/domain/identity-logins';

// The usernames a first login through a provider tries, before any database: the hint cleaned
// to this service's username rules, then the same with random suffixes.
describe('usernames for a user who first comes through a provider', () => {
  const stemOf = (hint: string | null) => usernameCandidates(hint, 'keycloak')[0];

  it('tries the hint as it is, then three different suffixed forms of it', () => {
    const [first, ...suffixed] = usernameCandidates('alice', 'keycloak');
    expect(first).toBe('alice');
    expect(suffixed).toHaveLength(3);
    for (const each of suffixed) expect(each).toMatch(/^alice-[0-9a-f]{6}$/);
    expect(new Set(suffixed).size).toBe(3);
  });

  it.each([
    ['whitespace and separators become one dash', 'Ada  Lovelace\u2003Byron', 'Ada-Lovelace-Byron'],
    ['control characters too', 'ada\u0000\u200bking', 'ada-king'],
    ['dashes at either end are trimmed', ' -ada- ', 'ada'],
    ['compatibility forms are normalised (NFKC)', 'ｆｕｌｌｗｉｄｔｈ', 'fullwidth'],
    ['an address-like hint is kept whole', 'ada@example.com', 'ada@example.com'],
  ])('%s', (_label, hint, expected) => {
    expect(stemOf(hint)).toBe(expected);
  });

  it('cuts a long hint to 40 characters, counting characters rather than UTF-16 units', () => {
    expect(stemOf('a'.repeat(41))).toBe('a'.repeat(40));
    expect(stemOf('😀'.repeat(41))).toBe('😀'.repeat(40));
  });

  it.each([
    ['no hint', null],
    ['an empty hint', ''],
    ['a hint of nothing but whitespace and dashes', ' \t-- '],
  ])('falls back to <provider>-user for %s', (_label, hint) => {
    const [first, second] = usernameCandidates(hint, 'github');
    expect(first).toBe('github-user');
    expect(second).toMatch(/^github-user-[0-9a-f]{6}$/);
  });
});
