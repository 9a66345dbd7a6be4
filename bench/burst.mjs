// Burst: all four tables at 20 presses/s each for 10 s. Espruino's debounce counts a press only once
// the level has been stable for debounceMs, so with the shipped 40 ms a button can register at most
// ~11 presses/s (held >40 ms, released >40 ms); shorter taps are filtered out as bounce, which is
// the point of it. To push 80 presses/s through the MQTT path this section builds the same firmware
// with debounceMs 10 and presses for 20 ms (bouncing) with 30 ms released: every press is distinct.
import { openDevice, tapBroker, deliveries, countCalls, pressTables, until, deviceCounts } from './harness.mjs'

export const BURST = { perSecond: 20, seconds: 10, debounceMs: 10, holdMs: 20, bounce: true }
const DRAIN_MS = 10000

export async function burst (options = BURST) {
  const { perSecond, seconds, debounceMs, holdMs, bounce } = options
  const { s, close } = await openDevice({ debounceMs })
  try {
    const tap = tapBroker(s.broker, s.config, topic => topic === s.topic)
    const calls = countCalls(s)
    const periodMs = 1000 / perSecond
    const count = perSecond * seconds
    const presses = count * s.config.buttons.length
    const tookMs = await pressTables(s, { count, periodMs, holdMs, bounce, releaseMs: debounceMs + 3 })
    await until(s, 'call', () => calls.total >= presses, DRAIN_MS)
    const device = deviceCounts(s.device)
    return {
      ...options,
      presses,
      perTable: count,
      tookS: Number((tookMs / 1000).toFixed(1)),
      ...deliveries(presses, tap.seen, calls, device.registered),
      device
    }
  } finally {
    await close()
  }
}
