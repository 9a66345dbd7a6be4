// npm run broker -- retire <device-id|file> --dir D: takes one device out of service for good. Its
// login goes from devices.passwd and the running broker reloads it (mosquitto then disconnects the
// device, without its will), and the broker tool's admin login clears what the device left retained
// (status, table states, answers, battery), which no screen or device may clear.
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import mqtt from 'mqtt'
import { loadConfig } from '../build/config.mjs'
import { fill } from './acl.mjs'
import { CA } from './certs.mjs'
import { newPassword } from './passwords.mjs'
import { BrokerError, DEVICES, SETTINGS, ADMIN, ADMIN_USER, readJson, knownDevices, writeDeviceLogins, saveSettings } from './files.mjs'
import { writePrivate } from '../build/private-file.mjs'

const ID = /^[0-9a-f]{8}$/
// What a device leaves retained; status first: clearing it marks the end of the retained messages.
const RETAINED = ['statusTopic', 'tableTopic', 'answerTopic', 'batteryTopic']

// The id an argument names: an id, or a device file (as given, or by its name in D/devices).
function idOf (device, dir) {
  if (ID.test(device)) return device
  const path = [resolve(device), join(dir, DEVICES, basename(device))].find(p => existsSync(p))
  const id = path && readJson(path)?.id
  if (!id || !ID.test(id)) throw new BrokerError(`"${device}" is neither a device id (8 hex digits) nor a device file (fix: e.g. npm run broker -- retire ${DEVICES}/device-2.json --dir ${dir})`)
  return id
}

// The mosquitto processes of this user running in D (as npm run broker -- start and the unit run it).
function brokersIn (dir) {
  const here = realpathSync(dir)
  return readdirSync('/proc').filter(pid => /^\d+$/.test(pid)).filter(pid => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'mosquitto' && readlinkSync(`/proc/${pid}/cwd`) === here
    } catch {
      return false // gone meanwhile, or another user's
    }
  }).map(Number)
}

// Logs in as admin, again and again until the broker has reloaded the password file with this password.
async function adminClient ({ dir, settings, admin, timeoutMs }) {
  const options = {
    host: settings.bind ?? '127.0.0.1',
    port: settings.mqttPort ?? (settings.tls ? 8883 : 1883),
    protocol: settings.tls ? 'mqtts' : 'mqtt',
    username: admin.username,
    password: admin.password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    // Our own CA; the certificate names --host, which need not be the local address used here.
    ...(settings.tls && { ca: readFileSync(join(dir, CA)), checkServerIdentity: () => undefined })
  }
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await mqtt.connectAsync(options)
    } catch (err) {
      if (Date.now() > deadline) throw new BrokerError(`the broker did not take the new logins within ${timeoutMs / 1000} s (${err.message}); the device's login is removed from the files (fix: restart the broker, then npm run broker -- retire <its id> --dir ${dir} again to clear its topics)`)
      await sleep(200)
    }
  }
}

// Clears the device's retained topics; returns them. The broker sends a subscription's retained
// messages before anything published after its SUBACK, so the clear of the status, published then,
// comes back after the last of them.
async function clearRetained (client, topics, timeoutMs) {
  const [status] = topics
  const found = new Set()
  let done
  const last = new Promise(resolve => { done = resolve })
  client.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length) found.add(topic)
    else if (topic === status && !payload.length) done()
  })
  await client.subscribeAsync(topics, { qos: 1 })
  await client.publishAsync(status, '', { qos: 1, retain: true })
  let timer
  await Promise.race([last, new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new BrokerError(`the broker did not send ${status} back within ${timeoutMs / 1000} s`)), timeoutMs)
  })]).finally(() => clearTimeout(timer))
  found.delete(status)
  for (const topic of found) await client.publishAsync(topic, '', { qos: 1, retain: true })
  return [status, ...found]
}

/**
 * @param {{dir: string, device: string, configPath?: string, timeoutMs?: number}} options
 * @returns {Promise<{id: string, file?: string, again: boolean, cleared: string[]}>} what it did
 */
export async function retire ({ dir, device, configPath = 'espruino.config.json', timeoutMs = 10000 }) {
  if (!dir) throw new BrokerError('--dir: missing (fix: --dir <the directory init wrote>)')
  if (!device) throw new BrokerError(`which device? (fix: npm run broker -- retire <its id or its file, e.g. ${DEVICES}/device-2.json> --dir ${dir})`)
  dir = resolve(dir)
  const settings = readJson(join(dir, SETTINGS))
  if (!settings) throw new BrokerError(`--dir: ${dir} has no ${SETTINGS} (fix: the directory npm run broker -- init wrote)`)
  const { mqtt: topics } = loadConfig({ configPath: resolve(configPath), target: 'sim', env: {} })
  const id = idOf(device, dir)
  const devices = knownDevices(dir, settings)
  const retiring = devices.find(d => d.id === id)
  const earlier = (settings.retired ?? []).find(d => d.id === id)
  if (!retiring && !earlier) throw new BrokerError(`device ${id} is not a device of ${dir}; nothing was changed (fix: one of ${devices.map(d => `${d.id} (${d.file ?? 'no file'})`).join(', ')})`)
  const pids = brokersIn(dir)
  if (!pids.length) throw new BrokerError(`no mosquitto of this user runs in ${dir}, so the device's retained topics cannot be cleared; nothing was changed (fix: start it, npm run broker -- start --dir ${dir} or sudo systemctl start tablecall-broker, then retire again as the user who runs it)`)

  // Every file first: a retire cut short is finished by running it again.
  const file = retiring?.file ?? earlier.file
  const remaining = devices.filter(d => d.id !== id)
  // A new admin password: once it logs in, the broker has reloaded, and the device is out.
  const admin = { username: ADMIN_USER, password: newPassword() }
  writePrivate(join(dir, ADMIN), JSON.stringify(admin, null, 2) + '\n')
  writeDeviceLogins(dir, remaining, admin)
  if (file) rmSync(join(dir, DEVICES, file), { force: true })
  saveSettings(dir, { ...settings, devices: remaining, retired: earlier ? settings.retired : [...(settings.retired ?? []), { id, file }] })
  for (const pid of pids) process.kill(pid, 'SIGHUP')

  const client = await adminClient({ dir, settings, admin, timeoutMs })
  try {
    const cleared = await clearRetained(client, RETAINED.map(field => fill(topics[field], id)), timeoutMs)
    return { id, file: file && join(dir, DEVICES, file), again: Boolean(earlier), cleared }
  } finally {
    await client.endAsync()
  }
}
