import bcrypt from 'bcrypt';

/** One piece of bcrypt work, run on a thread of the password-hashing pool. */
export type BcryptTask =
  { operation: 'hash'; password: string; cost: number } | { operation: 'compare'; password: string; hash: string };

// Synchronous on purpose: the pool's own thread does the work (at the pool's lowered priority),
// not libuv's shared threads, which also serve the event loop's file and DNS work.
export default function runBcryptTask(task: BcryptTask): string | boolean {
  return task.operation === 'hash'
    ? bcrypt.hashSync(task.password, task.cost)
    : bcrypt.compareSync(task.password, task.hash);
}
