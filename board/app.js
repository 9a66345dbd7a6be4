// Staff board: the device topics over MQTT-over-WebSockets, one tile per configured table. State lives
// in board/model.js (shared with the simulator); this file only draws it, touching the tiles that changed.
import mqtt from 'mqtt'
import { batteryLevel, percent } from './battery.js'
import { formatWait, tileLabel } from './model.js'
import { checkSettings, FIELDS, linkedBroker, loginFor, resolveRaw } from './settings.js'
import { SUBSCRIBE_OPTIONS, Staff, sessionOptions } from './staff.js'
import { topicMatcher } from './topics.js'

// Replaced by board/serve.mjs at build time from espruino.config.json: { message, templates }.
const DEVICE = __DEVICE_CONFIG__
const KEYS = { settings: 'tablecall.board.settings', login: 'tablecall.board.login', seen: 'tablecall.board.seen', client: 'tablecall.board.client', filters: 'tablecall.board.filters', stateful: 'tablecall.board.stateful' }
const FRESH_MS = 10_000 // how long a new call flashes
// After subscribing, how long the retained states may take to arrive before first-seen times of
// calls that did not come back are dropped (they ended while this screen was closed).
const SETTLE_MS = 30_000

const $ = (id) => document.getElementById(id)
// built once: idOf runs for every id typed into the settings
const matchTopic = topicMatcher(DEVICE.templates)
const idOf = (topic) => matchTopic(topic)?.device || null
const hasId = Object.values(DEVICE.templates).some((t) => t.includes('{id}'))

let staff = null
let client = null
let settings = null
let served = {} // the board server's defaults (/defaults.json), none on a static host
let audio = null // AudioContext, created on the "enable sound" tap (autoplay rules)
let soundOn = false
const tiles = new Map() // table -> { el, parts }
const chips = new Map() // device id -> <li>
const dirty = { tables: new Set(), devices: new Set(), scheduled: false }
let shownMarkers = { newest: null, longest: null }
let linkPending = false // Settings shows a link's other broker: closed unsaved, the screen stays where it was
const saved = { seen: '', stateful: '' } // what localStorage holds of the board's: written only when it changed

// ---- storage (per screen; never the URL) -------------------------------------------------------

function load (key, fallback = {}) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') ?? fallback
  } catch {
    return fallback // private mode or a hand-edited value
  }
}

function save (key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value))
  } catch {
    // Not remembered, but the page still works for this visit.
  }
}

/**
 * A stable MQTT client id for this screen, so the broker keeps its session across drops and reloads.
 * Two tabs of one browser share localStorage but must not share an id (the broker would throw one
 * off whenever the other connects): a Web Lock per id gives each open tab its own.
 */
async function clientId () {
  const random = () => Math.random().toString(16).slice(2, 10)
  const base = load(KEYS.client, null) ?? `tablecall-board-${random()}`
  save(KEYS.client, base)
  if (!navigator.locks) {
    // No Web Locks outside a secure context (http:// on the LAN): each tab keeps an id of its own in
    // sessionStorage, which lasts as long as the tab, reloads included.
    try {
      const own = sessionStorage.getItem(KEYS.client) ?? `${base}-${random()}`
      sessionStorage.setItem(KEYS.client, own)
      return own
    } catch {
      return base
    }
  }
  for (let slot = 0; slot < 8; slot++) {
    const id = slot ? `${base}-${slot}` : base
    const held = await new Promise((resolve) => navigator.locks.request(id, { ifAvailable: true }, (lock) => {
      resolve(Boolean(lock))
      return lock && new Promise(() => {}) // held until this page closes
    }))
    if (held) return id
  }
  return `${base}-${random()}`
}

// ---- settings ---------------------------------------------------------------------------------

function showErrors (errors) {
  for (const field of FIELDS) $(`e-${field}`).textContent = errors[field] ?? ''
}

function openSettings (raw, errors = {}) {
  const form = $('settings-form')
  for (const field of FIELDS) form[field].value = raw[field]
  // Only the login saved for the broker shown: a link naming another broker never gets it.
  const login = loginFor(load(KEYS.login), raw.broker)
  form.username.value = login.username ?? servedUsername(raw.broker)
  form.password.value = login.password ?? ''
  showErrors(errors)
  if (!$('settings').open) $('settings').showModal()
}

/** The board server's username, for its own broker only. */
const servedUsername = (broker) => (broker === served.broker && served.username) || ''

/** A staff link naming another broker: Settings shows it with its host; nothing connects until Save. */
function confirmLink (raw, broker) {
  let host = broker
  try {
    host = new URL(broker).host || broker
  } catch {}
  const text = `This link moves this screen to another broker: ${host}. Save and connect only if it is your restaurant's; the login saved on this screen is not sent to it.`
  setState('confirm', 'alert', text)
  linkPending = true
  openSettings(raw, { ...checkSettings(raw, idOf, hasId).errors, broker: text })
}

