/**
 * Polls `probe` until `accept` holds for its answer, for at most `withinMs`; answers the last
 * answer. For what a peer instance learns asynchronously (a notification), never for timing.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  accept: (answer: T) => boolean,
  withinMs = 1000,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const answer = await probe();
    if (accept(answer) || Date.now() >= deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
