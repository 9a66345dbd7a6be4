// Pure state of the staff side, shared by the page (board/app.js) and the simulator's staff view
// (host/sim/): which calls (device, table, call id) are open since when and which are answered, each
// device's status and battery, what was ignored. No DOM, no MQTT; every time is passed in, so tests
// drive the clock.
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

// A call id: digits, no leading zero, at most 15 (below 2^53, so a Number holds it exactly).
const STATE = /^calling ([1-9][0-9]{0,14})(?: ([0-9]{13}))?$/
const STATUS = /^(online|offline)( 2)?$/
// How `seen` names a call: by device, table and call id, so a time is never lent to another call.
const seenKey = (device, table, id) => `${device}/${table}/${id}`

/**
 * A table state payload: '' -> { idle: true }; `calling <call>` -> { call, pressedAt: null };
 * `calling <call> <ms>` -> { call, pressedAt } when the time is plausible (else null, "at least" from
 * when it was seen); anything else -> null.
 */
export function parseState (text, now) {
  if (text === '') return { idle: true }
  const m = STATE.exec(text)
  if (!m) return null
  const at = m[2] === undefined ? NaN : Number(m[2])
  return { call: Number(m[1]), pressedAt: at >= CLOCK_VALID_FROM && at <= now + SKEW_MS ? Math.min(at, now) : null }
}