function apply (raw) {
  const checked = checkSettings(raw, idOf, hasId)
  if (!checked.settings) {
    setState('unconfigured', 'info', 'Open Settings and enter the ids of your buttons.')
    openSettings(raw, checked.errors)
    return false
  }
  settings = checked.settings
  connect()
  return true
}

// ---- MQTT -------------------------------------------------------------------------------------

// One id per page for its whole life (a second lock request would get the next slot).
let screenId = null
let generation = 0 // connect() calls so far: a call overtaken while it waits for the id stops there

async function connect () {
  const mine = ++generation
  client?.end(true)
  client = null
  const seen = load(KEYS.seen)
  // Kept so that a session's queued resend of an answered call's event, delivered before the device's
  // retained status, opens no call after a reload.
  const stored = load(KEYS.stateful, [])
  const stateful = (Array.isArray(stored) ? stored : []).filter((id) => typeof id === 'string' && /^([0-9a-f]{8})?$/.test(id))
  staff = new Staff({ templates: DEVICE.templates, settings, message: DEVICE.message, seen, stateful })
  buildTiles()
  const { broker } = settings
  setState('connecting', 'info', `Connecting to ${broker}…`)
  const login = loginFor(load(KEYS.login), broker)
  const username = login.username || servedUsername(broker)
  const credentials = username ? { username, password: login.password ?? '' } : {}
  screenId ??= clientId()
  const id = await screenId
  if (mine !== generation) return
  const self = mqtt.connect(broker, sessionOptions(id, credentials))
  client = self
  // A client replaced by a settings change may still emit while it closes: ignore it.
  const on = (event, fn) => self.on(event, (...args) => self === client && fn(...args))
  on('connect', (connack) => {
    setState('connected', null)
    // Without a session, calls ended meanwhile go (the retained states bring back the others).
    staff.board.connected(connack.sessionPresent)
    for (const table of settings.tables) dirty.tables.add(table)
    schedule()
    // The persistent session remembers filters of earlier settings: drop those.
    const stale = load(KEYS.filters, []).filter((f) => !staff.filters.includes(f))
    if (stale.length) self.unsubscribe(stale)
    save(KEYS.filters, staff.filters)
    self.subscribe(staff.filters, SUBSCRIBE_OPTIONS, (err) => {
      if (err) setState('error', 'alert', `Subscribing failed: ${err.message}`)
      else {
        setState('subscribed', null)
        setTimeout(() => self === client && (staff.board.prune(), schedule()), SETTLE_MS)
      }
    })
  })
  on('close', () => {
    if (document.body.dataset.mqtt === 'refused') return // that says more than "no connection"
    setState('disconnected', 'alert',
      `No connection to the broker (${broker}). Reconnecting… Calls made meanwhile appear when it is back.`)
  })
  on('error', (err) => {
    if (err.code !== 4 && err.code !== 5) return setState('error', 'alert', `Broker error: ${err.message}. Check Settings.`)
    // MQTT.js does not retry a refused login: Settings starts the next attempt.
    setState('refused', 'alert', 'The broker refused the login: enter the username and password in Settings.')
    openSettings(resolveRaw(new URLSearchParams(), load(KEYS.settings), served))
  })
  on('message', (topic, payload, packet) => {
    const change = staff.receive(topic, payload, packet.retain, Date.now())
    // An answer a broker crash may have lost goes again (retained: a second copy changes nothing).
    for (const { topic, payload, options } of change?.answers ?? []) self.publish(topic, payload, options)
    if (change?.table !== undefined) {
      dirty.tables.add(change.table)
      if (change.change === 'new') alertNewCall(change.table)
    } else if (change) dirty.devices.add(change.device)
    schedule()
  })
}

function answer (table) {
  if (!staff?.board.lead(table)) return // idle or already answered: nothing to answer
  // Never queued: the guest may call again meanwhile, and staff must know nobody was told.
  if (!client?.connected) {
    setBanner('alert', `Table ${table} was NOT answered: this screen has no connection to the broker. Go to the table; tap again once the connection is back.`)
    return
  }
  const publishes = staff.answer(table)
  dirty.tables.add(table)
  flush()
  for (const { topic, payload, options } of publishes) client.publish(topic, payload, options)
}

// ---- view -------------------------------------------------------------------------------------

function setState (state, kind, text) {
  document.body.dataset.mqtt = state
  if (kind) setBanner(kind, text)
  else $('banner').hidden = true
}

function setBanner (kind, text) {
  const banner = $('banner')
  banner.className = `banner ${kind}`
  banner.textContent = text
  banner.hidden = false
}

const BELL = '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"/></svg>'

