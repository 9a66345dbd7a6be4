// Outage: the broker goes down for 10 s while guests keep pressing, then comes back (a fresh aedes:
// no sessions, no subscriptions). Deliveries are counted at the broker, which measures the device,
// and at the staff subscriber: MQTT.js with a clean session resubscribes ~200 ms after the broker
// returns, and what the device publishes before that never reaches it.
import { openDevice, tapBroker, deliveries, countCalls, logLine, until, deviceSleep, deviceCounts } from './harness.mjs'

export const OUTAGE = { downS: 10, presses: 20, holdMs: 80 }
// Longer than the firmware's longest backoff (60 s): a device that never comes back shows as such.
const RECOVER_MS = 70000
const SUBSCRIBER_GRACE_MS = 3000

const since = (t0, t) => t === undefined ? undefined : Math.round(t - t0)

export async function outage ({ downS, presses, holdMs } = OUTAGE) {
  const { s, close } = await openDevice()
  try {
    const tap = tapBroker(s.broker, s.config, topic => topic === s.topic)
    const calls = countCalls(s)
    const tables = s.config.buttons.map(b => b.table)
    const intervalMs = downS * 1000 / presses

    await s.broker.stop()
    const downAt = performance.now()
    for (let i = 0; i < presses; i++) {
      await deviceSleep(s, Math.max(0, downAt + (i + 0.5) * intervalMs - performance.now()))
      await s.press(tables[i % tables.length], { holdMs })
    }
    await deviceSleep(s, Math.max(0, downAt + downS * 1000 - performance.now()))
    const logFrom = s.device.logs.length
    await s.broker.start()
    const backAt = performance.now()
    tap.arm()

    let reconnectedAt
    logLine(s.device, 'mqtt: connected', { from: logFrom, timeoutMs: RECOVER_MS }).then(() => { reconnectedAt = performance.now() }, () => {})
    await until(tap, 'publish', () => tap.unique() >= presses, RECOVER_MS)
    await until(s, 'call', () => calls.total >= presses, SUBSCRIBER_GRACE_MS)
    const device = deviceCounts(s.device)
    const { atBroker, atSubscriber, losses } = deliveries(presses, tap.seen, calls, device.registered)
    const firstSeen = new Map()
    for (const p of tap.seen) if (!firstSeen.has(p.id)) firstSeen.set(p.id, p.at)
    return {
      downS,
      presses,
      atBroker: { ...atBroker, lastDeliveryAfterReturnMs: since(backAt, Math.max(...firstSeen.values())) },
      atSubscriber: { ...atSubscriber, lastDeliveryAfterReturnMs: since(backAt, calls.lastAt) },
      reconnectAfterReturnMs: since(backAt, reconnectedAt),
      failedConnects: s.device.logs.filter(l => l.startsWith('mqtt: cannot reach')).length,
      device,
      losses
    }
  } finally {
    await close()
  }
}
