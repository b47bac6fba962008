import { retryDelaySeconds } from '../../src/mail/outbox-worker';

describe('the wait before a failed mail is tried again', () => {
  it('doubles from one second, up to five minutes', () => {
    expect([1, 2, 3, 4, 8, 9, 10, 50].map(retryDelaySeconds)).toEqual([1, 2, 4, 8, 128, 256, 300, 300]);
  });
});