function span (className, parent, text = '') {
  const el = document.createElement('span')
  el.className = className
  el.textContent = text
  parent.append(el)
  return el
}

function buildTiles () {
  for (const { el } of tiles.values()) el.remove()
  tiles.clear()
  for (const el of chips.values()) el.remove()
  chips.clear()
  for (const table of settings.tables) {
    const el = document.createElement('button')
    el.type = 'button'
    el.className = 'tile'
    el.dataset.table = String(table)
    const parts = { marker: span('marker', el) }
    span('label', el, 'Table')
    span('num', el, String(table))
    const state = span('state', el)
    span('icon', state).innerHTML = BELL // a constant: no received text ever becomes HTML
    parts.state = span('state-text', state)
    parts.atLeast = span('at-least', el)
    parts.wait = span('wait', el)
    parts.count = span('count', el)
    parts.conflict = span('conflict', el)
    el.addEventListener('click', () => answer(table))
    $('tiles').append(el)
    tiles.set(table, { el, parts })
    dirty.tables.add(table)
  }
  for (const id of staff.board.devices.keys()) dirty.devices.add(id)
  shownMarkers = { newest: null, longest: null }
  flush()
}

function schedule () {
  if (dirty.scheduled) return
  dirty.scheduled = true
  queueMicrotask(flush) // one draw for the messages handled in this task
}

function flush () {
  dirty.scheduled = false
  if (!staff) return
  const board = staff.board
  const markers = board.markers()
  for (const key of ['newest', 'longest']) {
    if (markers[key] === shownMarkers[key]) continue
    dirty.tables.add(markers[key]).add(shownMarkers[key])
  }
  shownMarkers = markers
  const now = Date.now()
  for (const table of dirty.tables) drawTile(table, now, markers)
  dirty.tables.clear()
  for (const id of dirty.devices) drawDevice(id)
  dirty.devices.clear()
  drawSummary(now)
  for (const [key, value] of [['seen', board.seen], ['stateful', [...board.stateful]]]) {
    const text = JSON.stringify(value)
    if (text !== saved[key]) save(KEYS[key], value)
    saved[key] = text
  }
}

function drawTile (table, now, markers) {
  const tile = tiles.get(table)
  if (!tile) return
  const { el, parts } = tile
  const view = staff.board.tile(table, now, settings.reminderMs, markers)
  const calling = view.state === 'calling'
  el.dataset.state = view.state
  el.dataset.overdue = String(Boolean(view.overdue))
  el.classList.toggle('fresh', calling && view.waitMs < FRESH_MS)
  parts.state.textContent = view.state === 'answered' ? 'Answered, waiting for the table' : !calling ? 'Idle' : view.overdue ? 'Still waiting' : 'Calling'
  parts.atLeast.textContent = calling && view.atLeast ? 'at least' : ''
  parts.wait.textContent = calling ? formatWait(view.waitMs) : ''
  parts.wait.title = calling && view.atLeast ? 'The button sent no press time: this counts from when this screen saw the call' : ''
  parts.count.textContent = calling && view.count > 1 ? `pressed ${view.count}×` : ''
  parts.conflict.textContent = view.conflict ? `⚠ on ${view.conflict.length} devices: ${view.conflict.join(', ')}` : ''
  el.dataset.marker = view.longest ? 'longest' : view.newest ? 'newest' : ''
  parts.marker.textContent = view.longest ? 'Longest wait' : view.newest ? 'Newest' : ''
  el.setAttribute('aria-label', tileLabel(view))
}

function drawDevice (id) {
  const device = staff.board.devices.get(id)
  let el = chips.get(id)
  if (!el) {
    el = document.createElement('li')
    el.className = 'dev'
    el.dataset.device = id
    // Touch screens show no title: a tap shows the voltage too.
    el.addEventListener('click', () => el.classList.toggle('show-volts'))
    $('devices').append(el)
    chips.set(id, el)
  }
  el.dataset.status = device.status ?? 'unknown'
  const status = device.status === 'online' ? '✓ online' : device.status === 'offline' ? '✕ OFFLINE: check power and WiFi' : 'status unknown'
  const name = id ? `Buttons ${id}` : 'Buttons'
  let battery = ''
  let spoken = ''
  if (device.volts !== null) {
    const level = batteryLevel(device.volts, settings.batteryLow)
    el.dataset.battery = level
    const advice = level === 'critical' ? ' — charge now' : level === 'low' ? ' — battery low, charge today' : ''
    battery = ` · battery ${percent(device.volts)}%${advice}`
    spoken = ` (${device.volts.toFixed(2)} volts)`
    el.title = `${device.volts.toFixed(2)} V`
  }
  el.replaceChildren(`${name}: ${status}${battery}`)
  if (spoken) span('volts sr-only', el, spoken)
}

