import v8 from 'node:v8';

/**
 * V8 settings for the service's process, each measured with `npm run bench` on this project's
 * machine (docs/operations.md, Performance). They are set at run time, before the work they shape: V8 reads
 * them when it decides, not only when it starts.
 *
 * - No allocation-site pretenuring. Seeing the objects of the first, slower requests (start-up,
 *   a cold cache) outlive the young generation, V8 may decide to allocate every request's objects
 *   in the old one from then on: in 2 of 5 runs the peak RSS went from about 147 MB to 215 MB and
 *   throughput fell by a third, as the old generation filled with garbage. Without it, 5 of 5 runs
 *   peaked at 144–151 MB.
 * - WebAssembly compiled by Liftoff only. Embedded PGlite is Postgres compiled to WebAssembly; V8's
 *   optimising tier recompiles its hot functions in background threads, whose memory stayed
 *   resident (about 60 MB) and which took a core at start, for no query measurably faster.
 */
export function applyServiceV8Settings(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
  v8.setFlagsFromString('--liftoff-only');
}
