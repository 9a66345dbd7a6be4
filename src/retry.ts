// Retries an action later, with exponential backoff (1 s doubling to 60 s) and jitter, so a device
// neither hammers a refusing broker nor retries in step with every other device that lost it.
const FIRST_MS = 1000
const MAX_MS = 60000

export interface Retry {
  /** Schedules the action after the next backoff delay, unless one is already scheduled. */
  later(): void
  /** Runs a scheduled action now; if it fails, the next wait is the one just cut short, not longer. */
  now(): void
  /** After a good connection: the next failure waits the first delay again. */
  reset(): void
  cancel(): void
}

export function retry (what: string, log: (line: string) => void, action: () => void): Retry {
  let step = 0
  // whether the pending wait moved the backoff on a step
  let grew = false
  let timer: number | undefined
  const run = () => {
    timer = undefined
    action()
  }
  return {
    later: () => {
      if (timer !== undefined) return
      const base = Math.min(MAX_MS, FIRST_MS * Math.pow(2, step))
      grew = base < MAX_MS
      if (grew) step++
      const ms = Math.round(base * (0.75 + Math.random() * 0.5))
      log(what + ' again in ' + (ms / 1000).toFixed(1) + ' s')
      timer = setTimeout(run, ms)
    },
    now: () => {
      if (timer === undefined) return
      clearTimeout(timer)
      if (grew) step--
      run()
    },
    reset: () => {
      step = 0
    },
    cancel: () => {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    }
  }
}
