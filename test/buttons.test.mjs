// The buttons (src/buttons.ts) on their own, runtime-free: which pin is which table's button. What a
// press is on each runtime (rising edge, pull-down, debounce) is tested over the runtimes' models
// (firmware.test.mjs "each table, a bouncing contact and four tables at once", on both runtimes).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { importSrc } from './helpers/src-module.mjs'

const PINS = ['D16', 'D17', 'D18', 'D19']
const { watchButtons } = await importSrc('src/buttons.ts', {
  platform: 'export const watchPress = (pin, fn) => globalThis.watched.push([pin, fn])',
  define: { '__TABLECALL__.pins': JSON.stringify(PINS.join(' ')) }
})

test('buttons: each configured pin is watched once, and its press names its button', () => {
  globalThis.watched = []
  const pressed = []
  watchButtons(i => pressed.push(i))
  assert.deepEqual(globalThis.watched.map(([pin]) => pin), PINS)
  // The adapter says which pin was pressed (Espruino's watch event names it, Kaluma passes its number).
  const press = i => globalThis.watched[i][1](PINS[i])
  press(2)
  press(0)
  press(2)
  press(3)
  assert.deepEqual(pressed, [2, 0, 2, 3])
  // one handler for every button: nothing is kept per button (memory, issue #20)
  assert.equal(new Set(globalThis.watched.map(([, fn]) => fn)).size, 1)
})
