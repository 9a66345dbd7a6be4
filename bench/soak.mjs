// Soak: 10,000 quick presses (2,500 per table, all tables at once). Like the burst, the firmware is
// built with a short debounce (5 ms) so a 15 ms press and a 15 ms release each count (at the shipped
// 40 ms this would take four minutes). Holds and releases are timed on the device's clock, so a
// loaded machine slows the presses down rather than shortening them below the debounce.
// Afterwards the device's connection is reset: the firmware's reconnect line says how many presses
// were still waiting in its store ("sending N waiting press(es)"), which reads the store size without
// a look inside the device.
import { openDevice, tapBroker, deliveries, countCalls, pressTables, logLine, until, deviceCounts } from './harness.mjs'

export const SOAK = { presses: 10000, debounceMs: 5, holdMs: 15, releaseMs: 15 }
const DRAIN_MS = 10000

export async function soak (options = SOAK) {
  const { presses, debounceMs, holdMs, releaseMs } = options
  const { s, close } = await openDevice({ debounceMs })
  try {
    const tap = tapBroker(s.broker, s.config, topic => topic === s.topic)
    const calls = countCalls(s)
    const count = Math.ceil(presses / s.config.buttons.length)
    const total = count * s.config.buttons.length
    const tookMs = await pressTables(s, { count, periodMs: holdMs + releaseMs, holdMs, bounce: false, releaseMs })
    await until(tap, 'publish', () => tap.unique() >= total, DRAIN_MS)
    await until(s, 'call', () => calls.total >= total, DRAIN_MS)

    const logFrom = s.device.logs.length
    s.device.net.dropAll()
    const reconnect = await logLine(s.device, 'mqtt: connected', { from: logFrom })
    const waiting = Number((/sending (\d+) waiting/.exec(reconnect) || [0, 0])[1])
    const device = deviceCounts(s.device)
    return {
      ...options,
      presses: total,
      tookS: Number((tookMs / 1000).toFixed(1)),
      ...deliveries(total, tap.seen, calls, device.registered),
      storeAfter: waiting,
      device,
      deviceMemory: 'not exposed by the host runtime (process.memory() is reachable from device code only); see the real interpreter'
    }
  } finally {
    await close()
  }
}
