// Calls, table states and lights; the device is the one source of truth of its tables. The first press
// on an idle table opens a call with a new id, later presses join it, and only an answer carrying that
// id (or a later one) ends it. Each table's state goes out retained: `calling <call>`, plus ` <ms>` of
// the first press when the clock is real, or empty once answered; again at every CONNACK, so a broker
// that lost or kept stale states is corrected. The device also hears its own states: after a reboot a
// `calling <c>` with c above every answer seen is a call still open. Each light blinks while the state
// waits for the broker's PUBACK, is on while calling, off once answered.
import { latest, waiting } from './mqtt'
import { writePin } from './platform'

// 2024-01-01: an earlier clock has not been set (SNTP) and says nothing about the real time.
const CLOCK_SET = 1704067200000
const BLINK_MS = 250
// A call id is the boot count times this plus a sequence per boot: increasing across reboots, and no
// flash write per press.
const PER_BOOT = 1000000
const ANSWER = /^[1-9]\d{0,14}$/
const STATE = /^calling ([1-9]\d{0,14})( \d{13})?$/

// The store key of a press that joined an open call on button 0 (button i: JOINED - i); a press that
// opened one is -1 - i (src/main.ts).
export const JOINED = -17

// The settings: per button its state packet (idle: retained, QoS 1, no payload) and its light's pin or ''.
const S = __TABLECALL__
// Per button: the open call's id, 0 when idle; unset until a press or the broker tells.
const open: number[] = []
// Per button: ' <ms>' of the open call's first press, or ''.
const since: string[] = []
// Per button: the highest call id used, or received in an answer or a state (a new one is above).
let top: number[]
// Per button: whether the open call's state went to the broker on an earlier connection.
const old: boolean[] = []
let base = 0
let seq = 0
// the blinking lights' level: 2 Hz
let phase = 0

const payload = (i: number) => open[i] ? 'calling ' + open[i] + since[i] : ''

// Table `i`'s state, a latest-value message: the payload appended to the packet, its length added to
// the one-byte remaining length; the packet id after the topic.
function publishState (i: number) {
  const c = payload(i)
  const t = S.state[i]
  const p = t[0] + String.fromCharCode(t.charCodeAt(1) + c.length) + t.slice(2) + c
  latest({ p, at: 4 + p.charCodeAt(3), id: 0, k: i })
}

// A new call on table `i`, its first press at `at`.
function newCall (i: number, at: number) {
  at = Math.floor(at)
  open[i] = top[i] = Math.max(top[i] + 1, base + ++seq)
  since[i] = at > CLOCK_SET ? ' ' + at : ''
  old[i] = false
}

/** Sets every light from the calls and the store: blinking while a state waits for its PUBACK. */
export function lights () {
  S.leds.forEach((pin, i) => {
    if (pin) writePin(pin, waiting(i) ? phase : open[i] ? 1 : 0)
  })
}

/** `boots`: this start's number, kept in flash by the platform. */
export function startTables (boots: number) {
  base = boots * PER_BOOT
  top = S.state.map(() => 0)
  lights()
  if (S.leds.length) {
    setInterval(() => {
      phase ^= 1
      lights()
    }, BLINK_MS)
  }
}

/** Whether table `i` has an open call. */
export const calling = (i: number) => open[i] > 0

/** Button `i` was pressed: it opens a call, or joins the open one. */
export function pressTable (i: number) {
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
  // The topic's entry in the SUBSCRIBE: length, topic, QoS 1. A NUL byte starts each entry and occurs
  // nowhere else (topics have none and are shorter than 256 bytes: the build checks), so the NULs
  // before it count the entries.
  const p = S.subscribe
  const at = p.indexOf('\0' + String.fromCharCode(topic.length) + topic + '\x01')
  if (at < 0) return
  const j = p.slice(0, at).split('\0').length - 1
  const i = j >> 1
  if (j & 1) {
    if (!ANSWER.test(text)) return
    const a = Number(text)
    const was = open[i]
    top[i] = Math.max(top[i], a)
    if (!(a < was)) {
      // The broker's retained answer answers only a call it had before this connection: this one has
      // the id of an older call (the boot count was lost) and gets a new one.
      if (was && retained && !old[i]) open[i] = ++top[i]
      else {
        open[i] = 0
        // A press that joined the call and still waits for the broker may have come after the answer
        // (it was on its way): it is a new call.
        const m = waiting(JOINED - i)
        if (m) newCall(i, m.t!)
      }
      if (was) publishState(i)
    }
  } else {
    const m = STATE.exec(text)
    if (!m && text) return
    const c = m ? Number(m[1]) : 0
    // A call still open before a reboot, or a later one than the device holds (its boot count lost):
    // above every id seen, so never one that was answered.
    if (c > top[i] && open[i] !== 0) {
      open[i] = c
      since[i] = m![2] || ''
    }
    top[i] = Math.max(top[i], c)
    if (open[i] === undefined) open[i] = 0
    // The device's state is the truth: a different one on the broker is corrected.
    if (text !== payload(i) || waiting(i)) publishState(i)
  }
  lights()
}

/** After CONNACK: the state of every table the device knows, so the broker holds the truth. */
export function publishTables () {
  S.state.forEach((_, i) => {
    old[i] = !waiting(i)
    if (open[i] !== undefined) publishState(i)
  })
}

/** The open calls and their first presses, per button, to keep over a deliberate restart. */
export const openCalls = () => [open, since]

/** Restores what `openCalls` gave. */
export function restoreCalls (kept: [number[], string[]]) {
  kept[0].forEach((c, i) => {
    if (c) {
      open[i] = top[i] = c
      since[i] = kept[1][i]
    }
  })
}
