// Loads espruino.config.json, lays the local overlay and the environment over it, and validates
// the result against espruino.config.schema.json plus the rules a schema cannot say.
import { readFileSync, existsSync } from 'node:fs'
import { dirname, join, basename } from 'node:path'
import { fileURLToPath } from 'node:url'

const SCHEMA_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'espruino.config.schema.json')
export const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'))

// The simulated access point (host runtime) a `sim` build joins when the config names no network.
const SIM_WIFI = { ssid: 'tablecall-sim', password: 'simulated' }

// The device replaces this with 8 hex digits derived from getSerial().
export const ID_PLACEHOLDER = '{id}'

export class ConfigError extends Error {
  constructor (problems) {
    super(problems.map(p => `  ${p}`).join('\n'))
    this.problems = problems
  }
}

const ENV = {
  WIFI_SSID: ['wifi', 'ssid'],
  WIFI_PASSWORD: ['wifi', 'password'],
  MQTT_USERNAME: ['mqtt', 'username'],
  MQTT_PASSWORD: ['mqtt', 'password']
}

function readJson (file, problems) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    problems.push(`${basename(file)}: ${err.code === 'ENOENT' ? 'file not found' : err.message} (fix: ${err.code === 'ENOENT' ? 'check the path' : 'correct the JSON syntax'})`)
    return undefined
  }
}

// Objects merge key by key; anything else (arrays too) is replaced whole.
function overlay (base, top) {
  if (!isObject(base) || !isObject(top)) return top
  const out = { ...base }
  for (const key of Object.keys(top)) out[key] = overlay(base[key], top[key])
  return out
}

const isObject = v => v !== null && typeof v === 'object' && !Array.isArray(v)

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

// The subset of JSON Schema the config schema uses; each problem names the field and the fix.
function check (node, value, path, problems) {
  const where = path || '(top level)'
  const hint = node.description ? ` — ${node.description}` : ''
  if (node.enum && !node.enum.includes(value)) {
    problems.push(`${where}: ${JSON.stringify(value)} is not allowed (fix: use one of ${node.enum.map(v => JSON.stringify(v)).join(', ')})`)
    return
  }
  if (node.type) {
    const actual = typeOf(value)
    const ok = actual === node.type || (node.type === 'number' && actual === 'integer')
    if (!ok) {
      problems.push(`${where}: expected ${node.type === 'integer' ? 'a whole number' : `a ${node.type}`}, got ${JSON.stringify(value)} (fix: set it to ${node.type === 'integer' ? 'a whole number' : `a ${node.type}`}${hint})`)
      return
    }
  }
  if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength) problems.push(`${where}: must not be empty (fix: set it${hint})`)
    if (node.maxLength !== undefined && Buffer.byteLength(value) > node.maxLength) problems.push(`${where}: is ${Buffer.byteLength(value)} bytes, at most ${node.maxLength} allowed (fix: shorten it)`)
    if (node.pattern && !new RegExp(node.pattern).test(value)) problems.push(`${where}: ${JSON.stringify(value)} is not valid (fix: ${node.description || `match ${node.pattern}`})`)
  }
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) problems.push(`${where}: ${value} is below ${node.minimum} (fix: use ${node.minimum} to ${node.maximum})`)
    if (node.maximum !== undefined && value > node.maximum) problems.push(`${where}: ${value} is above ${node.maximum} (fix: use ${node.minimum} to ${node.maximum})`)
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

// GPIO numbers per board family (the linux family takes any D<n>).
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i)
const PINS = {
  esp32: { name: 'n ESP32', gpio: [...range(0, 5), ...range(12, 19), 21, 22, 23, 25, 26, 27, ...range(32, 39)], hint: 'use D16 to D19 as wired in docs/wiring.md' },
  rp2040: { name: ' Pico W (RP2040)', gpio: range(0, 28), hint: 'use D0 to D28' }
}

