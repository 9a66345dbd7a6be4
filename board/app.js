// Staff board: subscribes to the device's call/status topics over MQTT-over-WebSockets and shows one tile per table.
import mqtt from 'mqtt'
import {
  CallBoard, DEFAULT_BROKER, ackTopic, deriveStatusTopic, formatWait, parseCall, parseTable, resolveSettings, templateToRegExp,
  tileLabel, validateSettings
} from './model.js'

// Replaced by board/serve.mjs at build time with `message` from espruino.config.json.
const CALL_RE = templateToRegExp(__MESSAGE_TEMPLATE__)
const STORAGE_KEY = 'tablecall.board.settings'
const FRESH_MS = 10_000 // how long a new call flashes
const RECONNECT_MS = 1000

const $ = (id) => document.getElementById(id)
const tilesEl = $('tiles')
const tileEls = new Map() // table -> <button>

let board = new CallBoard()
let client = null
let settings = null
let audio = null // AudioContext, created on the "enable sound" tap (autoplay rules)
let soundOn = false

// ---- settings ---------------------------------------------------------------------------------

function loadStored () {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') ?? {}
  } catch {
    return {} // private mode or a hand-edited value: fall back to defaults
  }
}

function store (raw) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(raw))
  } catch {
    // Not remembered, but the page still works for this visit.
  }
}

/** Raw (as typed) values: URL parameters, remembered so a staff link only has to be opened once. */
function initialRaw () {
  const params = new URLSearchParams(location.search)
  const raw = { ...loadStored() }
  for (const key of ['broker', 'topic', 'status']) if (params.has(key)) raw[key] = params.get(key)
  store(raw)
  return raw
}

function showErrors (errors) {
  for (const field of ['broker', 'topic', 'statusTopic']) $(`e-${field}`).textContent = errors[field] ?? ''
}

function openSettings (raw, errors = {}) {
  const form = $('settings-form')
  form.broker.value = raw.broker || DEFAULT_BROKER
  form.topic.value = raw.topic ?? ''
  form.status.value = raw.status ?? ''
  form.status.placeholder = deriveStatusTopic(form.topic.value)
  showErrors(errors)
  if (!$('settings').open) $('settings').showModal()
}

function apply (raw) {
  const next = resolveSettings(new URLSearchParams(), raw)
  const errors = validateSettings(next)
  if (Object.keys(errors).length) {
    setState('unconfigured', 'info', 'Open Settings and enter the call topic of your buttons.')
    openSettings(raw, errors)
    return false
  }
  settings = next
  connect()
  return true
}

// ---- MQTT -------------------------------------------------------------------------------------

