// Retries an action later, with exponential backoff (1 s doubling to 60 s) and jitter, so a device
// neither hammers a refusing broker nor retries in step with every other device that lost it.
// A retry is plain data, e.g. { w: 'mqtt: connecting', a: connect, n: 0 }, and these
// functions act on it (no closures per retry: Espruino keeps each function's source text, so a
// factory's closures would hold the code once per retry).
import { log } from './platform'

// (a const enum: esbuild writes its numbers in place, where a top-level const would be a variable
// kept in memory for good)
const enum R { FIRST_MS = 1000, MAX_MS = 60000 }

// (one-letter fields, as in mqtt.ts's Message: property names are not minified and each costs memory)
export interface Retry {
  /** what is retried, for the log ('mqtt: connecting') */
  w: string
  /** the action */
  a: () => void
  /**
   * backoff steps taken (counting on past the longest delay, so a cut-short step is undone by one
   * less); 0 after a good connection, so the next failure waits the first delay
   */
  n: number
  /** the pending wait's timer */
  t?: number
}

/** Schedules the action after the next backoff delay, unless one is already scheduled. */
export function retryLater (r: Retry) {
  if (r.t !== undefined) return
  const ms = Math.min(R.MAX_MS, R.FIRST_MS * Math.pow(2, r.n++)) * (0.75 + Math.random() * 0.5)
  log(r.w + ' again in ' + (ms / 1000).toFixed(1) + ' s')
  r.t = setTimeout(() => {
    r.t = undefined
    r.a()
  }, ms)
}

/** Cancels the scheduled action; whether there was one. */
export function retryCancel (r: Retry): boolean {
  const pending = r.t !== undefined
  // (tested again, not through `pending`: the build's Kaluma check sees only a direct test)
  if (r.t !== undefined) clearTimeout(r.t)
  r.t = undefined
  return pending
}
