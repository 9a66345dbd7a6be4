// npm run broker: the restaurant's own mosquitto, as init writes it, started for real on 127.0.0.1,
// against the firmware (host runtime) and MQTT.js clients playing devices, staff and strangers.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createHash, createPublicKey } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { chromium } from 'playwright-core'
import { build } from '../build.mjs'
import { ConfigError } from '../tools/build/config.mjs'
import { init } from '../tools/broker/init.mjs'
import { BrokerError } from '../tools/broker/files.mjs'
import { retire } from '../tools/broker/retire.mjs'
import { spawnBroker } from '../tools/broker/start.mjs'
import { own } from '../host/children.mjs'
import { ensureCerts } from '../tools/broker/certs.mjs'
import { freePort, supervise } from '../host/mosquitto.mjs'
import { createDevice } from '../host/espruino/runtime.mjs'
import { prelude, ESPRUINO_STDIO } from '../bench/espruino.mjs'
import { startFakeRepl } from './fixtures/flash/fake-repl.mjs'
import { boot, tap, logged, until, connected } from './helpers/firmware.mjs'
import { CHROMIUM, noMosquitto, skipWithout } from './helpers/tools.mjs'

const CLI = fileURLToPath(new URL('../tools/broker/cli.mjs', import.meta.url))
const FLASH_CLI = fileURLToPath(new URL('../tools/flash/cli.mjs', import.meta.url))
const CONFIG = fileURLToPath(new URL('../espruino.config.json', import.meta.url))

const scratch = () => mkdtempSync(join(tmpdir(), 'tablecall-broker-'))
const readJson = path => JSON.parse(readFileSync(path, 'utf8'))