// Rules across fields, and the ones that depend on what the build is for.
function checkMeaning (config, target, problems) {
  const mqtt = config.mqtt || {}
  for (const field of ['topic', 'statusTopic']) {
    const topic = mqtt[field]
    if (typeof topic !== 'string') continue
    if (/[+#]/.test(topic)) problems.push(`mqtt.${field}: "${topic}" contains a wildcard (+ or #), which cannot be published to (fix: use plain topic levels, e.g. "tablecall/{id}/calls")`)
    if (Buffer.byteLength(topic.replaceAll(ID_PLACEHOLDER, '00000000')) > 65535) problems.push(`mqtt.${field}: longer than MQTT's 65,535 bytes (fix: shorten it)`)
    if (topic.includes('\u0000')) problems.push(`mqtt.${field}: contains a NUL character (fix: remove it)`)
  }
  if (typeof mqtt.topic === 'string' && mqtt.topic === mqtt.statusTopic) problems.push('mqtt.statusTopic: same as mqtt.topic (fix: give the status its own topic, e.g. "tablecall/{id}/status")')
  if (typeof mqtt.clientId === 'string' && Buffer.byteLength(mqtt.clientId.replaceAll(ID_PLACEHOLDER, '00000000')) > 23) problems.push('mqtt.clientId: longer than 23 bytes once {id} is filled in, which some brokers refuse (fix: shorten it)')
  if (mqtt.password !== undefined && mqtt.username === undefined) problems.push('mqtt.password: set without mqtt.username (fix: set MQTT_USERNAME too)')
  if (Array.isArray(config.buttons)) {
    const family = PINS[config.board]
    config.buttons.forEach((b, i) => {
      const n = isObject(b) && typeof b.pin === 'string' ? Number(b.pin.slice(1)) : NaN
      if (family && !Number.isNaN(n) && !family.gpio.includes(n)) problems.push(`buttons[${i}].pin: "${b.pin}" is not a GPIO pin of a${family.name} board (fix: ${family.hint})`)
    })
  }
  if (Array.isArray(config.buttons)) {
    for (const field of ['pin', 'table']) {
      const seen = new Map()
      config.buttons.forEach((b, i) => {
        if (!isObject(b) || b[field] === undefined) return
        if (seen.has(b[field])) problems.push(`buttons[${i}].${field}: ${JSON.stringify(b[field])} is already used by buttons[${seen.get(b[field])}] (fix: give each button its own ${field})`)
        else seen.set(b[field], i)
      })
    }
  }
  if (target === 'device' && !(config.wifi && config.wifi.ssid)) {
    problems.push('wifi.ssid: empty, but a device needs a network (fix: set WIFI_SSID (and WIFI_PASSWORD) in the environment, or put {"wifi": {"ssid": "...", "password": "..."}} in espruino.config.local.json)')
  }
}

/**
 * Reads and validates the configuration.
 * @param {{configPath: string, target?: 'device'|'sim', env?: object}} options
 * @returns the merged config with defaults filled in
 * @throws ConfigError listing every problem
 */
export function loadConfig ({ configPath, target = 'device', env = process.env }) {
  const problems = []
  let config = readJson(configPath, problems)
  const localPath = join(dirname(configPath), basename(configPath).replace(/\.json$/, '') + '.local.json')
  if (config !== undefined && existsSync(localPath)) {
    const local = readJson(localPath, problems)
    if (local !== undefined) config = overlay(config, local)
  }
  if (problems.length) throw new ConfigError(problems)
  for (const [name, [section, key]] of Object.entries(ENV)) {
    if (env[name] !== undefined && env[name] !== '') config = overlay(config, { [section]: { [key]: env[name] } })
  }
  config = withDefaults(schema, config)
  check(schema, config, '', problems)
  if (!problems.length) checkMeaning(config, target, problems)
  if (problems.length) throw new ConfigError(problems)
  if (target === 'sim' && !(config.wifi && config.wifi.ssid)) config = { ...config, wifi: { ...config.wifi, ...SIM_WIFI } }
  return config
}