function connect () {
  client?.end(true)
  board = new CallBoard()
  for (const el of tileEls.values()) el.remove()
  tileEls.clear()
  showDevice(null)
  render()

  const { broker, topic, statusTopic } = settings
  setState('connecting', 'info', `Connecting to ${broker}…`)
  client = mqtt.connect(broker, {
    clientId: `tablecall-board-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: RECONNECT_MS,
    connectTimeout: 5000,
    keepalive: 30
  })
  const topics = [topic, ackTopic(topic), statusTopic].filter(Boolean)
  const self = client
  // A client replaced by a settings change may still emit while it closes: ignore it.
  const on = (event, fn) => self.on(event, (...args) => self === client && fn(...args))
  on('connect', () => {
    setState('connected', null)
    self.subscribe(topics, { qos: 1 }, (err) => {
      if (err) setState('error', 'alert', `Subscribing to ${topic} failed: ${err.message}`)
      else setState('subscribed', null)
    })
  })
  on('close', () => {
    setState('disconnected', 'alert',
      `No connection to the broker (${broker}). Reconnecting… Calls made now may be missed.`)
  })
  on('error', (err) => setState('error', 'alert', `Broker error: ${err.message}. Check Settings.`))
  on('message', (t, payload) => onMessage(t, payload.toString()))
}

function onMessage (topic, text) {
  if (topic === settings.topic) {
    const table = parseCall(text, CALL_RE)
    if (table !== null && board.press(table, Date.now()) === 'new') alertNewCall(table)
  } else if (topic === ackTopic(settings.topic)) {
    const table = parseTable(text)
    if (table !== null) board.ack(table)
  } else if (topic === settings.statusTopic) {
    showDevice(text.trim())
  }
  render()
}

function acknowledge (table) {
  if (!board.ack(table)) return // idle tile: nothing to acknowledge
  render()
  // QoS 1 so the ack survives a short drop; not retained, or a later screen would clear a newer call.
  client?.publish(ackTopic(settings.topic), String(table), { qos: 1, retain: false })
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

function showDevice (status) {
  const el = $('device')
  el.hidden = !settings?.statusTopic
  const known = status === 'online' || status === 'offline'
  if (status !== null && !known) return // some other payload: keep the last known state
  el.dataset.status = status ?? 'unknown'
  el.textContent = status === 'online'
    ? '✓ Buttons online'
    : status === 'offline'
      ? '✕ Buttons OFFLINE: check power and WiFi'
      : 'Buttons: status unknown'
}

const BELL = '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"/></svg>'

function tileFor (table) {
  let el = tileEls.get(table)
  if (el) return el
  el = document.createElement('button')
  el.type = 'button'
  el.className = 'tile'
  el.dataset.table = String(table)
  el.innerHTML = `<span class="marker"></span><span class="label">Table</span><span class="num">${table}</span>` +
    `<span class="state"><span class="icon">${BELL}</span><span class="state-text"></span></span>` +
    '<span class="wait"></span><span class="count"></span>'
  el.addEventListener('click', () => acknowledge(table))
  // Keep tiles in table order even when a new table appears between known ones.
  const after = [...tileEls.keys()].filter((t) => t > table).sort((a, b) => a - b)[0]
  tilesEl.insertBefore(el, after === undefined ? null : tileEls.get(after))
  tileEls.set(table, el)
  return el
}

function render () {
  const now = Date.now()
  for (const tile of board.view(now)) {
    const el = tileFor(tile.table)
    const calling = tile.state === 'calling'
    el.dataset.state = tile.state
    el.classList.toggle('fresh', calling && tile.waitMs < FRESH_MS)
    el.querySelector('.state-text').textContent = calling ? 'Calling' : 'Idle'
    el.querySelector('.wait').textContent = calling ? formatWait(tile.waitMs) : ''
    el.querySelector('.count').textContent = calling && tile.count > 1 ? `pressed ${tile.count}×` : ''
    el.dataset.marker = tile.longest ? 'longest' : tile.newest ? 'newest' : ''
    el.querySelector('.marker').textContent = tile.longest ? 'Longest wait' : tile.newest ? 'Newest' : ''
    el.setAttribute('aria-label', tileLabel(tile))
  }
  const queue = board.queue(now)
  $('summary').textContent = queue.length === 0
    ? 'No calls'
    : `${queue.length} calling · longest: table ${queue[0].table} (${formatWait(queue[0].waitMs)})`
  document.title = queue.length ? `(${queue.length}) Table calls` : 'Table calls'
}

function alertNewCall (table) {
  $('live').textContent = `Table ${table} is calling`
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

$('sound').addEventListener('click', toggleSound)
$('settings-open').addEventListener('click', () => openSettings(loadStored()))
$('settings-cancel').addEventListener('click', () => $('settings').close())
$('settings-form').addEventListener('input', (e) => {
  if (e.target.name === 'topic') e.currentTarget.status.placeholder = deriveStatusTopic(e.target.value.trim())
})
$('settings-form').addEventListener('submit', (e) => {
  e.preventDefault() // the dialog stays open while a field is wrong
  const form = e.currentTarget
  const raw = { broker: form.broker.value.trim(), topic: form.topic.value.trim(), status: form.status.value.trim() }
  if (apply(raw)) {
    store(raw)
    $('settings').close()
    // Drop URL parameters so they no longer override what was just saved.
    history.replaceState(null, '', location.pathname)
  }
})

setInterval(render, 1000)
render()
apply(initialRaw())