/** init in a fresh directory on free ports, listening on 127.0.0.1 only. */
async function initBroker (options = {}) {
  const dir = scratch()
  const result = init({ dir: join(dir, 'broker'), devices: 2, host: '127.0.0.1', bind: '127.0.0.1', mqttPort: await freePort(), wsPort: await freePort(), configPath: CONFIG, ...options })
  return { ...result, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** mosquitto as `npm run broker -- start` runs it, supervised. */
const startBroker = ({ dir, mqttPort, wsPort }) => supervise(spawnBroker(dir), { ports: [mqttPort, wsPort] })

/** Device firmware built the way `npm run flash -- --overlay D/devices/device-N.json` builds it. */
async function deviceFirmware (overlayPath) {
  const dir = scratch()
  try {
    // A copy without the developer's espruino.config.local.json beside it.
    copyFileSync(CONFIG, join(dir, 'config.json'))
    return await build({ configPath: join(dir, 'config.json'), overlayPath, outPath: join(dir, 'fw.js'), target: 'sim', env: {} })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Boots (fake timers) the firmware built with `overlay` (an object) against `port`; stops it after fn. */
async function withDevice (overlay, port, fn) {
  const dir = scratch()
  try {
    writeFileSync(join(dir, 'device.json'), JSON.stringify(overlay))
    const { code } = await deviceFirmware(join(dir, 'device.json'))
    const device = boot({ code, port, fakeTimers: true })
    try {
      await fn(device)
    } finally {
      device.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const clients = new Set()

/** An MQTT.js client; rejects with the broker's refusal. */
async function client (url, options = {}) {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
  clients.add(c)
  c.received = []
  c.on('message', (topic, payload, packet) => c.received.push({ topic, payload: String(payload), retain: packet.retain }))
  return c
}

const closeClients = async () => {
  await Promise.all([...clients].map(c => c.endAsync(true)))
  clients.clear()
}

/** A promise bounded in time. */
function within (promise, ms, what) {
  let timer
  const late = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms) })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** Bounded wait for a message matching `match` on client `c`. */
function arrives (c, match, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const found = () => c.received.find(m => m.topic === match.topic && (match.payload === undefined || m.payload === match.payload))
    if (found()) return resolve(found())
    const timer = setTimeout(() => {
      c.removeListener('message', check)
      reject(new Error(`waited ${timeoutMs} ms for ${JSON.stringify(match)}; got ${JSON.stringify(c.received)}`))
    }, timeoutMs)
    function check () {
      if (!found()) return
      clearTimeout(timer)
      c.removeListener('message', check)
      resolve(found())
    }
    c.on('message', check)
  })
}

const devices = r => r.devices.map(d => ({ file: d.file, ...readJson(join(r.dir, d.file)) }))
const deviceUrl = r => `${r.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${r.mqttPort}`
const staffUrl = r => `${r.tls ? 'wss' : 'ws'}://127.0.0.1:${r.wsPort}`
const staffLogin = r => readJson(join(r.dir, 'staff.json'))
const STAFF_TOPICS = ['tablecall/+/calls', 'tablecall/+/status', 'tablecall/+/table/+', 'tablecall/+/battery']
const refused = /Not authorized|Bad username or password|Connection refused/i

describe('a broker made by init', { skip: noMosquitto }, () => {
  let r, broker, A, B
  before(async () => {
    r = await initBroker()
    broker = await startBroker(r)
    ;[A, B] = devices(r)
  })
  after(async () => {
    await closeClients()
    await broker?.stop()
    r?.remove()
  })

  test('mosquitto.conf names no path of the machine that made it; git ignores the directory', () => {
    const conf = readFileSync(join(r.dir, 'mosquitto.conf'), 'utf8')
    assert.ok(!conf.includes(r.dir), conf)
    for (const line of conf.split('\n').filter(l => /^(password_file|acl_file|certfile|keyfile|persistence_location) /.test(l))) {
      assert.doesNotMatch(line.split(' ')[1], /^\//, line)
    }
    assert.match(conf, /^persistent_client_expiration 7d$/m, 'sessions of screens closed for good are forgotten')
    // Saved after every change (a power cut loses seconds, not a minute): counted in changes, not seconds.
    assert.match(conf, /^autosave_on_changes true\nautosave_interval 1$/m)
    assert.match(readFileSync(join(r.dir, '.gitignore'), 'utf8'), /^\*$/m)
    assert.deepEqual(readJson(join(r.dir, 'board.json')), { url: `ws://127.0.0.1:${r.wsPort}`, username: 'staff' })
  })

  test('the firmware, built with a device overlay, connects and delivers; the staff see the call', async () => {
    const staff = await client(staffUrl(r), staffLogin(r))
    await staff.subscribeAsync(STAFF_TOPICS, { qos: 1 })
    const { code } = await deviceFirmware(join(r.dir, A.file))
    const device = boot({ code, port: r.mqttPort })
    try {
      await logged(device, connected)
      await arrives(staff, { topic: `tablecall/${A.id}/status`, payload: 'online 2' })
      await tap(device, 'D16')
      await arrives(staff, { topic: `tablecall/${A.id}/calls`, payload: 'button 1 is pressed' })
      assert.deepEqual(device.uncaught, [])
    } finally {
      device.stop()
    }
    // The will: the broker tells the staff the device is gone.
    await arrives(staff, { topic: `tablecall/${A.id}/status`, payload: 'offline 2' })
  })

  test('a wrong device password: refused, said plainly, retried with growing backoff, no crash', () =>
    withDevice({ id: A.id, mqtt: { ...A.mqtt, password: 'guessed' } }, r.mqttPort, async device => {
      await logged(device, /broker refused the connection: (bad user name or password|not authorised)/, { count: 3, stepMs: 200, realMs: 20000 })
      const waits = device.logs.filter(l => /^mqtt: connecting again in/.test(l)).map(l => Number(/in ([\d.]+) s/.exec(l)[1]))
      assert.ok(waits.length >= 2 && waits[1] > waits[0], `backoff grows: ${waits}`)
      assert.deepEqual(device.uncaught, [])
      assert.ok(!device.logs.some(l => connected.test(l)))
    }))

  test('a device flashed for TLS against a plain port: each failed handshake as on Espruino, retried with backoff', () =>
    withDevice({ id: A.id, mqtt: { ...A.mqtt, tls: true } }, r.mqttPort, async device => {
      await logged(device, /^mqtt: connecting again in/, { count: 3, stepMs: 200, realMs: 20000 })
      // Espruino 2v29 prints "Uncaught InternalError: mbedtls_ssl_handshake returned -0x1" and closes the socket.
      assert.ok(device.uncaught.length >= 2 && device.uncaught.every(e => /^InternalError: mbedtls_ssl_handshake returned/.test(String(e))), device.uncaught.join('\n'))
      assert.ok(!device.logs.some(l => connected.test(l)))
    }))

  test('strangers cannot log in on either listener; device logins do not work on the staff listener', async () => {
    await assert.rejects(client(deviceUrl(r)), refused)
    await assert.rejects(client(staffUrl(r)), refused)
    await assert.rejects(client(deviceUrl(r), { username: A.id, password: 'guessed' }), refused)
    await assert.rejects(client(staffUrl(r), { username: A.id, password: A.mqtt.password }), refused)
    await assert.rejects(client(deviceUrl(r), { username: 'staff', password: staffLogin(r).password }), refused)
  })

  test('a device reaches only its own topics: what the ACL refuses never reaches a subscriber', async () => {
    const staff = await client(staffUrl(r), staffLogin(r))
    await staff.subscribeAsync(STAFF_TOPICS, { qos: 1 })
    const a = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password })
    const b = await client(deviceUrl(r), { username: B.id, password: B.mqtt.password })
    const bTable = `tablecall/${B.id}/table/1`
    await b.publishAsync(bTable, 'calling', { qos: 1, retain: true })
    await arrives(staff, { topic: bTable, payload: 'calling' })

    // A fakes B's call and clears B's table; mosquitto drops them silently (MQTT 3.1.1), so A then
    // publishes something allowed: once that arrived, anything sent before it would have too.
    await a.publishAsync(`tablecall/${B.id}/calls`, 'button 1 is pressed', { qos: 1 })
    await a.publishAsync(bTable, '', { qos: 1, retain: true })
    await a.publishAsync(`tablecall/${B.id}/status`, 'offline', { qos: 1, retain: true })
    await a.publishAsync(`tablecall/${A.id}/calls`, 'button 2 is pressed', { qos: 1 })
    await arrives(staff, { topic: `tablecall/${A.id}/calls`, payload: 'button 2 is pressed' })
    assert.deepEqual(staff.received.filter(m => m.topic.includes(B.id)).map(m => `${m.topic} ${m.payload}`), [`${bTable} calling`])

    // Table B is still calling for anyone who looks now.
    const later = await client(staffUrl(r), staffLogin(r))
    await later.subscribeAsync(bTable, { qos: 1 })
    assert.equal((await arrives(later, { topic: bTable })).payload, 'calling')

    // A's subscriptions beyond its own table states are granted (mosquitto 2.0 checks reading per
    // message) but deliver nothing of B's: B publishes, then A's own table state follows on the
    // same queue to A; once that arrived, B's would have too.
    await a.subscribeAsync([`tablecall/${A.id}/table/+`, `tablecall/${B.id}/table/+`, 'tablecall/+/calls', '#'], { qos: 1 })
    await b.publishAsync(`tablecall/${B.id}/calls`, 'button 1 is pressed', { qos: 1 })
    await b.publishAsync(`tablecall/${B.id}/table/2`, 'calling', { qos: 1, retain: true })
    await a.publishAsync(`tablecall/${A.id}/table/1`, 'calling', { qos: 1, retain: true })
    await arrives(a, { topic: `tablecall/${A.id}/table/1`, payload: 'calling' })
    assert.deepEqual(a.received.filter(m => !m.topic.startsWith(`tablecall/${A.id}/`)), [])
  })

  test('nobody can take over a device\'s session by its client id', async () => {
    const b = await client(deviceUrl(r), { username: B.id, password: B.mqtt.password, clientId: B.id })
    let kicked = false
    b.on('close', () => { kicked = true })
    // A logs in claiming B's client id: the broker uses A's user name instead.
    const a = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password, clientId: B.id })
    await a.publishAsync(`tablecall/${A.id}/calls`, 'button 3 is pressed', { qos: 1 })
    // B's session still works: a QoS 1 round trip after A's whole connect and publish.
    await within(b.publishAsync(`tablecall/${B.id}/calls`, 'button 4 is pressed', { qos: 1 }), 5000, 'B\'s PUBACK')
    assert.equal(kicked, false)
    assert.equal(b.connected, true)
  })

  test('the staff read every device\'s calls, states and battery and answer calls, but write no state, no call, no one else\'s topic', async () => {
    const a = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password })
    const aTable = `tablecall/${A.id}/table/2`
    const aAnswer = `${aTable}/answer`
    await a.subscribeAsync([aTable, aAnswer], { qos: 1 })
    await a.publishAsync(aTable, 'calling 7 1795675200000', { qos: 1, retain: true })
    await a.publishAsync(`tablecall/${A.id}/battery`, '3.87', { qos: 1, retain: true })

    const staff = await client(staffUrl(r), staffLogin(r))
    await staff.subscribeAsync([...STAFF_TOPICS, 'tablecall/+/table/+/answer'], { qos: 1 })
    await arrives(staff, { topic: aTable, payload: 'calling 7 1795675200000' })
    await arrives(staff, { topic: `tablecall/${A.id}/battery`, payload: '3.87' })

    // Refused (dropped silently): a fake call, a state (the device's alone), a call as a "device" named
    // after the staff user. Then the answer, allowed: the device gets it, so the others came first.
    await staff.publishAsync(`tablecall/${A.id}/calls`, 'button 9 is pressed', { qos: 1 })
    await staff.publishAsync(aTable, '', { qos: 1, retain: true })
    await staff.publishAsync('tablecall/staff/calls', 'button 1 is pressed', { qos: 1 })
    await staff.publishAsync('tablecall/staff/table/1', 'calling 1', { qos: 1, retain: true })
    await staff.publishAsync(aAnswer, '7', { qos: 1, retain: true })
    const answer = await arrives(a, { topic: aAnswer, payload: '7' })
    assert.equal(answer.retain, false, 'live, not from an earlier run')
    assert.deepEqual(a.received.filter(m => m.topic !== aAnswer).map(m => `${m.topic} ${m.payload}`), [`${aTable} calling 7 1795675200000`])

    // A device may read its answers but not write them; the staff see no answer (they write only).
    await a.publishAsync(aAnswer, '8', { qos: 1, retain: true })
    const later = await client(staffUrl(r), staffLogin(r))
    await later.subscribeAsync([aTable, `tablecall/${A.id}/battery`, 'tablecall/staff/#'], { qos: 1 })
    await arrives(later, { topic: `tablecall/${A.id}/battery`, payload: '3.87' })
    assert.equal((await arrives(later, { topic: aTable })).payload, 'calling 7 1795675200000', 'the state is still the device\'s')
    const fresh = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password })
    await fresh.subscribeAsync(aAnswer, { qos: 1 })
    assert.equal((await arrives(fresh, { topic: aAnswer })).payload, '7', 'the device did not overwrite the answer')
    assert.deepEqual([...staff.received, ...later.received].filter(m => /answer$|^tablecall\/staff\/|button 9/.test(m.topic + m.payload)), [])
  })

  test('a device cannot read another\'s answers', async () => {
    const a = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password })
    const staff = await client(staffUrl(r), staffLogin(r))
    await a.subscribeAsync([`tablecall/${B.id}/table/+/answer`, `tablecall/${A.id}/table/+/answer`], { qos: 1 })
    await staff.publishAsync(`tablecall/${B.id}/table/1/answer`, '3', { qos: 1, retain: true })
    await staff.publishAsync(`tablecall/${A.id}/table/1/answer`, '4', { qos: 1, retain: true })
    await arrives(a, { topic: `tablecall/${A.id}/table/1/answer`, payload: '4' })
    assert.deepEqual(a.received.filter(m => m.topic.includes(B.id)), [])
  })
})

