// Pure state of the staff side, shared by the page (board/app.js) and the simulator's staff view
// (host/sim/): which tables are calling since when, each device's status and battery, what was
// ignored. No DOM, no MQTT; every time is passed in, so tests drive the clock.
import { parseVolts } from './battery.js'

// The device only sends times from a real clock (2024 or later); one minute of skew is allowed.
const CLOCK_VALID_FROM = Date.UTC(2024, 0, 1)
const SKEW_MS = 60_000

/** 83000 -> "01:23"; minutes keep counting past 59 because a wait that long must stay visible. */
export function formatWait (ms) {
  const total = Math.max(0, Math.floor(ms / 1000))
  const pad = (n) => String(n).padStart(2, '0')
  return `${pad(Math.floor(total / 60))}:${pad(total % 60)}`
}

/**
 * A table state payload: '' -> { clear: true }; `calling` -> { pressedAt: null }; `calling <ms>` ->
 * { pressedAt } when the time is plausible (else null, "at least" from when it was seen); else null.
 */
export function parseState (text, now) {
  if (text === '') return { clear: true }
  const m = /^calling(?: (\d{13}))?$/.exec(text)
  if (!m) return null
  const at = m[1] === undefined ? NaN : Number(m[1])
  return { pressedAt: at >= CLOCK_VALID_FROM && at <= now + SKEW_MS ? Math.min(at, now) : null }
}

export class CallBoard {
  /**
   * @param {{tables: number[], devices?: string[], seen?: Record<string, number>}} options
   *   devices: the configured ids ('+' or none: learnt from messages); seen: table -> when this
   *   screen first saw a call without a press time, kept by the page across reloads.
   */
  constructor ({ tables, devices = [], seen = {} }) {
    this.tables = new Set(tables)
    this.calls = new Map() // table -> { since, exact, seq, events, reminded, devices: Set }
    this.claims = new Map() // table -> Set of device ids heard for it
    this.devices = new Map(devices.filter((id) => id !== '+').map((id) => [id, { status: null, volts: null }]))
    this.stateful = new Set() // devices seen publishing table states: their states open and close calls
    this.ignored = { unknownTable: 0, invalid: 0 }
    this.seen = seen
    this.seq = 0
  }

  device (id) {
    let device = this.devices.get(id)
    if (!device) this.devices.set(id, (device = { status: null, volts: null }))
    return device
  }

  /** False (and counted) for a table that is not on this board. */
  known (table) {
    if (this.tables.has(table)) return true
    this.ignored.unknownTable += 1
    return false
  }

  /** Counts a message that was not ours or not valid; returns null, "nothing changed". */
  invalid () {
    this.ignored.invalid += 1
    return null
  }

  claim (device, table) {
    let ids = this.claims.get(table)
    if (!ids) this.claims.set(table, (ids = new Set()))
    ids.add(device)
  }

  /** Device ids that sent something for `table`, when more than one (a configuration mistake). */
  conflict (table) {
    const ids = this.claims.get(table)
    return ids && ids.size > 1 ? [...ids].sort() : null
  }

  open (table, device, since, exact, events) {
    const call = { since, exact, seq: ++this.seq, events, reminded: 0, devices: new Set([device]) }
    this.calls.set(table, call)
    if (!exact) this.seen[table] = since
    return call
  }

  close (table) {
    this.calls.delete(table)
    delete this.seen[table]
  }

  /** An event (`button N is pressed`): 'new', 'repeat', or null for a table not on this board. */
  event (device, table, now) {
    if (!this.known(table)) return null
    this.claim(device, table)
    const call = this.calls.get(table)
    // From a device with table states, an event for an idle table is a late copy of a call already
    // answered (a resend after a reconnect): its state, not the event, says whether it calls.
    if (!call && this.stateful.has(device)) return null
    if (!call) {
      this.open(table, device, this.seen[table] ?? now, false, 1)
      return 'new'
    }
    // A press sends state and event: the first event of a call opened by its state is not a repeat.
    // A repeated press must not reset the wait: the first press is what counts.
    call.events += 1
    call.devices.add(device)
    return call.events > 1 ? 'repeat' : null
  }

