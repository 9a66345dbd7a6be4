// Staff board settings: what staff type (or a link, or the board server's defaults, provide), checked
// field by field with the fix, and resolved into the values the board runs with.
import { BATTERY_CRITICAL, BATTERY_LOW } from './battery.js'

export const DEFAULT_BROKER = 'wss://broker.hivemq.com:8884/mqtt'
export const FIELDS = ['broker', 'devices', 'tables', 'reminder', 'batteryLow']
export const DEFAULTS = { broker: DEFAULT_BROKER, devices: '', tables: '1-4', reminder: '2', batteryLow: BATTERY_LOW.toFixed(2) }
const MAX_TABLES = 200 // tiles one screen can show; also bounds what a stranger's messages can grow
// Public brokers: anyone's devices are there, so a `+` for the device id would show strangers' calls.
const PUBLIC_HOSTS = ['broker.hivemq.com', 'test.mosquitto.org', 'broker.emqx.io', 'mqtt.eclipseprojects.io']

/** `1-4, 9` -> [1, 2, 3, 4, 9]; null when not a list of table numbers 1-9999. */
export function parseTables (text) {
  const tables = new Set()
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part)
    if (!m) return null
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])]
    if (from < 1 || to < from || to - from >= MAX_TABLES) return null
    for (let t = from; t <= to; t++) tables.add(t)
  }
  return tables.size ? [...tables].sort((a, b) => a - b) : null
}

/**
 * `1a2b3c4d 5e6f7a8b` (or the device topics) -> ids; `+` -> ['+'] (every device under the topic
 * prefix); null when something else is there. `idOf(topic)` returns a topic's device id or null.
 */
export function parseDevices (text, idOf) {
  const ids = []
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const id = part === '+' || /^[0-9a-f]{8}$/i.test(part) ? part.toLowerCase() : idOf(part)
    if (!id) return null
    if (!ids.includes(id)) ids.push(id)
  }
  return ids
}

/**
 * Raw values in force: URL parameters win over the remembered ones, which win over the board
 * server's defaults, then the built-in ones. A legacy link's `topic=` (a call topic) names a device.
 */
export function resolveRaw (params, stored = {}, served = {}) {
  const raw = {}
  for (const field of FIELDS) raw[field] = String(params.get(field) ?? stored[field] ?? served[field] ?? DEFAULTS[field]).trim()
  if (!params.has('devices') && params.has('topic')) raw.devices = params.get('topic').trim()
  return raw
}

/**
 * The saved login ({ broker, username, password }) if it was saved for `broker`, else none: a login is
 * bound to the broker it was saved for and never sent to another, whatever a link names.
 */
export const loginFor = (login, broker) => (login.broker === broker ? login : {})

/**
 * The broker a staff link would move this screen to, or null: a link naming a broker other than the
 * one the screen uses (remembered, or the board server's) moves it only when staff confirm. A new
 * screen on a static host uses no broker yet: its link needs no confirmation.
 */
export function linkedBroker (params, stored = {}, served = {}) {
  if (!params.has('broker') || (!stored.broker && !served.broker)) return null
  const linked = resolveRaw(params, stored, served).broker
  return linked === resolveRaw(new URLSearchParams(), stored, served).broker ? null : linked
}

/** { settings, errors }: errors has one line per wrong field, naming the fix. */
export function checkSettings (raw, idOf, templateHasId = true) {
  const errors = {}
  let host = ''
  try {
    host = /^wss?:$/.test(new URL(raw.broker).protocol) ? new URL(raw.broker).hostname : ''
  } catch {}
  if (!host) errors.broker = 'Broker URL must start with ws:// or wss://, e.g. wss://broker.hivemq.com:8884/mqtt'

  const devices = parseDevices(raw.devices, idOf)
  if (devices === null) {
    errors.devices = 'Devices: enter each device id (8 hex digits, e.g. 1a2b3c4d) separated by spaces, or + for all'
  } else if (templateHasId && !devices.length) {
    errors.devices = 'Devices: enter the id of your buttons (8 hex digits, e.g. 1a2b3c4d; npm run flash prints it)'
  } else if (devices.includes('+') && devices.length > 1) {
    errors.devices = 'Devices: + already means every device; remove the ids or the +'
  } else if (devices.includes('+') && PUBLIC_HOSTS.includes(host)) {
    errors.devices = `Devices: + would show strangers' devices on the public broker ${host}; enter your device ids`
  }

  const tables = parseTables(raw.tables)
  if (!tables) errors.tables = `Tables: enter table numbers 1-9999 and ranges, e.g. 1-12 or 1-4, 9 (at most ${MAX_TABLES})`

  const reminder = Number(raw.reminder)
  if (!/^\d+(\.\d+)?$/.test(raw.reminder) || reminder < 0.5 || reminder > 60) {
    errors.reminder = 'Reminder: minutes from 0.5 to 60, e.g. 2'
  }
  const batteryLow = Number(raw.batteryLow)
  if (!/^\d(\.\d{1,2})?$/.test(raw.batteryLow) || batteryLow < BATTERY_CRITICAL || batteryLow > 4.2) {
    errors.batteryLow = `Battery low: volts from ${BATTERY_CRITICAL.toFixed(2)} to 4.20, e.g. ${BATTERY_LOW.toFixed(2)}`
  }
  const settings = Object.keys(errors).length
    ? null
    : { broker: raw.broker, devices: templateHasId ? devices : [''], tables, reminderMs: reminder * 60_000, batteryLow }
  return { settings, errors }
}