describe('a broker made by init, restarted', { skip: noMosquitto }, () => {
  let r, broker
  before(async () => { r = await initBroker({ devices: 1 }) })
  after(async () => {
    await closeClients()
    await broker?.stop()
    r?.remove()
  })

  test('a call still waiting survives a restart of the broker (persistence in D/data)', async () => {
    const [A] = devices(r)
    const table = `tablecall/${A.id}/table/3`
    broker = await startBroker(r)
    const a = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password })
    await a.publishAsync(table, 'calling', { qos: 1, retain: true })
    await closeClients()
    await broker.stop()
    broker = await startBroker(r)
    const staff = await client(staffUrl(r), staffLogin(r))
    await staff.subscribeAsync(table, { qos: 1 })
    assert.equal((await arrives(staff, { topic: table })).payload, 'calling')
  })

  test('a call and an answer survive kill -9 of the broker (saved after every change, not every minute)', async () => {
    const [A] = devices(r)
    const table = `tablecall/${A.id}/table/4`
    broker ??= await startBroker(r)
    const a = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password })
    const staff = await client(staffUrl(r), staffLogin(r))
    await a.publishAsync(table, 'calling 12', { qos: 1, retain: true })
    await staff.publishAsync(`${table}/answer`, '11', { qos: 1, retain: true })
    // mosquitto saves after the loop pass that handled a change: one more round trip on each link
    // (each PUBACK comes from a later pass) and both changes are on disk.
    await a.publishAsync(`tablecall/${A.id}/calls`, 'button 4 is pressed', { qos: 1 })
    await staff.publishAsync(`${table}/answer`, '11', { qos: 1, retain: true })
    const killed = new Promise(resolve => broker.child.once('exit', resolve))
    broker.child.kill('SIGKILL')
    await killed
    await closeClients()
    broker = await startBroker(r)
    const fresh = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password })
    await fresh.subscribeAsync([table, `${table}/answer`], { qos: 1 })
    assert.equal((await arrives(fresh, { topic: table })).payload, 'calling 12')
    assert.equal((await arrives(fresh, { topic: `${table}/answer` })).payload, '11')
  })
})

