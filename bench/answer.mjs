// Answer: a staff screen answers a calling table (an empty retained message, QoS 1) and the table's
// light goes off. Timed from the staff's publish to the device driving the light's pin low, on
// loopback (real timers, in-process aedes); beside it, in the same run, the same message to an
// MQTT.js subscriber.
import mqtt from 'mqtt'
import { fillId } from '../host/device-id.mjs'
import { openDevice, until, sleep } from './harness.mjs'
import { summary } from './stats.mjs'

export const ANSWER = { answers: 50 }
const LEDS = ['D12', 'D13', 'D14', 'D15']
const WAIT_MS = 5000
// Longer than a blink phase (250 ms): once the broker has the call, the light is steady on.
const STEADY_MS = 300

export async function answer ({ answers } = ANSWER) {
  const buttons = [1, 2, 3, 4].map((table, i) => ({ pin: `D${15 + table}`, table, led: LEDS[i] }))
  const { s, close } = await openDevice({ buttons })
  const staff = await mqtt.connectAsync(s.url, { reconnectPeriod: 0 })
  const watcher = await mqtt.connectAsync(s.url, { reconnectPeriod: 0 })
  try {
    const topicOf = table => fillId(s.config.mqtt.tableTopic.replace('{n}', table), s.serial)
    await watcher.subscribeAsync(buttons.map(b => topicOf(b.table)), { qos: 1 })
    const offAt = new Map() // pin -> when it went low
    s.device.on('output', (pin, level) => { if (!level) offAt.set(pin, performance.now()) })
    const seen = new Map() // topic -> [payload, at]
    watcher.on('message', (topic, payload) => seen.set(topic, [payload.toString(), performance.now()]))

    const toLight = []
    const toSubscriber = []
    let missed = 0
    for (let i = 0; i < answers; i++) {
      const { table, led } = buttons[i % buttons.length]
      const topic = topicOf(table)
      await s.press(table)
      const calling = await until(s.device, 'output', () => s.device.output(led) === 1 && seen.get(topic)?.[0].startsWith('calling'), WAIT_MS)
      await sleep(STEADY_MS)
      offAt.delete(led)
      const at = performance.now()
      await staff.publishAsync(topic, '', { qos: 1, retain: true })
      const off = calling && await until(s.device, 'output', () => offAt.has(led), WAIT_MS)
      const heard = await until(watcher, 'message', () => seen.get(topic)?.[0] === '', WAIT_MS)
      if (!off || !heard) {
        missed++
        continue
      }
      toLight.push(offAt.get(led) - at)
      toSubscriber.push(seen.get(topic)[1] - at)
    }
    // A missed answer is a call the staff cleared whose light stayed on: the bench's verdict says so.
    const losses = missed ? [`${missed} of ${answers} answers never turned the table's light off (the firmware's) or never reached a subscriber (after the broker)`] : []
    return { answers, missed, losses, toLight: summary(toLight, 1), toSubscriber: summary(toSubscriber, 1) }
  } finally {
    await staff.endAsync()
    await watcher.endAsync()
    await close()
  }
}