  /** A table state message: 'new', 'update', 'cleared', or null when nothing changed. */
  state (device, table, text, now) {
    if (!this.known(table)) return null
    const state = parseState(text, now)
    if (!state) {
      this.invalid()
      return null
    }
    this.claim(device, table)
    this.stateful.add(device)
    const call = this.calls.get(table)
    if (state.clear) {
      if (!call || !call.devices.delete(device)) return null
      if (call.devices.size) return 'update' // another device still calls this table number
      this.close(table)
      return 'cleared'
    }
    if (!call) {
      const exact = state.pressedAt !== null
      this.open(table, device, exact ? state.pressedAt : this.seen[table] ?? now, exact, 0)
      return 'new'
    }
    call.devices.add(device)
    if (state.pressedAt === null || (call.exact && call.since === state.pressedAt)) return null
    // The device's press time beats when this screen heard of it.
    call.since = state.pressedAt
    call.exact = true
    delete this.seen[table]
    return 'update'
  }

  /** Answers table `table` here; returns the device ids whose state topic gets the clear, or null. */
  answer (table) {
    const call = this.calls.get(table)
    if (!call) return null
    this.close(table)
    return [...call.devices]
  }

  status (device, text) {
    if (text !== 'online' && text !== 'offline') return this.invalid()
    this.device(device).status = text
    return 'update'
  }

  battery (device, text) {
    const volts = parseVolts(text)
    if (volts === null) return this.invalid()
    this.device(device).volts = volts
    return 'update'
  }

  /** { newest, longest }: tables, or null while fewer than two are calling (markers compare calls). */
  markers () {
    if (this.calls.size < 2) return { newest: null, longest: null }
    let newest = null
    let longest = null
    const before = (a, b) => a[1].since < b[1].since || (a[1].since === b[1].since && a[1].seq < b[1].seq)
    for (const entry of this.calls) {
      if (!newest || before(newest, entry)) newest = entry
      if (!longest || before(entry, longest)) longest = entry
    }
    return { newest: newest[0], longest: longest[0] }
  }

  /** One tile's view. `reminderMs`: a call waiting that long is overdue. */
  tile (table, now, reminderMs, markers = this.markers()) {
    const call = this.calls.get(table)
    const conflict = this.conflict(table)
    if (!call) return { table, state: 'idle', conflict }
    const waitMs = Math.max(0, now - call.since)
    return {
      table,
      state: 'calling',
      waitMs,
      atLeast: !call.exact,
      count: Math.max(1, call.events),
      overdue: waitMs >= reminderMs,
      longest: markers.longest === table,
      newest: markers.newest === table,
      conflict
    }
  }

  /** Calling tables, longest waiting first. */
  queue (now) {
    return [...this.calls].map(([table, call]) => ({ table, waitMs: now - call.since }))
      .sort((a, b) => b.waitMs - a.waitMs)
  }

  /** Tables whose call just passed another `intervalMs` unanswered: each one beeps again. */
  dueReminders (now, intervalMs) {
    const due = []
    for (const [table, call] of this.calls) {
      const step = Math.floor((now - call.since) / intervalMs)
      if (step > call.reminded) {
        call.reminded = step
        due.push(table)
      }
    }
    return due
  }
}

/** Screen-reader label that states table, state and waiting time (the tile's whole meaning). */
export function tileLabel (tile) {
  const conflict = tile.conflict ? `, warning: set on ${tile.conflict.length} devices` : ''
  if (tile.state === 'idle') return `Table ${tile.table}, idle${conflict}`
  const presses = tile.count > 1 ? `, pressed ${tile.count} times` : ''
  const marker = tile.longest ? ', longest waiting' : tile.newest ? ', newest call' : ''
  const overdue = tile.overdue ? ', overdue' : ''
  const wait = `waiting ${tile.atLeast ? 'at least ' : ''}${formatWait(tile.waitMs)}`
  return `Table ${tile.table}, calling${overdue}, ${wait}${presses}${marker}${conflict}. Tap to answer.`
}
