// Loads espruino.config.json, lays the local overlay and the environment over it, and validates
// the result against espruino.config.schema.json plus the rules a schema cannot say. Problems stop the
// build; warnings (wiring that works only on some boards) are shown and do not.
import { readFileSync, existsSync } from 'node:fs'
import { dirname, join, basename, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { messageProblem } from '../../board/message-rule.js'
import { readJson } from './json-text.mjs'
import { checkPins, isObject } from './pins.mjs'
import { checkKaluma } from './kaluma-rules.mjs'
import { readCa } from './ca.mjs'

const SCHEMA_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'espruino.config.schema.json')
export const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'))

// The simulated access point (host runtime) a `sim` build joins when the config names no network.
const SIM_WIFI = { ssid: 'tablecall-sim', password: 'simulated' }

// The device replaces this with 8 hex digits derived from getSerial().
export const ID_PLACEHOLDER = '{id}'

export class ConfigError extends Error {
  constructor (problems, warnings = []) {
    super(problems.map(p => `  ${p}`).join('\n'))
    this.problems = problems
    this.warnings = warnings
  }
}

const ENV = {
  WIFI_SSID: ['wifi', 'ssid'],
  WIFI_PASSWORD: ['wifi', 'password'],
  MQTT_USERNAME: ['mqtt', 'username'],
  MQTT_PASSWORD: ['mqtt', 'password']
}

// Objects merge key by key; anything else (arrays too) is replaced whole.
function overlay (base, top) {
  if (!isObject(base) || !isObject(top)) return top
  const out = { ...base }
  for (const key of Object.keys(top)) out[key] = overlay(base[key], top[key])
  return out
}

function withDefaults (node, value) {
  if (node.type === 'object' && isObject(value)) {
    const out = { ...value }
    for (const [key, sub] of Object.entries(node.properties || {})) {
      if (out[key] === undefined && sub.default !== undefined) out[key] = sub.default
      if (out[key] !== undefined) out[key] = withDefaults(sub, out[key])
    }
    return out
  }
  return value
}

const typeOf = v => Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v
const article = type => /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
const typeName = type => type === 'integer' ? 'a whole number' : article(type)

// Never echoed: problems are printed, and land in terminals, CI logs and bug reports.
const SECRETS = ['wifi.password', 'mqtt.password']

/** A value as a problem quotes it: secrets (and what may hold one) by their type only, long texts cut. */
function show (value, path) {
  if (path !== undefined && SECRETS.some(secret => secret === path || secret.startsWith(path ? `${path}.` : ''))) return `${typeName(typeOf(value))} (value hidden)`
  const text = JSON.stringify(value)
  return text && text.length > 60 ? `${text.slice(0, 40)}…" (${text.length - 2} characters)` : String(text)
}

