// What a staff client does over MQTT, shared by the page (board/app.js) and the simulator's staff view
// (host/sim/staff.mjs): session options, subscriptions, every received message checked as a stranger's
// and routed into the CallBoard, and the answer to publish.
import { messageProblem } from './message-rule.js'
import { CallBoard } from './model.js'
import { answerTopic, escape, subscriptions, topicMatcher } from './topics.js'

// Longest payload of the contract is `calling <15 digits> <13 digits>`; a longer one is not from a device.
const MAX_PAYLOAD = 64

/**
 * `button {n} is pressed` -> (payload text) => table number or null; the template text is matched
 * literally, against the payload without white space at its ends (board/message-rule.js).
 */
export function callMatcher (template) {
  const problem = messageProblem(template)
  if (problem) throw new Error(`message "${template}" ${problem}`)
  const parts = template.split('{n}')
  const re = new RegExp(`^${escape(parts[0])}([1-9]\\d{0,3})${escape(parts[1])}$`)
  return (text) => {
    const m = re.exec(text.trim())
    return m ? Number(m[1]) : null
  }
}

/**
 * MQTT.js options of a staff screen: a persistent session (a stable client id per screen,
 * clean: false) so messages published during a short disconnect are delivered on reconnect.
 */
export const sessionOptions = (clientId, login = {}) =>
  ({ clientId, clean: false, reconnectPeriod: 1000, connectTimeout: 5000, keepalive: 30, ...login })

export const SUBSCRIBE_OPTIONS = { qos: 1 }
// The answer: the call's id, retained, so the device gets it even when it connects later.
const ANSWER_OPTIONS = { qos: 1, retain: true }

export class Staff {
  /**
   * @param {{templates, settings: {devices: string[], tables: number[]}, message: string, seen?: object, stateful?: string[]}} options
   */
  constructor ({ templates, settings, message, seen, stateful }) {
    this.templates = templates
    this.settings = settings
    this.filters = subscriptions(templates, settings.devices)
    this.match = topicMatcher(templates)
    this.callTable = callMatcher(message)
    this.board = new CallBoard({ tables: settings.tables, devices: settings.devices, seen, stateful })
  }

  accepts (device) {
    return this.settings.devices.includes('+') || this.settings.devices.includes(device)
  }

  /**
   * One received message; returns { kind, device, table?, change?, answers? } for what it changed, or
   * null when it was ignored (counted in board.ignored). `answers`: the publishes to make, the answer
   * of a call this screen answered whose state still says calling (a broker crash may have lost it).
   */
  receive (topic, payload, retain, now) {
    const { board } = this
    const where = payload.length <= MAX_PAYLOAD ? this.match(topic) : null
    if (!where || !this.accepts(where.device)) return board.invalid()
    const text = payload.toString()
    const { kind, device } = where
    if (kind === 'event') {
      const table = retain ? null : this.callTable(text) // events are never retained: a stranger's or stale
      if (table === null) return board.invalid()
      return { kind, device, table, change: board.event(device, table, now) }
    }
    if (kind === 'table') {
      const { table } = where
      const change = board.state(device, table, text, now)
      if (change !== 'resend') return { kind, device, table, change }
      return { kind, device, table, change, answers: [this.answerOf(device, table, board.calls.get(table).get(device).id)] }
    }
    return board[kind](device, text) && { kind, device } // status or battery
  }

  /** Answers `table`: the publishes to make (each waiting call's id to its device), or []. */
  answer (table) {
    return this.board.answer(table).map(({ device, call }) => this.answerOf(device, table, call))
  }

  answerOf (device, table, call) {
    return { topic: answerTopic(this.templates, device, table), payload: String(call), options: ANSWER_OPTIONS }
  }
}