describe('a broker made by init --tls', { skip: noMosquitto }, () => {
  let r, broker, A
  before(async () => {
    r = await initBroker({ tls: true, devices: 1 })
    broker = await startBroker(r)
    ;[A] = devices(r)
  })
  after(async () => {
    await closeClients()
    await broker?.stop()
    r?.remove()
  })

  test('the firmware connects over TLS (host runtime tls) and delivers; staff read over wss, trusting the CA', async () => {
    assert.deepEqual(readJson(join(r.dir, 'board.json')), { url: `wss://127.0.0.1:${r.wsPort}`, username: 'staff' })
    // Node verifies: the server certificate must carry --host and chain to ca.pem.
    const ca = readFileSync(join(r.dir, 'ca.pem'))
    const staff = await client(staffUrl(r), { ...staffLogin(r), ca })
    await staff.subscribeAsync(STAFF_TOPICS, { qos: 1 })
    const { code, config } = await deviceFirmware(join(r.dir, A.file))
    assert.equal(config.mqtt.tls, true)
    const device = boot({ code, port: r.mqttPort })
    try {
      await logged(device, connected)
      await tap(device, 'D17')
      await arrives(staff, { topic: `tablecall/${A.id}/calls`, payload: 'button 2 is pressed' })
      assert.deepEqual(device.uncaught, [])
    } finally {
      device.stop()
    }
  })

  test('on the real interpreter (ESPRUINO_BIN): the firmware connects over TLS and delivers', { skip: !process.env.ESPRUINO_BIN && 'ESPRUINO_BIN is not set (an Espruino 2v29 built for Linux)' }, async () => {
    const staff = await client(staffUrl(r), { ...staffLogin(r), ca: readFileSync(join(r.dir, 'ca.pem')) })
    await staff.subscribeAsync(STAFF_TOPICS, { qos: 1 })
    const { code } = await deviceFirmware(join(r.dir, A.file))
    const dir = scratch()
    // The Linux build has no GPIO: the bench's prelude presses the buttons once the firmware is connected.
    writeFileSync(join(dir, 'fw.js'), prelude({ presses: 3, gapMs: 100, settleMs: 1000 }) + code)
    const espruino = own(spawn(process.env.ESPRUINO_BIN, ['fw.js'], { cwd: dir, stdio: ESPRUINO_STDIO }))
    let out = ''
    espruino.stdout.on('data', d => { out += d })
    espruino.stderr.on('data', d => { out += d })
    try {
      await arrives(staff, { topic: `tablecall/${A.id}/calls`, payload: 'button 3 is pressed' }, 20000).catch(err => {
        throw new Error(`${err.message}\nEspruino printed:\n${out}`)
      })
      assert.match(out, new RegExp(`mqtt: connected to 127\\.0\\.0\\.1:${r.mqttPort}`))
      assert.doesNotMatch(out, /Uncaught|InternalError/)
    } finally {
      espruino.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('Chromium takes the wss listener: a page with MQTT.js logs in as staff and sees a call', { skip: skipWithout('chromium') }, async () => {
    // Trust exactly the broker's key, as installing ca.pem on a tablet does (no NSS tools here).
    const spki = createHash('sha256').update(createPublicKey(readFileSync(join(r.dir, 'server.pem'))).export({ type: 'spki', format: 'der' })).digest('base64')
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [`--ignore-certificate-errors-spki-list=${spki}`] })
    try {
      const page = await browser.newPage()
      await page.addScriptTag({ path: fileURLToPath(new URL('../node_modules/mqtt/dist/mqtt.min.js', import.meta.url)) })
      const got = page.evaluate(({ url, login, topic }) => new Promise((resolve, reject) => {
        const c = window.mqtt.connect(url, { ...login, reconnectPeriod: 0 })
        c.on('error', err => reject(new Error(String(err))))
        c.on('connect', () => c.subscribe(topic, { qos: 1 }, () => { document.title = 'subscribed' }))
        c.on('message', (t, payload) => resolve(`${t} ${payload}`))
      }), { url: staffUrl(r), login: staffLogin(r), topic: STAFF_TOPICS[0] })
      got.catch(() => {}) // awaited below; a refusal must not count as unhandled meanwhile
      await page.waitForFunction(() => document.title === 'subscribed', null, { timeout: 10000 })
      const a = await client(deviceUrl(r), { username: A.id, password: A.mqtt.password, ca: readFileSync(join(r.dir, 'ca.pem')) })
      await a.publishAsync(`tablecall/${A.id}/calls`, 'button 4 is pressed', { qos: 1 })
      assert.equal(await within(got, 10000, 'the call in Chromium'), `tablecall/${A.id}/calls button 4 is pressed`)
    } finally {
      await browser.close()
    }
  })

  test('no plain MQTT on the TLS port', async () => {
    await assert.rejects(client(`mqtt://127.0.0.1:${r.mqttPort}`, { username: A.id, password: A.mqtt.password, connectTimeout: 2000 }))
  })

  test('the host runtime\'s tls is Espruino\'s: DER only, PEM refused with its error, the server not verified', async () => {
    // base64, turned into bytes by atob() on the device: a string literal could not carry them (\u escapes become UTF-8)
    const der = pemBase64(join(r.dir, 'ca.pem'))
    const pem = readFileSync(join(r.dir, 'ca.pem'), 'latin1')
    // Another CA altogether: Espruino 2v29 connects anyway (MBEDTLS_SSL_VERIFY_NONE).
    const stranger = strangerCaBase64()
    const code = `
      var tls = require('tls');
      function attempt(name, ca) {
        try {
          var s = tls.connect({ host: 'x', port: 1, ca: ca }, function () { console.log(name + ' connected'); s.end(); });
        } catch (e) { console.log(name + ' threw ' + e); }
      }
      attempt('pem', ${JSON.stringify(pem)});
      attempt('der', atob(${JSON.stringify(der)}));
      attempt('other', atob(${JSON.stringify(stranger)}));
      attempt('none', undefined);
    `
    const device = createDevice({ code, connectOverride: () => ({ host: '127.0.0.1', port: r.mqttPort }) })
    device.start()
    try {
      await until(device, () => device.logs.length >= 4, { what: 'four attempts' })
      assert.deepEqual(device.logs.slice().sort(), [
        'der connected', 'none connected', 'other connected',
        "pem threw InternalError: HTTPS init failed! mbedtls_x509_crt_parse of 'ca': Invalid format"
      ])
    } finally {
      device.stop()
    }
  })
})

// A PEM certificate's body: its DER bytes in base64.
const pemBase64 = path => readFileSync(path, 'latin1').replace(/-----[^-]+-----|\s/g, '')

// Another broker's CA, base64 of its DER.
function strangerCaBase64 () {
  const dir = scratch()
  try {
    ensureCerts(dir, '127.0.0.2')
    return pemBase64(join(dir, 'ca.pem'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** npm run broker with these arguments: {code, stdout, stderr}. */
const runBroker = args => new Promise(resolve => execFile(process.execPath, [CLI, ...args, '--config', CONFIG], { timeout: 60000 },
  (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr })))

/** What the broker holds retained under a device, read with the admin login: {topic: payload}. */
async function retainedOf (r, id) {
  const admin = await client(deviceUrl(r), readJson(join(r.dir, 'admin.json')))
  try {
    await admin.subscribeAsync(`tablecall/${id}/#`, { qos: 1 })
    // Published after the SUBACK: it arrives after every retained message of the subscription.
    await admin.publishAsync(`tablecall/${id}/calls`, 'end of retained', { qos: 1 })
    await arrives(admin, { topic: `tablecall/${id}/calls`, payload: 'end of retained' })
    return Object.fromEntries(admin.received.filter(m => m.retain).map(m => [m.topic, m.payload]))
  } finally {
    clients.delete(admin)
    await admin.endAsync(true)
  }
}

/** A device as MQTT.js plays it: its will, `online 2`, a call on table 1, its battery; answered by the staff. */
async function busyDevice (r, d, password) {
  const status = `tablecall/${d.id}/status`
  const c = await client(deviceUrl(r), { username: d.id, password, will: { topic: status, payload: 'offline 2', qos: 1, retain: true } })
  await c.publishAsync(status, 'online 2', { qos: 1, retain: true })
  await c.publishAsync(`tablecall/${d.id}/table/1`, 'calling 5', { qos: 1, retain: true })
  await c.publishAsync(`tablecall/${d.id}/table/2`, 'calling 6', { qos: 1, retain: true })
  await c.publishAsync(`tablecall/${d.id}/battery`, '3.90', { qos: 1, retain: true })
  const staff = await client(staffUrl(r), staffLogin(r))
  await staff.publishAsync(`tablecall/${d.id}/table/2/answer`, '6', { qos: 1, retain: true })
  assert.deepEqual(Object.keys(await retainedOf(r, d.id)).sort(), ['battery', 'status', 'table/1', 'table/2', 'table/2/answer'].map(t => `tablecall/${d.id}/${t}`))
  return c
}

describe('a device keeps its login until it is retired', { skip: noMosquitto }, () => {
  let r, broker, passwords
  const login = d => ({ username: d.id, password: passwords[d.id] })
  before(async () => {
    r = await initBroker({ devices: 3 })
    passwords = Object.fromEntries(devices(r).map(d => [d.id, d.mqtt.password]))
    // Finding 1: a device file deleted, as the tool once advised for retiring, and init run again.
    rmSync(join(r.dir, 'devices', 'device-2.json'))
    r = { ...r, ...init({ dir: r.dir, configPath: CONFIG }) }
    broker = await startBroker(r)
  })
  after(async () => {
    await closeClients()
    await broker?.stop()
    r?.remove()
  })

  test('a device file deleted and init run again: no device loses its login, the summary says which file is missing', async () => {
    assert.deepEqual(r.devices.map(d => [d.file, d.state]), [
      [join('devices', 'device-1.json'), 'kept'], [join('devices', 'device-2.json'), 'file missing: login kept'], [join('devices', 'device-3.json'), 'kept']])
    for (const d of r.devices) {
      const c = await client(deviceUrl(r), login(d))
      await c.endAsync()
    }
  })

  test('--devices only adds: fewer is refused naming retire, more adds new numbers and changes no device', () => {
    const before = readFileSync(join(r.dir, 'devices.passwd'), 'utf8').split('\n').slice(0, 3)
    assert.throws(() => init({ dir: r.dir, devices: 2, configPath: CONFIG }), e => e instanceof BrokerError && /nothing was changed .*npm run broker -- retire/.test(e.message))
    const more = init({ dir: r.dir, devices: 4, configPath: CONFIG })
    assert.deepEqual(more.devices.map(d => d.state), ['kept', 'file missing: login kept', 'kept', 'new'])
    assert.equal(more.devices[3].file, join('devices', 'device-4.json'))
    assert.deepEqual(readFileSync(join(r.dir, 'devices.passwd'), 'utf8').split('\n').slice(0, 3).map(l => l.split(':')[0]), before.map(l => l.split(':')[0]))
  })

  test('retire FILE, while the device is connected: it is thrown off and refused, what it left is cleared, no other device touched, no password shown', async () => {
    const [one, , three] = r.devices
    const other = await busyDevice(r, one, passwords[one.id])
    const gone = await busyDevice(r, three, passwords[three.id])
    const closed = new Promise(resolve => gone.once('close', resolve))
    const { code, stdout, stderr } = await runBroker(['retire', join(r.dir, three.file), '--dir', r.dir])
    assert.equal(code, 0, stderr)
    assert.match(stdout, new RegExp(`^Retired device ${three.id} \\(.*device-3\\.json\\):`))
    assert.match(stdout, /login is removed and the running broker reloaded/)
    assert.match(stdout, new RegExp(`cleared on the broker: tablecall/${three.id}/status, `))
    for (const secret of [...Object.values(passwords), readJson(join(r.dir, 'admin.json')).password, staffLogin(r).password]) assert.ok(!stdout.includes(secret) && !stderr.includes(secret))
    await within(closed, 10000, 'the retired device thrown off')
    await assert.rejects(client(deviceUrl(r), login(three)), refused)
    assert.deepEqual(await retainedOf(r, three.id), {}, 'no status (no will either), state, answer or battery left')
    assert.ok(!existsSync(join(r.dir, three.file)))
    // The other device: still connected, its topics as they were.
    await other.publishAsync(`tablecall/${one.id}/calls`, 'button 1 is pressed', { qos: 1 })
    assert.equal(Object.keys(await retainedOf(r, one.id)).length, 5)
  })

  test('retire ID of a device gone offline: its retained "offline" (the will) is cleared too; retire again clears again', async () => {
    const [, two] = r.devices
    const c = await busyDevice(r, two, passwords[two.id])
    const staff = await client(staffUrl(r), staffLogin(r))
    await staff.subscribeAsync(`tablecall/${two.id}/status`, { qos: 1 })
    c.stream.destroy() // the power goes: the broker publishes the will
    await arrives(staff, { topic: `tablecall/${two.id}/status`, payload: 'offline 2' })
    const done = await retire({ dir: r.dir, device: two.id, configPath: CONFIG })
    assert.equal(done.again, false)
    assert.deepEqual(await retainedOf(r, two.id), {})
    const watcher = await client(staffUrl(r), staffLogin(r))
    await watcher.subscribeAsync(STAFF_TOPICS, { qos: 1 })
    await retainedOf(r, two.id) // its end marker reaches the watcher too, after any retained message
    await arrives(watcher, { topic: `tablecall/${two.id}/calls`, payload: 'end of retained' })
    assert.deepEqual(watcher.received.filter(m => m.retain && m.topic.includes(two.id)), [], 'a board watching + gets nothing retained of it')
    assert.equal((await retire({ dir: r.dir, device: two.id, configPath: CONFIG })).again, true)
    await assert.rejects(retire({ dir: r.dir, device: '0badbeef', configPath: CONFIG }), e => e instanceof BrokerError && /device 0badbeef is not a device of .*nothing was changed/.test(e.message))
  })
})

describe('init', () => {
  const dirs = []
  after(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })))
  const fresh = () => {
    const d = scratch()
    dirs.push(d)
    return join(d, 'broker')
  }
  const credentials = dir => ({
    devices: [1, 2].map(n => readJson(join(dir, 'devices', `device-${n}.json`))),
    staff: readJson(join(dir, 'staff.json'))
  })

  test('again keeps every credential; --rotate changes the passwords and keeps the ids', () => {
    const dir = fresh()
    const options = { dir, devices: 2, host: '192.168.1.10', configPath: CONFIG }
    init(options)
    const first = credentials(dir)
    const second = init(options)
    assert.deepEqual(credentials(dir), first)
    assert.deepEqual(second.devices.map(d => d.state), ['kept', 'kept'])
    assert.equal(new Set([...first.devices.map(d => d.mqtt.password), first.staff.password]).size, 3)

    init({ ...options, rotate: true })
    const rotated = credentials(dir)
    rotated.devices.forEach((d, i) => {
      assert.equal(d.id, first.devices[i].id)
      assert.equal(d.mqtt.username, d.id)
      assert.notEqual(d.mqtt.password, first.devices[i].mqtt.password)
    })
    assert.notEqual(rotated.staff.password, first.staff.password)
  })

  test('an existing .gitignore in --dir is kept (* added once), and the directory is made private (0700), also one that was there', () => {
    const dir = fresh()
    mkdirSync(dir, { mode: 0o755 })
    chmodSync(dir, 0o755)
    writeFileSync(join(dir, '.gitignore'), 'notes.txt')
    init({ dir, host: '10.0.0.2', configPath: CONFIG })
    init({ dir, host: '10.0.0.2', configPath: CONFIG })
    assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), 'notes.txt\n# added by npm run broker -- init: nothing here belongs in git\n*\n')
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    for (const file of ['admin.json', 'staff.json', 'devices.passwd', 'staff.passwd', 'devices/device-1.json']) assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file)
  })

  test('re-running remembers the host and --tls; fewer devices than made is refused, losing nothing', () => {
    const dir = fresh()
    init({ dir, devices: 2, host: 'pi.local', tls: true, configPath: CONFIG })
    const again = init({ dir, configPath: CONFIG })
    assert.equal(again.host, 'pi.local')
    assert.equal(again.devices.length, 2)
    assert.deepEqual(readJson(join(dir, 'devices', 'device-1.json')).mqtt, { ...readJson(join(dir, 'devices', 'device-1.json')).mqtt, host: 'pi.local', port: 8883, tls: true, ca: '../ca.pem' })
    const before = credentials(dir)
    assert.throws(() => init({ dir, devices: 1, configPath: CONFIG }), e => e instanceof BrokerError && /--devices: 1, but .* has 2 devices; nothing was changed/.test(e.message))
    assert.deepEqual(credentials(dir), before)
  })

  test('--host and --bind take a name or an address only (they end up in mosquitto.conf and the certificate)', () => {
    const dir = fresh()
    assert.throws(() => init({ dir, host: '10.0.0.2', bind: '0.0.0.0\nallow_anonymous true', configPath: CONFIG }), e => e instanceof BrokerError && /^--bind: ".*" is not a host name or IP address/s.test(e.message))
    assert.throws(() => init({ dir, host: 'pi.local,DNS:evil', configPath: CONFIG }), e => e instanceof BrokerError && /^--host: /.test(e.message))
    assert.doesNotThrow(() => init({ dir, host: 'fe80::1', bind: '::1', configPath: CONFIG }))
  })

  test('topics the ACL cannot bind to one device are refused, naming the field', () => {
    const d = scratch()
    dirs.push(d)
    const config = readJson(CONFIG)
    config.mqtt.topic = 'tablecall/calls'
    config.mqtt.tableTopic = 'tablecall/{id}/table-{n}'
    writeFileSync(join(d, 'config.json'), JSON.stringify(config))
    assert.throws(() => init({ dir: join(d, 'broker'), host: '10.0.0.2', configPath: join(d, 'config.json') }), e =>
      e instanceof BrokerError && /mqtt\.topic: "tablecall\/calls" has no "\{id\}" level/.test(e.message) && /mqtt\.tableTopic: "\{n\}" must be a whole topic level/.test(e.message))
  })

  test('the command line prints no password', async () => {
    const dir = fresh()
    const { code, stdout, stderr } = await new Promise(resolve => execFile(process.execPath, [CLI, 'init', '--dir', dir, '--devices', '2', '--host', '10.0.0.2', '--config', CONFIG], { timeout: 30000 }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr })))
    assert.equal(code, 0, stderr)
    const { devices, staff } = credentials(dir)
    for (const password of [...devices.map(d => d.mqtt.password), staff.password]) assert.ok(!stdout.includes(password))
    assert.match(stdout, /device-2\.json {2}id [0-9a-f]{8}, password \*+ \(new\)/)
    assert.match(stdout, /npm run flash -- --overlay /)
  })
})

