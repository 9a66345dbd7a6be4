// npm run broker -- init: writes everything a restaurant's Linux box needs to run mosquitto as the
// restaurant's own broker, into one directory D (layout in docs/broker.md). Re-running keeps the
// credentials (unless rotate) and the CA, and rewrites everything else from the options.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs'
import { networkInterfaces, userInfo } from 'node:os'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { loadConfig } from '../build/config.mjs'
import { aclFiles, aclProblems } from './acl.mjs'
import { ensureCerts, CA } from './certs.mjs'
import { mosquittoConf, systemdUnit, PASSWD, ACL, DATA } from './conf.mjs'
import { newId, newPassword, passwordFile } from './passwords.mjs'
import { MOSQUITTO } from './mosquitto.mjs'
import { BrokerError, DEVICES, SETTINGS, STAFF, ADMIN, ADMIN_USER, readJson, deviceFile, fileNumber, knownDevices, writeDeviceLogins, saveSettings } from './files.mjs'
import { writePrivate } from '../build/private-file.mjs'

const STAFF_USER = 'staff'
export const UNIT = 'tablecall-broker.service'
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
const PORTS = { plain: { mqtt: 1883, ws: 9001 }, tls: { mqtt: 8883, ws: 9443 } }
const IGNORE_ALL = '*'

/** The first LAN IPv4 address of this machine, the likely address devices reach it by. */
function lanAddress () {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list) if (a.family === 'IPv4' && !a.internal) return a.address
  }
}

// Passwords and keys live in D: keep git from ever taking them, wherever D is, and keep what an
// existing .gitignore there says.
function ignoreAll (dir) {
  const path = join(dir, '.gitignore')
  const had = existsSync(path) ? readFileSync(path, 'utf8') : ''
  if (had.split('\n').some(line => line.trim() === IGNORE_ALL)) return
  const separator = had && !had.endsWith('\n') ? '\n' : ''
  writeFileSync(path, `${had}${separator}# added by npm run broker -- init: nothing here belongs in git\n${IGNORE_ALL}\n`)
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
  const previous = readJson(join(dir, SETTINGS)) ?? {}
  const s = settingsFor(options, previous)
  const had = knownDevices(dir, previous)
  const count = devices ?? (had.length || 1)
  if (!Number.isInteger(count) || count < 1 || count > 999) throw new BrokerError(`--devices: "${devices}" is not a number of devices (fix: a whole number from 1 to 999)`)
  if (count < had.length) throw new BrokerError(`--devices: ${count}, but ${devicesDir} has ${had.length} devices; nothing was changed (fix: --devices ${had.length} or more; --devices only adds: to take a device out of service, npm run broker -- retire <its id or file> --dir ${dir})`)

  for (const d of [dir, devicesDir, join(dir, DATA)]) {
    mkdirSync(d, { recursive: true, mode: 0o700 })
    chmodSync(d, 0o700) // also a directory that was there before
  }
  ignoreAll(dir)

  const certs = s.tls ? ensureCerts(dir, s.host) : []
  const retired = previous.retired ?? []
  // A new device gets a number no device of D ever had: a board's label never names two devices.
  let last = Math.max(0, ...[...had, ...retired].map(d => fileNumber(d.file)).filter(Number.isFinite))
  const taken = new Set([...had, ...retired].map(d => d.id))
  const fresh = () => {
    let id
    do id = newId(); while (taken.has(id))
    taken.add(id)
    return id
  }
  const list = had.map(d => {
    if (d.password === undefined && !rotate) return { ...d, state: d.login ? 'file missing: login kept' : 'file missing, no login' }
    const state = d.password === undefined ? 'file missing: made again, new password' : rotate ? 'new password' : 'kept'
    const file = d.password === undefined && (!d.file || existsSync(join(devicesDir, d.file))) ? deviceFile(++last) : d.file
    return { id: d.id, file, password: rotate ? newPassword() : d.password, state }
  })
  while (list.length < count) list.push({ id: fresh(), file: deviceFile(++last), password: newPassword(), state: 'new' })
  for (const d of list) {
    if (d.password === undefined) continue
    const overlay = {
      id: d.id,
      mqtt: { host: s.host, port: s.mqttPort, username: d.id, password: d.password, tls: s.tls, ...(s.tls && { ca: `../${CA}` }) }
    }
    writePrivate(join(devicesDir, d.file), JSON.stringify(overlay, null, 2) + '\n')
  }
  const kept = (file, user) => {
    const old = readJson(join(dir, file))
    const login = { username: user, password: old && !rotate ? old.password : newPassword() }
    writePrivate(join(dir, file), JSON.stringify(login, null, 2) + '\n')
    return { login, state: !old ? 'new' : rotate ? 'new password' : 'kept' }
  }
  const staff = kept(STAFF, STAFF_USER)
  const admin = kept(ADMIN, ADMIN_USER)

  writeDeviceLogins(dir, list, admin.login)
  writePrivate(join(dir, PASSWD.staff), passwordFile({ [STAFF_USER]: staff.login.password }))
  const acl = aclFiles(mqtt, { staff: STAFF_USER, admin: ADMIN_USER })
  for (const who of ['devices', 'staff']) writeFileSync(join(dir, ACL[who]), acl[who])
  rmSync(join(dir, 'acl'), { force: true }) // the single ACL of earlier versions
  const user = userInfo().username
  writeFileSync(join(dir, 'mosquitto.conf'), mosquittoConf({ user, ...s }))
  writeFileSync(join(dir, UNIT), systemdUnit({ user, dir, mosquitto: MOSQUITTO || '/usr/sbin/mosquitto' }))
  const wsHost = isIP(s.host) === 6 ? `[${s.host}]` : s.host
  const board = { url: `${s.tls ? 'wss' : 'ws'}://${wsHost}:${s.wsPort}`, username: STAFF_USER }
  writeFileSync(join(dir, 'board.json'), JSON.stringify(board, null, 2) + '\n')
  saveSettings(dir, { ...s.stored, devices: list, retired })

  return {
    dir,
    ...s,
    devices: list.map(d => ({ ...d, file: d.file && join(DEVICES, d.file) })),
    staff: { file: STAFF, ...staff.login, state: staff.state },
    board,
    certs,
    mosquitto: MOSQUITTO
  }
}