export class CallBoard {
  /**
   * @param {{tables: number[], devices?: string[], seen?: Record<string, number>, stateful?: string[]}} options
   *   devices: the configured ids ('+' or none: learnt from messages); seen: `device/table/call` ->
   *   when this screen first saw a call without a press time; stateful: devices known to send table
   *   states. The page keeps both across reloads.
   */
  constructor ({ tables, devices = [], seen = {}, stateful = [] }) {
    this.tables = new Set(tables)
    // table -> Map(device -> { id, since, exact, seq, events, reminded, answered }); id null: a call
    // opened by an event of a device without table states (old firmware), answered on this screen only
    this.calls = new Map()
    this.claims = new Map() // table -> Set of device ids heard for it
    this.devices = new Map(devices.filter((id) => id !== '+').map((id) => [id, { status: null, volts: null }]))
    // Devices that send table states (status `online 2`/`offline 2`, or a state seen): their states
    // open and close calls, their events never do.
    this.stateful = new Set(stateful)
    this.ended = new Map() // `device/table` -> highest call id ended there: a later copy of it is stale
    // `device/table` -> { table, device, call }: calls forgotten at a connection without a session
    // (connected()), until their state comes back or another state or prune() ends them
    this.away = new Map()
    this.ignored = { unknownTable: 0, invalid: 0 }
    this.seen = seen !== null && typeof seen === 'object' && !Array.isArray(seen) ? seen : {} // from storage: may be anything
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

  open (table, device, id, since, exact, events) {
    const call = { id, since, exact, seq: ++this.seq, events, reminded: 0, answered: false }
    this.put(table, device, call)
    if (!exact && id !== null) this.seen[seenKey(device, table, id)] = since
    return call
  }

  put (table, device, call) {
    let calls = this.calls.get(table)
    if (!calls) this.calls.set(table, (calls = new Map()))
    calls.set(device, call)
  }

  /** A call forgotten at a connection without a session, back as it was (its wait, its answer). */
  back (key) {
    const { table, device, call } = this.away.get(key)
    this.away.delete(key)
    this.put(table, device, call)
  }

  /** Ends `device`'s call at `table` (its first-seen time goes with it). */
  close (table, device) {
    const calls = this.calls.get(table)
    const call = calls?.get(device)
    if (!call) return
    calls.delete(device)
    if (!calls.size) this.calls.delete(table)
    if (call.id === null) return
    delete this.seen[seenKey(device, table, call.id)]
    const key = `${device}/${table}`
    this.ended.set(key, Math.max(this.ended.get(key) ?? 0, call.id))
  }

  /** The call staff should go to at `table`: its earliest unanswered one, or null. */
  lead (table) {
    let lead = null
    for (const call of this.calls.get(table)?.values() ?? []) {
      if (!call.answered && (!lead || call.since < lead.since || (call.since === lead.since && call.seq < lead.seq))) lead = call
    }
    return lead
  }

  /** [table, lead call] of every table with an unanswered call. */
  leads () {
    const leads = []
    for (const table of this.calls.keys()) {
      const call = this.lead(table)
      if (call) leads.push([table, call])
    }
    return leads
  }

  /** An event (`button N is pressed`): 'new', 'repeat', or null when it changed nothing. */
  event (device, table, now) {
    if (!this.known(table)) return null
    this.claim(device, table)
    const call = this.calls.get(table)?.get(device)
    if (!call) {
      // A device with table states: an event without an open call is a late copy of a call already
      // answered (a resend after a reconnect); its state, not the event, says whether it calls.
      if (this.stateful.has(device)) return null
      this.open(table, device, null, now, false, 1)
      return 'new'
    }
    if (call.answered) return null
    // A press sends state and event: the first event of a call opened by its state is not a repeat.
    // A repeated press must not reset the wait: the first press is what counts.
    call.events += 1
    return call.events > 1 ? 'repeat' : null
  }

  /**
   * A table state message: 'new', 'update', 'cleared', 'resend' (the state of a call this screen
   * answered: publish its answer again), or null when nothing changed.
   */
  state (device, table, text, now) {
    if (!this.known(table)) return null
    const state = parseState(text, now)
    if (!state) return this.invalid()
    this.claim(device, table)
    this.stateful.add(device)
    const key = `${device}/${table}`
    const away = this.away.get(key)
    if (away && !state.idle && state.call < away.call.id) return null // older than a call this screen knew
    if (away) this.back(key) // then ended by an idle state or a newer call, or kept by its own state
    const call = this.calls.get(table)?.get(device)
    if (state.idle) {
      if (!call) return null
      this.close(table, device)
      return 'cleared'
    }
    // Call ids only grow: an older one is a stale copy (e.g. a broker that restored an old save). The
    // call that ended last may come back: an idle state names no call, so a stale one (a killed
    // broker's replay) can end a live call, which the device's next state must show again. The price:
    // a stale copy of that call shows until the device's next state corrects it.
    if (state.call < (this.ended.get(key) ?? 0) || (call?.id && state.call < call.id)) return null
    if (call?.id !== state.call) {
      this.close(table, device) // a newer call replaces the one this screen knew
      const exact = state.pressedAt !== null
      const seen = this.seen[seenKey(device, table, state.call)] // kept by the page: may be hand-edited
      const since = exact ? state.pressedAt : Number.isFinite(seen) && seen <= now ? seen : now
      this.open(table, device, state.call, since, exact, 0)
      return 'new'
    }
    // The device (or the broker's retained state) still shows a call this screen answered: a broker
    // crash may have lost the answer, and the device would call for good while this screen waits.
    if (call.answered) return 'resend'
    if (state.pressedAt === null || (call.exact && call.since === state.pressedAt)) return null
    // The device's press time beats when this screen heard of it.
    call.since = state.pressedAt
    call.exact = true
    delete this.seen[seenKey(device, table, call.id)]
    return 'update'
  }

  /**
   * Answers table `table` here; returns [{ device, call }] for each answer to publish ([] when nothing
   * waits). A call with an id shows answered until its device's idle state (or a newer call) arrives.
   */
  answer (table) {
    const answers = []
    for (const [device, call] of this.calls.get(table) ?? []) {
      if (call.answered) continue
      if (call.id === null) this.close(table, device)
      else {
        call.answered = true
        answers.push({ device, call: call.id })
      }
    }
    return answers
  }

  /**
   * At every connection (CONNACK), `sessionPresent` from it. Without a session the messages sent
   * meanwhile are lost, among them an ended call's idle state: every call with an id is forgotten
   * (away), and the retained states bring back the live ones as they were (their first-seen times,
   * their answers). No answer goes again here: another screen may have answered a newer call
   * meanwhile, whose retained answer an older one would replace; a state of the answered call says
   * the answer is still needed (state() returns 'resend').
   */
  connected (sessionPresent) {
    if (sessionPresent) return
    for (const [table, calls] of this.calls) {
      for (const [device, call] of calls) {
        if (call.id === null) continue // a call of an event (old firmware) has no state to come back
        calls.delete(device)
        this.away.set(`${device}/${table}`, { table, device, call })
      }
      if (!calls.size) this.calls.delete(table)
    }
  }

  /**
   * Once the retained states have arrived: drops first-seen times of calls that are not calling (ended
   * while this screen was closed or away), and the calls forgotten at a connection that did not come back.
   */
  prune () {
    for (const key of [...this.away.keys()]) {
      const { table, device } = this.away.get(key)
      this.back(key)
      this.close(table, device)
    }
    const current = new Set()
    for (const [table, calls] of this.calls) for (const [device, call] of calls) current.add(seenKey(device, table, call.id))
    for (const key of Object.keys(this.seen)) if (!current.has(key)) delete this.seen[key]
  }

  status (device, text) {
    const m = STATUS.exec(text)
    if (!m) return this.invalid()
    this.device(device).status = m[1]
    if (m[2]) this.stateful.add(device)
    else this.stateful.delete(device) // old firmware: its events are its calls
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
    const leads = this.leads()
    if (leads.length < 2) return { newest: null, longest: null }
    let newest = null
    let longest = null
    const before = (a, b) => a[1].since < b[1].since || (a[1].since === b[1].since && a[1].seq < b[1].seq)
    for (const entry of leads) {
      if (!newest || before(newest, entry)) newest = entry
      if (!longest || before(entry, longest)) longest = entry
    }
    return { newest: newest[0], longest: longest[0] }
  }

  /** One tile's view. `reminderMs`: a call waiting that long is overdue. */
  tile (table, now, reminderMs, markers = this.markers()) {
    const call = this.lead(table)
    const conflict = this.conflict(table)
    if (!call) return { table, state: this.calls.has(table) ? 'answered' : 'idle', conflict }
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
    return this.leads().map(([table, call]) => ({ table, waitMs: now - call.since }))
      .sort((a, b) => b.waitMs - a.waitMs)
  }

  /** Tables whose call just passed another `intervalMs` unanswered: each one beeps again. */
  dueReminders (now, intervalMs) {
    const due = []
    for (const [table, call] of this.leads()) {
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
  if (tile.state === 'answered') return `Table ${tile.table}, answered, waiting for the table${conflict}`
  const presses = tile.count > 1 ? `, pressed ${tile.count} times` : ''
  const marker = tile.longest ? ', longest waiting' : tile.newest ? ', newest call' : ''
  const overdue = tile.overdue ? ', overdue' : ''
  const wait = `waiting ${tile.atLeast ? 'at least ' : ''}${formatWait(tile.waitMs)}`
  return `Table ${tile.table}, calling${overdue}, ${wait}${presses}${marker}${conflict}. Tap to answer.`
}
