// Table states and lights. A press publishes the table's state, retained: `calling`, or
// `calling <ms since the epoch>` when the clock is real; a table already calling keeps its first
// press time. A staff screen answers with an empty retained message. The device mirrors what the
// broker holds (it subscribes to its own table states) and each table light shows it: blinking while
// the state waits for the broker's PUBACK, on while calling, off once answered.
import { latest, waiting, Message } from './mqtt'
import { writePin } from './platform'

// 2024-01-01: an earlier clock has not been set (SNTP) and says nothing about the real time.
const CLOCK_SET = 1704067200000
const BLINK_MS = 250

// The settings: per button its state packet (`calling`, retained, QoS 1) and its light's pin or ''.
const S = __TABLECALL__
// Per button: the state the broker has or will have; '' or none = idle.
const calling: string[] = []
// the blinking lights' level: 2 Hz
let phase = 0

// A state packet has a 2-byte fixed header (the build checks), then the topic and the packet id.
const idAt = (p: string) => 4 + p.charCodeAt(3)

// The packet of table `i`'s state; with the press time appended (and 14 added to the one-byte
// remaining length).
function message (i: number): Message {
  const c = calling[i]
  const t = S.state[i]
  const p = c.length > 7 ? t[0] + String.fromCharCode(t.charCodeAt(1) + 14) + t.slice(2) + c.slice(7) : t
  return { p, at: idAt(p), id: 0, k: i }
}

/** Sets every light from the states and the store: blinking while a state waits for its PUBACK. */
export function lights () {
  S.leds.forEach((pin, i) => {
    if (pin) writePin(pin, waiting(i, false) ? phase : calling[i] ? 1 : 0)
  })
}

export function startTables () {
  lights()
  if (S.leds.length) {
    setInterval(() => {
      phase ^= 1
      lights()
    }, BLINK_MS)
  }
}

/** Button `i` was pressed. */
export function pressTable (i: number) {
  const now = Math.floor(Date.now())
  calling[i] = calling[i] || (now > CLOCK_SET ? 'calling ' + now : 'calling')
  latest(message(i))
  lights()
}

// `calling`, or `calling ` and 13 digits
const isCalling = (p: string) => p === 'calling' || (p.length === 21 && p.slice(0, 8) === 'calling ' && !/\D/.test(p.slice(8)))

/** A message on a subscribed topic, from the broker: hostile input. */
export function tableMessage (topic: string, payload: string) {
  S.state.forEach((p, i) => {
    // the topic as the state packet carries it (one byte of length suffices: the build checks)
    if (p.substr(4, p.charCodeAt(3)) !== topic) return
    // A state of ours still waiting for its PUBACK is newer than what the broker says now.
    if (payload === '') {
      if (!waiting(i, true)) calling[i] = ''
    } else if (isCalling(payload) && !waiting(i, false)) calling[i] = payload
  })
  lights()
}

/**
 * After CONNACK. Without a session the broker has most likely lost its retained states: publish
 * again the states of tables still calling (see src/mqtt.ts for why).
 */
export function restoreTables (session: boolean) {
  if (session) return
  calling.forEach((c, i) => {
    if (c && !waiting(i, false)) latest(message(i))
  })
  lights()
}
