// Calls, table states and lights; the device is the one source of truth of its tables. The first press
// on an idle table opens a call with a new id, later presses join it, and only an answer carrying that
// id (or a later one) ends it. Each table's state goes out retained: `calling <call>`, plus ` <ms>` of
// the first press when the clock is real, or empty once answered; again at every CONNACK, so a broker
// that lost or kept stale states is corrected. The device also hears its own states: after a reboot a
// `calling <c>` with c above every answer seen is a call still open. Each light blinks while the state
// waits for the broker's PUBACK, is on while calling, off once answered.
import { publish, waiting } from './mqtt'
import { writePin, log, boots } from './platform'
import { S } from './settings'
import { withId } from './id'

// (a const enum: esbuild writes its numbers in place, where a top-level const would be a variable
// kept in memory for good)
const enum T {
  // 2024-01-01: an earlier clock has not been set (SNTP) and says nothing about the real time.
  CLOCK_SET = 1704067200000,
  BLINK_MS = 250,
  // A call id is the boot count times this plus a sequence per boot: increasing across reboots, and
  // no flash write per press.
  PER_BOOT = 1000000,
  // The store key of a press that joined an open call on button 0 (button i: JOINED - i); a press that
  // opened one is -1 - i.
  JOINED = -17
}

// Per button: the open call's id, 0 when idle; unset (or null, restored) until a press or the broker tells.
export const open: number[] = []
// Per button: ' <ms>' of the open call's first press, or ''.
export const since: string[] = []
// Per button: the highest call id used, or received in an answer or a state (a new one is above).
export const top = S.tables.map(() => 0)
// Per button: whether the open call's state went to the broker on an earlier connection.
const old: boolean[] = []
// the call ids' sequence in this start
let seq = 0
// the blinking lights' level: 2 Hz
let phase = 0

// Table `i`'s state, a latest-value message: a PUBLISH (QoS 1, retained: 0x33) made from the state
// topic's entry in the SUBSCRIBE: its length byte, the topic, QoS 1. Each entry follows a NUL, which
// occurs nowhere else (topics have none and are shorter than 256 bytes: the build checks), so
// splitting at NULs gives the header, then per button its state and answer topics' entries.
// One-byte remaining length (the build checks), then the topic, the packet id (zeros until sent) and
// the payload. Made at each publish, so no packet per table is kept in memory. `heard`: the state the
// broker just said it holds; not sent again when that is the truth and no other is waiting.
// (Helpers such as the payload's are written in place: each function costs memory for good.)
function publishState (i: number, heard?: string) {
  const c = open[i] ? 'calling ' + open[i] + since[i] : ''
  if (c === heard && !waiting(i)) return
  const e = withId(S.subscribe.split('\0')[1 + 2 * i])
  const n = e.charCodeAt(0)
  publish({ p: '\x33' + String.fromCharCode(4 + n + c.length) + '\0' + e.slice(0, -1) + '\0\0' + c, at: 4 + n, k: i })
}

// A new call on table `i`, its first press at `at`.
function newCall (i: number, at: number) {
  at = Math.floor(at)
  // `boots`: this start's number, kept in flash by the platform
  open[i] = top[i] = Math.max(top[i] + 1, boots * T.PER_BOOT + ++seq)
  since[i] = at > T.CLOCK_SET ? ' ' + at : ''
  old[i] = false
}

/** Sets every light from the calls and the store: a call blinks while its state waits for the PUBACK. */
export function lights () {
  S.leds.forEach((pin, i) => {
    if (pin) writePin(pin, open[i] ? waiting(i) ? phase : 1 : 0)
  })
}

// At boot, as top-level code (a start function would keep its source text in memory for good).
lights()
if (S.leds.length) {
  setInterval(() => {
    phase ^= 1
    lights()
  }, T.BLINK_MS)
}

/**
 * A press on button (-1 - k) % 16, `k` its key in the store: the message with its table's number, as a
 * PUBLISH (QoS `qos`, not retained; one-byte remaining length, the build checks) made from `call`, the
 * calls topic with its length and, for QoS 1, the packet id (zeros until sent). Made at each press, so
 * no packet per button is kept in memory.
 */
export function press (k: number) {
  const i = (-1 - k) % 16
  const m = __TABLECALL__.message.split('{n}').join(String(S.tables[i]))
  const c = withId(S.call)
  publish({ p: String.fromCharCode(0x30 | __TABLECALL__.qos << 1, c.length + m.length) + c + m, at: __TABLECALL__.qos ? c.length : 0, k, t: Date.now() })
}

/** Button `i` was pressed: it opens a call, or joins the open one; the press goes out in any case. */
export function pressTable (i: number) {
  log('btn: table ' + S.tables[i])
  press(open[i] ? T.JOINED - i : -1 - i)
  if (!open[i]) {
    newCall(i, Date.now())
    publishState(i)
  }
  lights()
}

/**
 * A message on a subscribed topic (per table its state topic, then its answer topic): hostile input.
 * `retained`: 1 when the broker sent it because of the SUBSCRIBE.
 */
export function tableMessage (topic: string, text: string, retained: number) {
  // The topic's entry in the SUBSCRIBE (see publishState): 0 and 1 are button 0's state and answer
  // topics, 2 and 3 button 1's...
  const j = withId(S.subscribe).split('\0').indexOf(String.fromCharCode(topic.length) + topic + '\x01') - 1
  if (j < 0) return
  const i = j >> 1
  // An answer is a call id; a state `calling <call>`, `calling <call> <ms: 13 digits>` or empty:
  // exactly what publishState writes.
  const w = text.split(' ')
  const id = j & 1 ? text : w[1]
  // A call id: 1 to 15 digits, no leading zero (Espruino's regular expressions have no {m,n} and no
  // optional groups), else 0.
  const c = /^[1-9]\d*$/.test(id) && id.length < 16 ? Number(id) : 0
  if (j & 1) {
    if (!c) return
    const was = open[i]
    top[i] = Math.max(top[i], c)
    if (!(c < was)) {
      // The broker's retained answer answers only a call it had before this connection: this one has
      // the id of an older call (the boot count was lost) and gets a new one.
      if (was && retained && !old[i]) open[i] = ++top[i]
      else {
        open[i] = 0
        // A press that joined the call and still waits for the broker may have come after the answer
        // (it was on its way): it is a new call.
        const m = waiting(T.JOINED - i)
        if (m) newCall(i, m.t!)
      }
      if (was) publishState(i)
    }
  } else {
    const ms = w[2] ? ' ' + w[2] : ''
    if (text && !(c && text === 'calling ' + c + ms && (!ms || (w[2].length === 13 && !/\D/.test(w[2]))))) return
    // A call still open before a reboot, or a later one than the device holds (its boot count lost):
    // above every id seen, so never one that was answered.
    if (c > top[i] && open[i] !== 0) {
      open[i] = c
      since[i] = ms
    }
    top[i] = Math.max(top[i], c)
    if (open[i] == null) open[i] = 0
    // The device's state is the truth: a different one on the broker is corrected.
    publishState(i, text)
  }
  lights()
}

/** After CONNACK: the state of every table the device knows, so the broker holds the truth. */
export function publishTables () {
  S.tables.forEach((_, i) => {
    old[i] = !waiting(i)
    if (open[i] != null) publishState(i)
  })
}
