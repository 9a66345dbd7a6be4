// Pure logic of the staff board: no DOM, no MQTT, so Node tests can import it directly.

export const DEFAULT_BROKER = 'wss://broker.hivemq.com:8884/mqtt'
export const DEFAULT_TABLES = [1, 2, 3, 4]
// Same bounds as `buttons[].table` in espruino.config.schema.json.
const MAX_TABLE = 9999

/** `button {n} is pressed` -> /^button (\d+) is pressed$/ (template text matched literally). */
export function templateToRegExp (template) {
  const parts = template.split('{n}')
  if (parts.length !== 2) throw new Error(`message template "${template}" must contain {n} exactly once`)
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`^${escape(parts[0])}(\\d+)${escape(parts[1])}$`)
}

/** Table number from a call payload, or null for anything else (other publishers share the broker). */
export function parseCall (payload, re) {
  const m = re.exec(String(payload).trim())
  return m ? parseTable(m[1]) : null
}

/** Table number from an ack payload (`3`), or null. */
export function parseTable (text) {
  const s = String(text).trim()
  if (!/^\d{1,4}$/.test(s)) return null
  const n = Number(s)
  return n >= 1 && n <= MAX_TABLE ? n : null
}

/** 83000 -> "01:23"; minutes keep counting past 59 because a wait that long must stay visible. */
export function formatWait (ms) {
  const total = Math.max(0, Math.floor(ms / 1000))
  const pad = (n) => String(n).padStart(2, '0')
  return `${pad(Math.floor(total / 60))}:${pad(total % 60)}`
}

/** Default status topic: `a/b/calls` -> `a/b/status`; none when the last level is not `calls`. */
export function deriveStatusTopic (callTopic) {
  const levels = callTopic.split('/')
  if (levels.length < 2 || levels.at(-1) !== 'calls') return ''
  return [...levels.slice(0, -1), 'status'].join('/')
}

export const ackTopic = (callTopic) => `${callTopic}/ack`

/**
 * Settings in force: URL parameters win over the remembered ones, which win over the defaults.
 * An empty status topic means "derive it from the call topic".
 */
export function resolveSettings (params, stored = {}) {
  const pick = (key) => (params.get(key) ?? stored[key] ?? '').trim()
  const broker = pick('broker') || DEFAULT_BROKER
  const topic = pick('topic')
  const statusTopic = pick('status') || deriveStatusTopic(topic)
  return { broker, topic, statusTopic }
}

/** One-line problem per field, naming the fix; empty object when the settings are usable. */
export function validateSettings ({ broker, topic, statusTopic }) {
  const errors = {}
  if (!/^wss?:\/\/[^/\s]+/.test(broker)) {
    errors.broker = 'Broker URL must start with ws:// or wss://, e.g. wss://broker.hivemq.com:8884/mqtt'
  }
  const topicProblem = (t) =>
    /[+#]/.test(t)
      ? 'must be one exact topic: remove + and #'
      : t.startsWith('/') || t.endsWith('/')
        ? 'must not start or end with /'
        : ''
  if (!topic) errors.topic = 'Call topic is required: enter the device topic, e.g. tablecall/1a2b3c4d/calls'
  else if (topicProblem(topic)) errors.topic = `Call topic ${topicProblem(topic)}`
  // Skipped while the call topic is wrong: a derived status topic would only repeat that error.
  if (!errors.topic && statusTopic && topicProblem(statusTopic)) errors.statusTopic = `Status topic ${topicProblem(statusTopic)}`
  return errors
}

/**
 * Calls per table. Times are local receive times (ms) passed in by the caller, so every screen
 * counts from when it heard the press and tests can drive the clock.
 */
export class CallBoard {
  constructor (tables = DEFAULT_TABLES) {
    this.tables = new Set(tables)
    this.calls = new Map() // table -> { since, count }
  }

  /** Returns 'new' for a fresh call, 'repeat' when the table was already calling. */
  press (table, now) {
    this.tables.add(table)
    const call = this.calls.get(table)
    if (call) {
      call.count += 1 // a repeated press must not reset the wait: the first press is what counts
      return 'repeat'
    }
    this.calls.set(table, { since: now, count: 1 })
    return 'new'
  }

  /** Returns true when the table was calling. */
  ack (table) {
    return this.calls.delete(table)
  }

  /** Tiles in table order (a stable layout that staff learn by position), with the markers computed. */
  view (now) {
    // Markers only mean something when two or more tables are calling.
    const bySince = [...this.calls.entries()].sort((a, b) => a[1].since - b[1].since)
    const longest = bySince.length > 1 ? bySince[0][0] : null
    const newest = bySince.length > 1 ? bySince.at(-1)[0] : null
    return [...this.tables].sort((a, b) => a - b).map((table) => {
      const call = this.calls.get(table)
      if (!call) return { table, state: 'idle' }
      return {
        table,
        state: 'calling',
        waitMs: now - call.since,
        count: call.count,
        longest: table === longest,
        newest: table === newest
      }
    })
  }

  /** Calling tables, longest waiting first. */
  queue (now) {
    return this.view(now).filter((t) => t.state === 'calling').sort((a, b) => b.waitMs - a.waitMs)
  }
}

/** Screen-reader label that states table, state and waiting time (the tile's whole meaning). */
export function tileLabel (tile) {
  if (tile.state === 'idle') return `Table ${tile.table}, idle`
  const presses = tile.count > 1 ? `, pressed ${tile.count} times` : ''
  const marker = tile.longest ? ', longest waiting' : tile.newest ? ', newest call' : ''
  return `Table ${tile.table}, calling, waiting ${formatWait(tile.waitMs)}${presses}${marker}. Tap to acknowledge.`
}