// The subset of JSON Schema the config schema uses; each problem names the field and the fix.
function check (node, value, path, problems) {
  const where = path || '(top level)'
  const hint = node.description ? ` — ${node.description}` : ''
  if (node.enum && !node.enum.includes(value)) {
    problems.push(`${where}: ${show(value, path)} is not allowed (fix: use one of ${node.enum.map(v => JSON.stringify(v)).join(', ')})`)
    return
  }
  if (node.type) {
    const actual = typeOf(value)
    const ok = actual === node.type || (node.type === 'number' && actual === 'integer')
    if (!ok) {
      problems.push(`${where}: expected ${typeName(node.type)}, got ${show(value, path)} (fix: set it to ${typeName(node.type)}${hint})`)
      return
    }
  }
  if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength) problems.push(`${where}: must not be empty (fix: set it${hint})`)
    if (node.maxLength !== undefined && Buffer.byteLength(value) > node.maxLength) problems.push(`${where}: is ${Buffer.byteLength(value)} bytes, at most ${node.maxLength} allowed (fix: shorten it)`)
    if (node.pattern && !new RegExp(node.pattern).test(value)) problems.push(`${where}: ${show(value, path)} is not valid (fix: ${node.description || `match ${node.pattern}`})`)
  }
  if (typeof value === 'number') {
    // A range speaks for itself; a lower bound alone gets the setting's meaning (battery.divider).
    const allowed = node.maximum === undefined ? `at least ${node.minimum}${hint}` : `${node.minimum} to ${node.maximum}`
    if (node.minimum !== undefined && value < node.minimum) problems.push(`${where}: ${value} is below ${node.minimum} (fix: use ${allowed})`)
    if (node.maximum !== undefined && value > node.maximum) problems.push(`${where}: ${value} is above ${node.maximum} (fix: use ${allowed})`)
  }
  if (Array.isArray(value)) {
    if (node.minItems !== undefined && value.length < node.minItems) problems.push(`${where}: needs at least ${node.minItems} entr${node.minItems === 1 ? 'y' : 'ies'} (fix: add one${hint})`)
    if (node.maxItems !== undefined && value.length > node.maxItems) problems.push(`${where}: has ${value.length} entries, at most ${node.maxItems} allowed (fix: remove some)`)
    if (node.items) value.forEach((item, i) => check(node.items, item, `${path}[${i}]`, problems))
  }
  if (isObject(value)) {
    const props = node.properties || {}
    for (const key of node.required || []) {
      if (value[key] === undefined) problems.push(`${path ? path + '.' : ''}${key}: missing (fix: add it${props[key]?.description ? ' — ' + props[key].description : ''})`)
    }
    for (const [key, sub] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key
      if (props[key]) check(props[key], sub, at, problems)
      else if (node.additionalProperties === false) {
        const known = Object.keys(props).filter(k => k !== '$schema')
        const near = known.find(k => k.toLowerCase() === key.toLowerCase()) || known.find(k => editDistance(k, key) <= 2)
        problems.push(`${at}: unknown setting (fix: ${near ? `did you mean "${near}"?` : `remove it; known here: ${known.join(', ')}`})`)
      }
    }
  }
}

function editDistance (a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]
}

// IEEE Std 802.11-2016, J.4.1 (pass-phrase to PSK mapping): a WPA passphrase is 8 to 63 printable ASCII
// characters (32-126); a key can instead be given as 64 hex digits.
function wpaProblem (password) {
  if (password === '' || /^[0-9a-fA-F]{64}$/.test(password) || Buffer.byteLength(password) > 64) return null // > 64: the schema check reports it
  const fix = 'use the network\'s WPA passphrase, 8 to 63 printable ASCII characters (letters, digits, punctuation, space), or leave it empty for an open network'
  if (/[^\x20-\x7e]/.test(password)) return `contains a character outside printable ASCII, which a WPA passphrase cannot have (fix: ${fix})`
  if (password.length < 8) return `${password.length} characters; a WPA passphrase has 8 to 63 (fix: ${fix})`
  if (password.length === 64) return `64 characters but not all hex digits: a 64-character key is hex, a passphrase has at most 63 characters (fix: ${fix})`
  return null
}

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i
const IPV4 = /^[0-9]+(\.[0-9]+){3}$/
const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i

/** mqtt.host must be a host name or an IP address; a URL gets the settings it stands for as the fix. */
function hostProblem (host) {
  const scheme = URL_SCHEME.exec(host)
  if (scheme) {
    // The URL is not quoted: it may carry a user name and password.
    const kind = scheme[1].toLowerCase()
    let url
    try { url = new URL(host) } catch { url = null }
    const name = url && url.hostname ? `"${url.hostname}"` : 'the broker\'s name or IP address'
    if (/^(wss?|https?)$/.test(kind)) return `a URL (${kind}://…), but the device speaks MQTT over TCP, not websockets (fix: in mqtt set "host": ${name} and "port" to the broker's MQTT port, usually 1883, or 8883 with "tls": true)`
    const tls = /^(mqtts|ssl|tls)$/.test(kind)
    const port = url && url.port ? url.port : (tls ? 8883 : 1883)
    return `a URL (${kind}://…), but a host name or IP address is wanted (fix: in mqtt set "host": ${name}, "port": ${port}${tls ? ', "tls": true' : ''}${url && url.username ? '; the user name and password go in MQTT_USERNAME and MQTT_PASSWORD' : ''})`
  }
  if (host.includes('@')) return 'contains @: a user name and password do not belong in the host (fix: only the name or address in mqtt.host; the user name and password go in MQTT_USERNAME and MQTT_PASSWORD)'
  const valid = IPV4.test(host) ? host.split('.').every(part => Number(part) <= 255) : HOST_NAME.test(host)
  if (!valid) return `${show(host)} is not a host name or IP address (fix: only the name or address, e.g. "broker.hivemq.com" or "192.168.1.20"${host.includes(':') ? '; the port goes in mqtt.port' : ''})`
  return null
}