/** npm run flash's script, run in `cwd` (its build lands in cwd/dist), with a WiFi name set. */
const runFlash = (args, cwd) => new Promise(resolve => execFile(process.execPath, [FLASH_CLI, ...args],
  { cwd, timeout: 60000, env: { ...process.env, WIFI_SSID: 'test-net' } }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr })))

test('npm run flash -- --overlay D/devices/device-N.json builds that device\'s firmware', async () => {
  const dir = scratch()
  try {
    const r = init({ dir: join(dir, 'broker'), devices: 2, host: '10.0.0.2', tls: true, configPath: CONFIG })
    const [, second] = devices(r)
    const { code, stdout, stderr } = await runFlash(['--config', CONFIG, '--overlay', join(r.dir, second.file), '--dry-run'], dir)
    assert.equal(code, 0, stderr)
    assert.match(stdout, /Wrote what would be sent/)
    // The bytes saved as .bootcde: string literals are raw strings there (a length byte, no quotes).
    const sent = readFileSync(join(dir, 'dist', 'tablecall.sent.js'), 'latin1')
    assert.ok(sent.includes(`\xD1\x08${second.id}`), 'the device id replaces the chip\'s')
    assert.ok(sent.includes(second.mqtt.password), 'its password is in its CONNECT')
    assert.ok(sent.includes(pemBase64(join(r.dir, 'ca.pem'))), 'the CA, as base64 DER')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('npm run flash with a --tls overlay refuses a board without the tls module before writing anything', async () => {
  const dir = scratch()
  const repl = await startFakeRepl()
  try {
    const r = init({ dir: join(dir, 'broker'), devices: 1, host: '10.0.0.2', tls: true, configPath: CONFIG })
    const { code, stderr } = await runFlash(['--config', CONFIG, '--overlay', join(r.dir, r.devices[0].file), '--port', repl.url], dir)
    assert.equal(code, 1)
    assert.match(stderr, /has no tls module in its Espruino firmware, but mqtt\.tls is on.*Nothing was uploaded/)
    assert.equal(repl.storage.size, 0)
  } finally {
    await repl.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

describe('mqtt.ca', () => {
  const dir = scratch()
  after(() => rmSync(dir, { recursive: true, force: true }))
  const buildWith = mqttSettings => {
    const config = readJson(CONFIG)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, mqtt: { ...config.mqtt, ...mqttSettings } }))
    return build({ configPath: join(dir, 'config.json'), outPath: join(dir, 'fw.js'), target: 'sim', env: {} })
  }
  const fails = (promise, re) => assert.rejects(promise, e => e instanceof ConfigError && e.problems.some(p => re.test(p)))

  test('a missing or unparsable file, or a CA without TLS, is a config error naming the field and the fix', async () => {
    await fails(buildWith({ tls: true, ca: 'nowhere.pem' }), /^mqtt\.ca: .*nowhere\.pem: file not found \(fix: point it at the broker's CA certificate/)
    writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n')
    await fails(buildWith({ tls: true, ca: 'key.pem' }), /^mqtt\.ca: .*key\.pem: not a PEM certificate \(fix: use the CA certificate/)
    await fails(buildWith({ ca: 'key.pem' }), /^mqtt\.ca: set, but mqtt\.tls is off/)
  })
})