function drawSummary (now) {
  const queue = staff.board.queue(now)
  $('summary').textContent = queue.length === 0
    ? 'No calls'
    : `${queue.length} calling · longest: table ${queue[0].table} (${formatWait(queue[0].waitMs)})`
  document.title = queue.length ? `(${queue.length}) Table calls` : 'Table calls'
  const { unknownTable, invalid } = staff.board.ignored
  const ignored = $('ignored')
  ignored.hidden = !unknownTable && !invalid
  ignored.dataset.unknownTables = String(unknownTable)
  ignored.dataset.invalid = String(invalid)
  ignored.textContent = `Ignored: ${unknownTable} call(s) for tables not on this board, ${invalid} other message(s).`
}

/** Every second: waiting times count up, and a call unanswered for another reminder interval beeps. */
function tick () {
  if (!staff) return
  const now = Date.now()
  for (const { table } of staff.board.queue(now)) dirty.tables.add(table)
  const due = staff.board.dueReminders(now, settings.reminderMs)
  if (due.length) announce(`Still waiting: table ${due.join(', ')}`)
  flush()
}

function alertNewCall (table) {
  announce(`Table ${table} is calling`)
}

function announce (text) {
  $('live').textContent = text
  navigator.vibrate?.(300)
  if (soundOn) beep()
  else $('sound').classList.add('nudge') // remind staff that this screen is silent
}

// ---- sound ------------------------------------------------------------------------------------

/** Two short rising tones; WebAudio so no audio file is needed. */
function beep () {
  const t0 = audio.currentTime
  for (const [i, freq] of [880, 1320].entries()) {
    const osc = audio.createOscillator()
    const gain = audio.createGain()
    const start = t0 + i * 0.2
    osc.frequency.value = freq
    gain.gain.setValueAtTime(0.0001, start)
    gain.gain.exponentialRampToValueAtTime(0.6, start + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.18)
    osc.connect(gain).connect(audio.destination)
    osc.start(start)
    osc.stop(start + 0.2)
  }
}

async function toggleSound () {
  const button = $('sound')
  soundOn = !soundOn
  if (soundOn) {
    audio ??= new AudioContext() // must be created/resumed inside a tap, or the browser keeps it muted
    await audio.resume()
    beep() // so staff hear what a call sounds like and can set the volume
  }
  button.setAttribute('aria-pressed', String(soundOn))
  button.textContent = soundOn ? 'Sound on' : 'Enable sound'
  button.classList.remove('nudge')
}

// ---- wiring -----------------------------------------------------------------------------------

const params = new URLSearchParams(location.search)

$('sound').addEventListener('click', toggleSound)
$('settings-open').addEventListener('click', () => openSettings(resolveRaw(new URLSearchParams(), load(KEYS.settings), served)))
$('settings-cancel').addEventListener('click', () => $('settings').close())
$('settings').addEventListener('close', () => {
  if (!linkPending) return
  linkPending = false // the link was not saved: the screen stays on its broker and forgets the link
  history.replaceState(null, '', location.pathname)
  apply(resolveRaw(new URLSearchParams(), load(KEYS.settings), served))
})
// The password shown belongs to its broker: a different broker typed in empties it, so it goes nowhere else.
$('f-broker').addEventListener('input', (e) => {
  const { form } = e.currentTarget
  const login = load(KEYS.login)
  if (form.password.value === login.password && form.broker.value.trim() !== login.broker) form.password.value = ''
})
$('settings-form').addEventListener('submit', (e) => {
  e.preventDefault() // the dialog stays open while a field is wrong
  const form = e.currentTarget
  const raw = Object.fromEntries(FIELDS.map((field) => [field, form[field].value.trim()]))
  save(KEYS.login, { broker: raw.broker, username: form.username.value.trim(), password: form.password.value })
  if (apply(raw)) {
    linkPending = false
    save(KEYS.settings, raw)
    $('settings').close()
    // Drop URL parameters so they no longer override what was just saved.
    history.replaceState(null, '', location.pathname)
  }
})

setInterval(tick, 1000)
fetch('defaults.json').then((r) => r.ok ? r.json() : {}).catch(() => ({})).then((defaults) => {
  served = defaults && typeof defaults === 'object' ? defaults : {}
  const stored = load(KEYS.settings)
  const login = load(KEYS.login)
  // A login saved before logins named their broker belongs to the broker this screen used.
  if (login.password !== undefined && login.broker === undefined) {
    save(KEYS.login, { ...login, broker: resolveRaw(new URLSearchParams(), stored, served).broker })
  }
  const raw = resolveRaw(params, stored, served)
  const other = linkedBroker(params, stored, served)
  if (other) return confirmLink(raw, other)
  // A staff link is remembered, so it only has to be opened once.
  if (FIELDS.some((f) => params.has(f)) || params.has('topic')) save(KEYS.settings, raw)
  apply(raw)
})
