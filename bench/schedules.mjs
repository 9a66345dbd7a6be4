// Randomized call schedules over a long run (issue #17): the same worlds as test/schedules.test.mjs
// (host/schedules.mjs), more of them and on other seeds. Counts the distinct calls lost, resurrected
// and duplicated; the goal is 0 / 0 / 0.
import { runWorlds, describeFailure } from '../host/schedules.mjs'

export const SCHEDULES = { worlds: 60, firstSeed: 1001, schedules: 20, length: 12, concurrency: 10 }

export async function schedules (options = SCHEDULES) {
  const { worlds, firstSeed, ...rest } = options
  const started = performance.now()
  const result = await runWorlds({ seeds: Array.from({ length: worlds }, (_, i) => firstSeed + i), ...rest })
  const { failures, ...totals } = result
  return {
    ...totals,
    worlds,
    seeds: `${firstSeed}-${firstSeed + worlds - 1}`,
    tookS: Math.round((performance.now() - started) / 1000),
    // Only when something went wrong: run.mjs prints each as NOT met and fails the bench.
    losses: failures.length ? failures.map(describeFailure) : undefined
  }
}
