// Issue #17's randomized acceptance test: 200 schedules of presses on 4 tables, answers from two
// screens (screen B dropping, going silent and coming back), link cuts, broker saves, kill -9 and
// restarts with and without persistence, on fixed seeds (host/schedules.mjs). After each schedule
// settles, every light, the broker's retained states and both screens show exactly the unanswered
// calls, and no call was lost, resurrected or opened twice. A failure prints the world's seed and its
// schedules, to replay with runWorld(makeWorld(seed, ...)). `npm run bench -- --only schedules` runs more.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runWorlds, describeFailure } from '../host/schedules.mjs'

// 20 worlds (one device, broker and pair of screens each) of 10 schedules of 12 steps.
const WORLDS = { seeds: Array.from({ length: 20 }, (_, i) => i + 1), schedules: 10, length: 12 }

test('200 random schedules: after each, the lights, the broker and both screens show exactly the unanswered calls', async () => {
  const result = await runWorlds({ ...WORLDS, concurrency: 10 })
  assert.equal(result.schedules, 200)
  assert.ok(result.calls > 100 && result.answers > 100, `the schedules made ${result.calls} calls and ${result.answers} answers`)
  assert.deepEqual(result.failures.map(describeFailure), [], `lost / resurrected / duplicated calls: ${result.lost} / ${result.resurrected} / ${result.duplicated}, other violations: ${result.other}`)
})