const TOPICS = ['topic', 'statusTopic', 'tableTopic', 'answerTopic', 'batteryTopic']
// The topics with a table number in them: one per table.
const TABLE_TOPICS = ['tableTopic', 'answerTopic']
const count = (text, part) => text.split(part).length - 1

/** Each topic must be publishable, and no two topics may be the same (the device and the staff tell them apart by name). */
function checkTopics (config, mqtt, problems) {
  for (const field of TOPICS) {
    const topic = mqtt[field]
    if (typeof topic !== 'string') continue
    if (/[+#]/.test(topic)) problems.push(`mqtt.${field}: ${show(topic)} contains a wildcard (+ or #), which cannot be published to (fix: use plain topic levels, e.g. "${schema.properties.mqtt.properties[field].default}")`)
    // MQTT 3.1.1, 4.7.2: topics starting with $ are the broker's own ($SYS/...).
    if (topic.startsWith('$')) problems.push(`mqtt.${field}: ${show(topic)} starts with $, which brokers keep for themselves (fix: start it with a name, e.g. "tablecall/")`)
    if (Buffer.byteLength(topic.replaceAll(ID_PLACEHOLDER, '00000000').replaceAll('{n}', '9999')) > 65535) problems.push(`mqtt.${field}: longer than MQTT's 65,535 bytes (fix: shorten it)`)
    if (topic.includes('\u0000')) problems.push(`mqtt.${field}: contains a NUL character (fix: remove it)`)
  }
  const topics = [{ field: 'topic' }, { field: 'statusTopic' }]
  if (isObject(config.battery)) topics.push({ field: 'batteryTopic' })
  for (const t of topics) t.topic = mqtt[t.field]
  for (const field of TABLE_TOPICS) {
    const template = mqtt[field]
    if (typeof template !== 'string') continue
    if (count(template, '{n}') !== 1) {
      problems.push(`mqtt.${field}: ${show(template)} must contain {n} exactly once, the table number (fix: e.g. "${schema.properties.mqtt.properties[field].default}")`)
      continue
    }
    if (!Array.isArray(config.buttons)) continue
    for (const b of config.buttons) {
      if (isObject(b) && Number.isInteger(b.table)) topics.push({ field, table: b.table, topic: template.replaceAll('{n}', String(b.table)) })
    }
  }
  const seen = new Map()
  for (const t of topics) {
    if (typeof t.topic !== 'string') continue
    const first = seen.get(t.topic)
    if (!first) seen.set(t.topic, t)
    else if (first.field !== t.field) {
      const what = t.table === undefined ? `${show(t.topic)} is` : `for table ${t.table} it is ${show(t.topic)}, which is`
      problems.push(`mqtt.${t.field}: ${what} also mqtt.${first.field} (fix: give each its own topic, e.g. "${schema.properties.mqtt.properties[t.field].default}")`)
    }
  }
}

// Rules across fields, and the ones that depend on what the build is for. The values may have any type
// here (the schema check runs too and reports wrong types), so every rule checks what it reads.
function checkMeaning (config, target, problems, warnings) {
  if (!isObject(config)) return
  const mqtt = isObject(config.mqtt) ? config.mqtt : {}
  const wifi = isObject(config.wifi) ? config.wifi : {}
  checkTopics(config, mqtt, problems)
  if (typeof mqtt.host === 'string' && mqtt.host !== '') {
    const problem = hostProblem(mqtt.host)
    if (problem) problems.push(`mqtt.host: ${problem}`)
  }
  if (typeof mqtt.clientId === 'string' && Buffer.byteLength(mqtt.clientId.replaceAll(ID_PLACEHOLDER, '00000000')) > 23) problems.push('mqtt.clientId: longer than 23 bytes once {id} is filled in, which some brokers refuse (fix: shorten it)')
  if (mqtt.password !== undefined && mqtt.username === undefined) problems.push('mqtt.password: set without mqtt.username (fix: set MQTT_USERNAME too)')
  if (mqtt.ca !== undefined && mqtt.tls !== true) problems.push('mqtt.ca: set, but mqtt.tls is off, so the certificate would not be used (fix: set "tls": true in mqtt, or remove ca)')
  else if (typeof mqtt.ca === 'string') {
    try {
      readCa(mqtt.ca)
    } catch (err) {
      problems.push(`mqtt.ca: ${err.message}`)
    }
  }
  if (mqtt.tls === true && mqtt.port === 1883) warnings.push('mqtt.port: 1883 is the plain MQTT port, but mqtt.tls is on: most brokers take TLS on 8883 (set mqtt.port to your broker\'s TLS port)')
  if (mqtt.tls !== true && mqtt.port === 8883) warnings.push('mqtt.port: 8883 is usually MQTT over TLS, but mqtt.tls is off (set "tls": true, or the broker\'s plain port, usually 1883)')
  if (typeof wifi.password === 'string') {
    const problem = wpaProblem(wifi.password)
    if (problem) problems.push(`wifi.password: ${problem}`)
  }
  if (typeof config.message === 'string') {
    const problem = messageProblem(config.message)
    if (problem) problems.push(`message: ${show(config.message)} ${problem}`)
  }
  checkPins(config, problems, warnings)
  checkKaluma(config, target, problems, warnings)
  if (Array.isArray(config.buttons)) {
    const seen = new Map()
    config.buttons.forEach((b, i) => {
      if (!isObject(b) || b.table === undefined) return
      if (seen.has(b.table)) problems.push(`buttons[${i}].table: ${show(b.table)} is already used by buttons[${seen.get(b.table)}] (fix: give each button its own table)`)
      else seen.set(b.table, i)
    })
  }
  if (target === 'device' && (wifi.ssid === undefined || wifi.ssid === '')) {
    problems.push('wifi.ssid: empty, but a device needs a network (fix: set WIFI_SSID (and WIFI_PASSWORD) in the environment, or put {"wifi": {"ssid": "...", "password": "..."}} in espruino.config.local.json)')
  }
}

// A path in a file is relative to that file.
function readLayer (file, problems) {
  const json = readJson(file, problems)
  if (isObject(json) && isObject(json.mqtt) && typeof json.mqtt.ca === 'string') json.mqtt.ca = resolve(dirname(file), json.mqtt.ca)
  return json
}

/**
 * Reads and validates the configuration.
 * @param {{configPath: string, target?: 'device'|'sim', env?: object, overlayPath?: string}} options
 *   overlayPath: one device's settings (e.g. written by `npm run broker -- init`), laid over the local overlay
 * @returns {{config: object, warnings: string[]}} the merged config with defaults filled in, and what
 *   works only on some boards (for the user to read; it does not fail the build)
 * @throws ConfigError listing every problem (and the warnings)
 */
export function readConfig ({ configPath, target = 'device', env = process.env, overlayPath }) {
  const problems = []
  const warnings = []
  let config = readLayer(configPath, problems)
  const localPath = join(dirname(configPath), basename(configPath).replace(/\.json$/, '') + '.local.json')
  for (const path of [existsSync(localPath) && localPath, overlayPath]) {
    if (config === undefined || !path) continue
    const layer = readLayer(path, problems)
    if (layer !== undefined) config = overlay(config, layer)
  }
  if (problems.length) throw new ConfigError(problems)
  for (const [name, [section, key]] of Object.entries(ENV)) {
    if (env[name] !== undefined && env[name] !== '') config = overlay(config, { [section]: { [key]: env[name] } })
  }
  config = withDefaults(schema, config)
  // Both checks always run, so one bad setting never hides another.
  check(schema, config, '', problems)
  checkMeaning(config, target, problems, warnings)
  if (problems.length) throw new ConfigError(problems, warnings)
  if (target === 'sim' && !(config.wifi && config.wifi.ssid)) config = { ...config, wifi: { ...config.wifi, ...SIM_WIFI } }
  return { config, warnings }
}

/** The validated config alone (for tools that show no warnings). */
export const loadConfig = options => readConfig(options).config
