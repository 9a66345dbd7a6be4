// npm run bench's verdict on lost presses (its figures are not tested: see BENCHMARKS.md).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { losses } from '../bench/harness.mjs'
import { preludeAlone } from '../bench/espruino.mjs'

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
