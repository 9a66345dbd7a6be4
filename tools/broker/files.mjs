// The broker directory D that init writes and retire changes: its secrets, and its devices. A device
// keeps its id and login until `retire` takes it out: its file in D/devices/ (id, password) is its
// record, broker.json lists every device init made and every one retired, and a device whose file was
// deleted by hand keeps its line in devices.passwd (it still works; only its password is gone from D).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PASSWD } from './conf.mjs'
import { passwordFile } from './passwords.mjs'
import { writePrivate } from '../build/private-file.mjs'

export class BrokerError extends Error {}

export const DEVICES = 'devices'
export const SETTINGS = 'broker.json'
export const STAFF = 'staff.json'
// The broker tool's own login: on the devices' listener, never on a screen or a device.
export const ADMIN = 'admin.json'
export const ADMIN_USER = 'admin'

export const readJson = path => existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined

export const deviceFile = n => `device-${n}.json`
export const fileNumber = file => Number(/^device-(\d+)\.json$/.exec(file ?? '')?.[1] ?? Infinity)

// The lines of a mosquitto password file, by user name.
function loginLines (path) {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : ''
  return new Map(text.split('\n').filter(Boolean).map(line => [line.slice(0, line.indexOf(':')), line]))
}

/**
 * Every device of D not retired, in file order: {id, file?, password?, login?}. `password` when its
 * file is there, `login` (its devices.passwd line) when it has one.
 * @param {string} dir
 * @param {{devices?: {id: string, file: string}[], retired?: {id: string, file?: string}[]}} settings broker.json
 */
export function knownDevices (dir, settings = {}) {
  const retired = new Map((settings.retired ?? []).map(d => [d.id, d]))
  const devices = new Map((settings.devices ?? []).map(d => [d.id, { id: d.id, file: d.file }]))
  const devicesDir = join(dir, DEVICES)
  const files = existsSync(devicesDir) ? readdirSync(devicesDir).filter(f => fileNumber(f) !== Infinity) : []
  const fileOf = new Map()
  for (const file of files) {
    const { id, mqtt } = readJson(join(devicesDir, file))
    if (fileOf.has(id)) throw new BrokerError(`${DEVICES}/${fileOf.get(id)} and ${DEVICES}/${file} are the same device (id ${id}); nothing was changed (fix: delete the copy)`)
    if (retired.has(id)) throw new BrokerError(`${DEVICES}/${file} is device ${id}, which was retired; nothing was changed (fix: delete that file; a device to use again gets a new file: npm run broker -- init --devices N)`)
    fileOf.set(id, file)
    devices.set(id, { id, file, password: mqtt.password })
  }
  // A listed device whose file now holds another device has lost its file.
  for (const d of devices.values()) if (d.password === undefined && files.includes(d.file)) delete d.file
  const logins = loginLines(join(dir, PASSWD.devices))
  for (const user of logins.keys()) if (user !== ADMIN_USER && !retired.has(user) && !devices.has(user)) devices.set(user, { id: user })
  for (const d of devices.values()) d.login = logins.get(d.id)
  return [...devices.values()].sort((a, b) => fileNumber(a.file) - fileNumber(b.file))
}

/**
 * Writes devices.passwd: each device's login from its password, else its earlier line (a device
 * without its file), and the admin's.
 */
export function writeDeviceLogins (dir, devices, admin) {
  const lines = devices.map(d => d.password !== undefined ? passwordFile({ [d.id]: d.password }) : d.login ? d.login + '\n' : '')
  writePrivate(join(dir, PASSWD.devices), lines.join('') + passwordFile({ [admin.username]: admin.password }))
}

/** Writes broker.json: init's settings, the devices (id and file name) and the retired ones. */
export function saveSettings (dir, { devices, retired, ...settings }) {
  const record = devices.map(({ id, file }) => ({ id, file }))
  writeFileSync(join(dir, SETTINGS), JSON.stringify({ ...settings, devices: record, retired }, null, 2) + '\n')
}
