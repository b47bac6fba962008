/**
 * The node flags the service's process starts with (package.json's start, the Procfile and the
 * Docker image say them; tests/unit/deploy-files holds the three to this list). Each was measured
 * with `npm run bench` on this project's machine (docs/operations.md, Performance). They are given
 * on the command line: V8 reads them as it starts. Set at run time instead (v8.setFlagsFromString),
 * `--liftoff-only` held on Node 20 but not on Node 24, where embedded PGlite then took 530 MB at
 * start instead of 185 MB.
 *
 * - `--max-semi-space-size=8`: a young generation of 16 MB, so that a request's objects die young.
 * - `--liftoff-only`: WebAssembly compiled by Liftoff only. Embedded PGlite is Postgres compiled to
 *   WebAssembly; V8's optimising tier recompiles its hot functions in background threads, whose
 *   memory stayed resident and which took a core at start, for no query measurably faster.
 * - `--no-allocation-site-pretenuring`: seeing the objects of the first, slower requests (start-up,
 *   a cold cache) outlive the young generation, V8 may decide to allocate every request's objects
 *   in the old one from then on: in 2 of 5 runs the peak RSS went from about 147 MB to 215 MB and
 *   throughput fell by a third. Without it, 5 of 5 runs peaked at 144–151 MB.
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=8', '--liftoff-only', '--no-allocation-site-pretenuring'];

/** The flags of SERVICE_NODE_FLAGS that this process was not started with. */
export function missingServiceNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVICE_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
