// npm run broker -- init: writes everything a restaurant's Linux box needs to run mosquitto as the
// restaurant's own broker, into one directory D (layout in docs/broker.md). Re-running keeps the
// credentials (unless rotate) and the CA, and rewrites everything else from the options.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, chmodSync } from 'node:fs'
import { networkInterfaces, userInfo } from 'node:os'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { loadConfig } from '../build/config.mjs'
import { aclFile, aclProblems } from './acl.mjs'
import { ensureCerts, CA } from './certs.mjs'
import { mosquittoConf, systemdUnit, PASSWD, ACL, DATA } from './conf.mjs'
import { newId, newPassword, passwordFile } from './passwords.mjs'
import { MOSQUITTO } from './mosquitto.mjs'

export class BrokerError extends Error {}

const STAFF_USER = 'staff'
const DEVICES = 'devices'
const SETTINGS = 'broker.json'
const STAFF = 'staff.json'
export const UNIT = 'tablecall-broker.service'
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
const PORTS = { plain: { mqtt: 1883, ws: 9001 }, tls: { mqtt: 8883, ws: 9443 } }

const readJson = path => existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined

function writeSecret (path, text) {
  writeFileSync(path, text, { mode: 0o600 })
  chmodSync(path, 0o600)
}

/** The first LAN IPv4 address of this machine, the likely address devices reach it by. */
function lanAddress () {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list) if (a.family === 'IPv4' && !a.internal) return a.address
  }
}

const deviceFile = n => `device-${n}.json`

function existingDevices (dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .map(f => /^device-(\d+)\.json$/.exec(f))
    .filter(Boolean)
    .map(m => ({ n: Number(m[1]), ...readJson(join(dir, m[0])) }))
    .sort((a, b) => a.n - b.n)
}

function settingsFor (options, previous = {}) {
  const host = options.host ?? previous.host ?? lanAddress()
  if (!host) throw new BrokerError('--host: this machine has no LAN address to default to (fix: --host <the address the devices and screens reach this machine by>)')
  const bind = options.bind ?? previous.bind
  // Both end up in files (mosquitto.conf, the certificate): nothing but a name or an address.
  for (const [flag, name] of [['--host', host], ['--bind', bind]]) {
    if (name !== undefined && !isIP(name) && !HOST_NAME.test(name)) throw new BrokerError(`${flag}: "${name}" is not a host name or IP address (fix: e.g. ${flag} 192.168.1.20)`)
  }
  const tls = options.tls ?? previous.tls ?? false
  // Only ports given explicitly are kept: defaults follow --tls.
  const ports = { mqttPort: options.mqttPort ?? previous.mqttPort, wsPort: options.wsPort ?? previous.wsPort }
  const mqttPort = ports.mqttPort ?? PORTS[tls ? 'tls' : 'plain'].mqtt
  const wsPort = ports.wsPort ?? PORTS[tls ? 'tls' : 'plain'].ws
  for (const [flag, port] of [['--mqtt-port', mqttPort], ['--ws-port', wsPort]]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BrokerError(`${flag}: "${port}" is not a port (fix: a whole number from 1 to 65535)`)
  }
  if (mqttPort === wsPort) throw new BrokerError(`--ws-port: ${wsPort} is also the MQTT port (fix: give each listener its own port)`)
  return { stored: { host, tls, bind, ...ports }, host, tls, bind, mqttPort, wsPort }
}

/**
 * @param {{dir: string, devices?: number, host?: string, tls?: boolean, bind?: string, mqttPort?: number,
 *   wsPort?: number, rotate?: boolean, configPath?: string}} options
 * @returns a summary for the command line (passwords included: the caller masks them)
 */
export function init ({ dir, devices, rotate = false, configPath = 'espruino.config.json', ...options }) {
  if (!dir) throw new BrokerError('--dir: missing (fix: --dir <directory for the broker\'s files>, e.g. --dir broker)')
  const { mqtt } = loadConfig({ configPath: resolve(configPath), target: 'sim', env: {} })
  const problems = aclProblems(mqtt)
  if (problems.length) throw new BrokerError(`${configPath}: the topics do not allow per-device access rules:\n  ${problems.join('\n  ')}`)

  dir = resolve(dir)
  const devicesDir = join(dir, DEVICES)
  const s = settingsFor(options, readJson(join(dir, SETTINGS)))
  const had = existingDevices(devicesDir)
  const count = devices ?? (had.length || 1)
  if (!Number.isInteger(count) || count < 1 || count > 999) throw new BrokerError(`--devices: "${devices}" is not a number of devices (fix: a whole number from 1 to 999)`)
  if (count < had.length) throw new BrokerError(`--devices: ${count}, but ${devicesDir} has ${had.length} devices; nothing was changed (fix: --devices ${had.length} or more; to retire a device, delete its file there and re-run init)`)

  for (const d of [dir, devicesDir, join(dir, DATA)]) mkdirSync(d, { recursive: true, mode: 0o700 })
  // Passwords and keys live here: keep git from ever taking them, wherever D is.
  writeFileSync(join(dir, '.gitignore'), '# written by npm run broker -- init: nothing here belongs in git\n*\n')

  const certs = s.tls ? ensureCerts(dir, s.host) : []
  const list = []
  for (let n = 1; n <= count; n++) {
    const old = had.find(d => d.n === n)
    const id = old?.id ?? newId()
    const password = old && !rotate ? old.mqtt.password : newPassword()
    const overlay = {
      id,
      mqtt: { host: s.host, port: s.mqttPort, username: id, password, tls: s.tls, ...(s.tls && { ca: `../${CA}` }) }
    }
    writeSecret(join(devicesDir, deviceFile(n)), JSON.stringify(overlay, null, 2) + '\n')
    list.push({ file: join(DEVICES, deviceFile(n)), id, password, state: !old ? 'new' : rotate ? 'new password' : 'kept' })
  }
  const oldStaff = readJson(join(dir, STAFF))
  const staff = { username: STAFF_USER, password: oldStaff && !rotate ? oldStaff.password : newPassword() }
  writeSecret(join(dir, STAFF), JSON.stringify(staff, null, 2) + '\n')

  writeSecret(join(dir, PASSWD.devices), passwordFile(Object.fromEntries(list.map(d => [d.id, d.password]))))
  writeSecret(join(dir, PASSWD.staff), passwordFile({ [staff.username]: staff.password }))
  writeFileSync(join(dir, ACL), aclFile(mqtt, STAFF_USER))
  const user = userInfo().username
  writeFileSync(join(dir, 'mosquitto.conf'), mosquittoConf({ user, ...s }))
  writeFileSync(join(dir, UNIT), systemdUnit({ user, dir, mosquitto: MOSQUITTO || '/usr/sbin/mosquitto' }))
  const wsHost = isIP(s.host) === 6 ? `[${s.host}]` : s.host
  const board = { url: `${s.tls ? 'wss' : 'ws'}://${wsHost}:${s.wsPort}`, username: STAFF_USER }
  writeFileSync(join(dir, 'board.json'), JSON.stringify(board, null, 2) + '\n')
  writeFileSync(join(dir, SETTINGS), JSON.stringify(s.stored, null, 2) + '\n')

  return { dir, ...s, devices: list, staff: { file: STAFF, ...staff, state: !oldStaff ? 'new' : rotate ? 'new password' : 'kept' }, board, certs, mosquitto: MOSQUITTO }
}
