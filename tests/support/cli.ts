import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli';

/** Runs one CLI command in this process, with no stdin, and answers its exit code and output. */
export async function runCliCapturing(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk) => (stdout += String(chunk)));
  err.on('data', (chunk) => (stderr += String(chunk)));
  const code = await runCli(argv, { env, stdin: Readable.from([]), stdout: out, stderr: err });
  return { code, stdout, stderr };
}
