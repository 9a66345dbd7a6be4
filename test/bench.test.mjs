// npm run bench's verdict on lost presses, and how its real section runs programs (its figures are
// not tested: see BENCHMARKS.md).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { losses } from '../bench/harness.mjs'
import { latencyGoals } from '../bench/latency.mjs'
import { preludeAlone, runWay, writeProgram } from '../bench/espruino.mjs'

const path = (registered, atBroker, atSubscriber) => ({ presses: 100, registered, atBroker: { unique: atBroker }, atSubscriber: { received: atSubscriber } })

test('no loss, no verdict against anyone', () => {
  assert.deepEqual(losses(path(100, 100, 100)), [])
})

test('each loss names whose it is: simulator, firmware, or after the broker', () => {
  assert.deepEqual(losses(path(97, 97, 97)), ['3 of 100 presses lost by the simulator: pressed, never registered on the device'])
  assert.deepEqual(losses(path(100, 98, 98)), ['2 lost by the firmware: registered on the device, never delivered to the broker'])
  assert.deepEqual(losses(path(100, 100, 99)), ['1 lost after the broker: delivered there, never received by the staff subscriber'])
  assert.deepEqual(losses(path(99, 97, 96)), [
    '1 of 100 presses lost by the simulator: pressed, never registered on the device',
    '2 lost by the firmware: registered on the device, never delivered to the broker',
    '1 lost after the broker: delivered there, never received by the staff subscriber'
  ])
})

test('a latency over its goal is a goal NOT met, which fails the bench like a lost press', () => {
  // bench/run.mjs exits 1 when a section's goals hold one with met false
  assert.deepEqual(latencyGoals(4, 5).map(g => g.met), [true, true])
  const [minus, settled] = latencyGoals(12, 5.3)
  assert.deepEqual([minus.met, settled.met], [false, false])
  assert.match(settled.text, /contact settled \+ debounce -> subscriber, p99 <= 5 ms/)
  assert.equal(settled.value, '5.3 ms')
})

test('a bounce registered as an extra press is a loss of accuracy too', () => {
  assert.deepEqual(losses(path(101, 100, 100)), ['registered 1 more than pressed: a bounce counted as a press'])
})

// The soak goal compares blocks at +4 with blocks after the soak: the bench's own prelude must hold
// the same at both marks (an inline callback alive only at the first one made the firmware look
// 14 blocks smaller after 1,000 presses).
test('the real section\'s prelude holds the same memory at +4 and after the soak', { skip: !process.env.ESPRUINO_BIN && 'ESPRUINO_BIN is not set (an Espruino 2v29 built for Linux)' }, async () => {
  const { memory } = await preludeAlone({ presses: 40, account: false })
  assert.ok(Math.abs(memory.soak.usage - memory.pressed.usage) <= 1, `+4: ${memory.pressed.usage} blocks, after the soak: ${memory.soak.usage}`)
})

// (b) must measure what npm run flash saves: the program pretokenised, where a long string literal
// at rest is a reference into flash (one block) instead of a RAM copy (a block per ~20 chars here).
test('the real section\'s (b) boots the program pretokenised, (a) as text', { skip: !process.env.ESPRUINO_BIN && 'ESPRUINO_BIN is not set (an Espruino 2v29 built for Linux)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-bench-'))
  try {
    writeProgram(dir, `var s = "${'x'.repeat(300)}"; print("BLOCKS " + E.getSizeOf(s)); quit();\n`)
    const blocks = async (way) => Number((await runWay(process.env.ESPRUINO_BIN, dir, way, 20)).lines.find((l) => l.startsWith('BLOCKS ')).slice(7))
    assert.ok(await blocks('flash') <= 2, 'from .bootcde: one block pointing into flash')
    assert.ok(await blocks('uploaded') >= 10, 'uploaded: a copy in RAM')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
