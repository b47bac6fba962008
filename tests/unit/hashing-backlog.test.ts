import { hashingBacklogSeconds } from '../../src/domain/passwords';

// The Retry-After of a login refused because the hashing queue is full. Through HTTP its value
// depends on how fast this machine hashes, so login-overload.test.ts checks only that it is there.
describe('the seconds until the hashing backlog is done', () => {
  it.each([
    // queued, threads, mean ms per hash, seconds
    [16, 2, 250, 3], // (16 + 2 running) × 0.25 s ÷ 2 threads = 2.25 s, rounded up
    [16, 1, 250, 5], // 17 × 0.25 s = 4.25 s
    [40, 4, 1000, 11], // 44 × 1 s ÷ 4 = 11 s exactly
    [3, 1, 1500, 6], // 4 × 1.5 s = 6 s
  ])('is %i queued on %i threads at %i ms a hash: %i s', (queued, threads, meanHashMs, seconds) => {
    expect(hashingBacklogSeconds(queued, threads, meanHashMs)).toBe(seconds);
  });

  it('is at least 1 s, even for a backlog shorter than a second', () => {
    expect(hashingBacklogSeconds(0, 4, 100)).toBe(1);
  });

  it.each([
    ['NaN', Number.NaN],
    ['0', 0],
  ])('assumes 250 ms a hash while no hash has finished (a mean of %s)', (_label, meanHashMs) => {
    expect(hashingBacklogSeconds(7, 1, meanHashMs)).toBe(2); // 8 × 0.25 s
    expect(hashingBacklogSeconds(11, 1, meanHashMs)).toBe(3); // 12 × 0.25 s
  });
});
