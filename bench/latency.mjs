// Latency: presses spread over time on rotating tables (real timers, bouncing contacts), timed to
// the staff subscriber. Beside them, in the same run and through the same broker, the floor: an
// MQTT.js client publishing the same message QoS 1 to a subscriber on a sibling topic.
import mqtt from 'mqtt'
import { subscribe } from '../host/subscriber.mjs'
import { messageFor } from '../tools/build/packets.mjs'
import { openDevice, until, sleep, deviceSleep, tapBroker, deliveries, deviceCounts } from './harness.mjs'
import { summary, seededRandom } from './stats.mjs'

export const OVERHEAD_GOAL_P99_MS = 5
// After a release the debounce must settle before the same button is pressed again.
const RELEASE_MARGIN_MS = 5
const DRAIN_MS = 5000

const ratio = (a, b) => (a !== undefined && b) ? Number((a / b).toFixed(1)) : undefined

/** The latency goals, as lines the bench prints and fails on (NOT met: exit 1), from the two p99s in ms. */
export function latencyGoals (minusDebounceP99, settledP99) {
  const goal = (text, p99) => ({ text: `${text}, p99 <= ${OVERHEAD_GOAL_P99_MS} ms`, value: `${p99} ms`, met: p99 <= OVERHEAD_GOAL_P99_MS })
  return [goal('press -> staff subscriber minus the debounce', minusDebounceP99), goal('contact settled + debounce -> subscriber', settledP99)]
}

/** The floor: publish → subscriber and publish → PUBACK for an MQTT.js client. */
async function floorClient (url, topic, payload) {
  const sentAt = []
  const toSubscriber = []
  const toPuback = []
  const sub = await subscribe(url, topic, { onMessage: () => toSubscriber.push(performance.now() - sentAt.shift()) })
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  const pending = []
  return {
    toSubscriber,
    toPuback,
    publish () {
      const at = performance.now()
      sentAt.push(at)
      pending.push(pub.publishAsync(topic, payload, { qos: 1 }).then(() => toPuback.push(performance.now() - at)))
    },
    async close () {
      await Promise.all(pending)
      await sub.waitFor(pending.length, DRAIN_MS).catch(() => {})
      await pub.endAsync()
      await sub.close()
    }
  }
}

export async function latency ({ presses = 1000, minGapMs = 20, maxGapMs = 60, holdMs = 80, seed = 1 } = {}) {
  const { s, close } = await openDevice()
  const { debounceMs, buttons, message } = s.config
  const tables = buttons.map(b => b.table)
  const pinOf = new Map(buttons.map(b => [b.table, b.pin]))
  const floor = await floorClient(s.url, `${s.topic}/floor`, messageFor(message, tables[0]))

  // When each pin last went high: its contact settled then, so its debounce ends debounceMs later.
  const lastRise = new Map()
  const setPin = s.device.setPin.bind(s.device)
  s.device.setPin = (pin, level) => {
    if (level) lastRise.set(pin, performance.now())
    setPin(pin, level)
  }
  const tap = tapBroker(s.broker, s.config, topic => topic === s.topic)
  const fromPress = []
  const fromSettled = []
  let dup = 0
  s.on('call', c => {
    fromSettled.push(performance.now() - lastRise.get(pinOf.get(c.table)) - debounceMs)
    if (c.latencyMs !== undefined) fromPress.push(c.latencyMs)
    if (c.dup) dup++
  })

  try {
    const random = seededRandom(seed)
    const busy = new Map()
    const floorSends = []
    const started = performance.now()
    let next = started
    for (let i = 0; i < presses; i++) {
      const gap = minGapMs + random() * (maxGapMs - minGapMs)
      const table = tables[i % tables.length]
      await busy.get(table)
      next = Math.max(next + gap, performance.now())
      if (next > performance.now()) await deviceSleep(s, next - performance.now())
      busy.set(table, s.press(table, { holdMs }).then(() => deviceSleep(s, debounceMs + RELEASE_MARGIN_MS)))
      floorSends.push(sleep(gap / 2).then(floor.publish))
    }
    const durationMs = performance.now() - started
    await Promise.all([...busy.values(), ...floorSends])
    await until(s, 'call', () => fromSettled.length >= presses, DRAIN_MS)
    await floor.close()

    const minusDebounce = summary(fromPress.map(ms => ms - debounceMs), 0)
    const overhead = summary(fromSettled)
    const toSubscriber = summary(floor.toSubscriber)
    const { losses } = deliveries(presses, tap.seen, { total: fromSettled.length, dup }, deviceCounts(s.device).registered)
    return {
      presses,
      delivered: fromSettled.length,
      losses,
      duplicates: dup,
      pressesPerSecond: Number((presses / durationMs * 1000).toFixed(1)),
      holdMs,
      debounceMs,
      pressToDelivery: summary(fromPress, 0),
      minusDebounce,
      settledToDelivery: overhead,
      floor: { toSubscriber, toPuback: summary(floor.toPuback) },
      ratio: { p50: ratio(overhead.p50, toSubscriber.p50), p99: ratio(overhead.p99, toSubscriber.p99) },
      goals: latencyGoals(minusDebounce.p99, overhead.p99)
    }
  } finally {
    await close()
  }
}
