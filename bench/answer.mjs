// Answer: a staff screen answers a calling table by its call id (retained, QoS 1, on the table's answer
// topic) and the table's light goes off. Timed from the staff's publish to the device driving the
// light's pin low and to the device's idle state reaching a subscriber, on loopback (real timers,
// in-process aedes); beside them, in the same run, the answer itself reaching that subscriber.
import mqtt from 'mqtt'
import { parseState } from '../board/model.js'
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
    const topicOf = (template, table) => template.replaceAll('{id}', s.id).replaceAll('{n}', String(table))
    await watcher.subscribeAsync(buttons.flatMap(b => [topicOf(s.config.mqtt.tableTopic, b.table), topicOf(s.config.mqtt.answerTopic, b.table)]), { qos: 1 })
    const offAt = new Map() // pin -> when it went low
    s.device.on('output', (pin, level) => { if (!level) offAt.set(pin, performance.now()) })
    const seen = new Map() // topic -> [payload, at]
    watcher.on('message', (topic, payload) => seen.set(topic, [payload.toString(), performance.now()]))

    const toLight = []
    const toIdle = []
    const toSubscriber = []
    const lastCall = new Map() // table -> its last call id
    let missed = 0
    let reused = 0
    for (let i = 0; i < answers; i++) {
      const { table, led } = buttons[i % buttons.length]
      const state = topicOf(s.config.mqtt.tableTopic, table)
      const answerTopic = topicOf(s.config.mqtt.answerTopic, table)
      await s.press(table)
      // the device's state, read as the staff board reads it: { call } while calling
      const callOf = () => parseState(seen.get(state)?.[0] ?? 'none', Date.now())?.call
      const calling = await until(s.device, 'output', () => s.device.output(led) === 1 && callOf() !== undefined, WAIT_MS)
      if (!calling) {
        missed++
        continue
      }
      const call = String(callOf())
      if (lastCall.has(table) && Number(call) <= Number(lastCall.get(table))) reused++
      lastCall.set(table, call)
      await sleep(STEADY_MS)
      offAt.delete(led)
      seen.delete(answerTopic)
      const at = performance.now()
      await staff.publishAsync(answerTopic, call, { qos: 1, retain: true })
      const off = await until(s.device, 'output', () => offAt.has(led), WAIT_MS)
      const idle = await until(watcher, 'message', () => seen.get(state)?.[0] === '', WAIT_MS)
      const heard = await until(watcher, 'message', () => seen.get(answerTopic)?.[0] === call, WAIT_MS)
      if (!off || !idle || !heard) {
        missed++
        continue
      }
      toLight.push(offAt.get(led) - at)
      toIdle.push(seen.get(state)[1] - at)
      toSubscriber.push(seen.get(answerTopic)[1] - at)
    }
    // A missed answer is a call the staff answered whose light stayed on: the bench's verdict says so.
    const losses = [
      ...missed ? [`${missed} of ${answers} answers never turned the table's light off and its state idle (the firmware's), or never reached a subscriber (after the broker)`] : [],
      ...reused ? [`${reused} calls had an id not above the table's previous call`] : []
    ]
    return { answers, missed, reused, losses, toLight: summary(toLight, 1), toIdle: summary(toIdle, 1), toSubscriber: summary(toSubscriber, 1) }
  } finally {
    await staff.endAsync()
    await watcher.endAsync()
    await close()
  }
}
