// Randomized call schedules (issue #17): the built firmware in the host runtime on a fake clock, a
// crashable in-process broker (host/crash-broker.mjs), two staff screens (MQTT.js clients feeding the
// staff board's model, screen B dropping and reconnecting), each behind a proxy that can cut its link
// or let it go silent (half-open). A schedule, drawn from a seed, presses the 4 tables, answers from
// the screens, cuts links, restarts the device, saves, kills (-9) and restarts the broker with and
// without persistence;
// then everything comes back and settles, and the checker compares the table lights, the broker's
// retained states and every screen with the truth the proxy saw on the device's link:
// - a call is the id the device publishes in a table state; it is answered once an answer with its id
//   (or a later one) reached the device: an answer the broker lost before passing it on never
//   happened (CONTRACT.md: a crash may lose seconds), and the call must still be shown;
// - lost: the newest call of a table is unanswered but its light is off, or the broker or a screen
//   does not show it, or a press on a dark table opened no call;
// - resurrected: a light, the broker or a screen shows a call that was answered (or superseded), or
//   the device publishes a call again after it acknowledged its answer (screens are checked only
//   once settled: after a broker restored an old save they may show its stale states until the
//   device's next connection corrects them);
// - duplicated: the device opened a new call while the table's previous call was unanswered.
// Schedules run in worlds: one device, broker and pair of screens living through several schedules,
// each settled and checked before the next. Used by test/schedules.test.mjs (200 schedules) and the
// bench's `schedules` section (more, on other seeds).
import net from 'node:net'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import mqtt from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { build } from '../build.mjs'
import { createDevice } from './espruino/runtime.mjs'
import { startCrashBroker } from './crash-broker.mjs'
import { deviceId } from './device-id.mjs'
import { Staff } from '../board/staff.js'
import { topicTemplates } from '../board/topics.js'
import { seededRandom } from '../bench/stats.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SERIAL = 'e6614c311b4e6c29'
const ID = deviceId(SERIAL)
const WIFI = { ssid: 'tablecall-sim', password: 'simulated' }
const TABLES = [1, 2, 3, 4]
const PINS = ['D16', 'D17', 'D18', 'D19']
const LEDS = ['D12', 'D13', 'D14', 'D15']
// What the SNTP servers say when a schedule boots its device (a fixed day, so replays agree).
const T0 = 1795675200000
// Device time per step of the clock; after each step the sockets run until quiet.
const STEP_MS = 500
// A light that has not changed for this long is steady (blinking changes every 250 ms).
const STEADY_MS = 600
// After the schedule: how long everything must stay settled, and the most device time settling may take
// (the device's reconnect backoff grows to 60 s).
const SETTLED_MS = 2000
const SETTLE_LIMIT_MS = 240000

// ---------------------------------------------------------------------------------------------
// Schedules

const STEPS = [
  // [weight, make(random, pick)]
  [8, (r, pick) => ({ do: 'press', table: pick(TABLES) })],
  [6, (r, pick) => ({ do: 'answer', screen: pick(['A', 'B']), table: pick(TABLES) })],
  [5, r => ({ do: 'wait', ms: 100 + Math.floor(r() * 4000) })],
  [2, () => ({ do: 'cutDevice' })],
  [1, () => ({ do: 'restartDevice' })],
  [1, r => ({ do: 'silentDevice', ms: 500 + Math.floor(r() * 12000) })],
  [2, (r, pick) => ({ do: pick(['dropB', 'silentB']) })],
  [2, () => ({ do: 'backB' })],
  [2, () => ({ do: 'save' })],
  [1, () => ({ do: 'kill' })],
  [1, (r, pick) => ({ do: 'restart', persist: pick([true, false]) })]
]
const TOTAL = STEPS.reduce((n, [w]) => n + w, 0)

/**
 * The schedules of world `seed`: `schedules` schedules of `length` steps each, run one after another
 * on one device and broker, each settled and checked before the next (a long-running restaurant).
 */
export function makeWorld (seed, { schedules = 10, length = 12 } = {}) {
  const r = seededRandom(seed)
  const pick = list => list[Math.floor(r() * list.length)]
  const step = () => {
    let x = r() * TOTAL
    return STEPS.find(([w]) => (x -= w) < 0)[1](r, pick)
  }
  return { seed, schedules: Array.from({ length: schedules }, () => Array.from({ length }, step)) }
}

const describeStep = step => Object.entries(step).map(([k, v]) => k === 'do' ? v : `${k}=${v}`).join(' ')
/** World `seed` until its schedule `upTo` (from 0), as text: what a replay runs. */
export const describeWorld = (world, upTo = world.schedules.length - 1) =>
  `world seed ${world.seed} (replay: node host/schedules.mjs ${world.seed} ${upTo + 1} ${world.schedules[0]?.length ?? 0})\n` +
  world.schedules.slice(0, upTo + 1).map((steps, i) => `  schedule ${i}: ${steps.map(describeStep).join(', ')}`).join('\n')

// ---------------------------------------------------------------------------------------------
// The firmware

let built
/** The firmware bundle with 4 buttons and their lights (built once per process). */
export function firmware () {
  if (!built) {
    const base = JSON.parse(readFileSync(join(ROOT, 'espruino.config.json'), 'utf8'))
    delete base.$schema
    const config = {
      ...base,
      wifi: WIFI,
      mqtt: { ...base.mqtt, host: '127.0.0.1' },
      buttons: TABLES.map((table, i) => ({ pin: PINS[i], table, led: LEDS[i] }))
    }
    const dir = mkdtempSync(join(tmpdir(), 'tablecall-schedules-'))
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
    built = build({ configPath: join(dir, 'config.json'), outPath: join(dir, 'fw.js'), target: 'sim', env: {} })
  }
  return built
}

// ---------------------------------------------------------------------------------------------
// The contract's topics and payloads (CONTRACT.md), as the device's link carries them

function protocol (config) {
  const byTable = template => new Map(TABLES.map(n => [template.replaceAll('{id}', ID).replaceAll('{n}', String(n)), n]))
  const stateTopics = byTable(config.mqtt.tableTopic)
  const answerTopics = byTable(config.mqtt.answerTopic)
  return {
    stateTopic: n => [...stateTopics].find(([, t]) => t === n)[0],
    /** The table of a state topic, or undefined. */
    stateTable: topic => stateTopics.get(topic),
    /** A state payload: { idle: true }, { id }, or null (not a state). */
    parseState (payload) {
      if (payload === '') return { idle: true }
      const m = /^calling ([1-9]\d{0,14})(?: \d{13})?$/.exec(payload)
      return m ? { id: Number(m[1]) } : null
    },
    /** An answer the broker delivers to the device: { table, id } (id: the call answered), else null. */
    answer: (topic, payload) => answerTopics.has(topic) && /^[1-9]\d{0,14}$/.test(payload) ? { table: answerTopics.get(topic), id: Number(payload) } : null
  }
}

// ---------------------------------------------------------------------------------------------
// Staff screens

/**
 * The staff board's own state (board/staff.js) as a screen runs it: receive() each message;
 * shown(n) = { id, answered } of the device's call at table n, or undefined; answer(n) = the
 * publishes of a tap, [] when the screen shows nothing to answer there.
 */
function screenBoard (config) {
  const staff = new Staff({ templates: topicTemplates(config.mqtt), settings: { devices: [ID], tables: TABLES }, message: config.message })
  return {
    filters: staff.filters,
    receive: (topic, payload, retain, now) => staff.receive(topic, payload, retain, now),
    shown (n) {
      const call = staff.board.calls.get(n)?.get(ID)
      return call && { id: call.id, answered: call.answered }
    },
    answer: n => staff.answer(n),
    connected: sessionPresent => staff.board.connected(sessionPresent)
  }
}

// ---------------------------------------------------------------------------------------------
// Proxies

// Every socket sends at once (no Nagle): a small packet held back for a delayed ACK would reach the
// other side only after the device's clock ran on.
const noDelay = port => net.connect(port, '127.0.0.1').setNoDelay(true)

/**
 * A TCP proxy to the broker that parses what passes (onPacket(connection, 'up' | 'down', packet)) and
 * can break: mode 'pass', 'silent' (nothing passes either way; new connections reach nobody),
 * 'refuse' (new connections closed at once); cut() resets every connection.
 */
async function startProxy (brokerPort, onPacket, activity) {
  const pairs = new Set()
  let connections = 0
  const server = net.createServer(near => {
    const conn = ++connections
    if (proxy.mode === 'refuse') return near.destroy()
    const far = proxy.mode === 'silent' ? null : noDelay(brokerPort())
    near.setNoDelay(true)
    const pair = { near, far, silent: !far, conn }
    pairs.add(pair)
    const drop = () => {
      pairs.delete(pair)
      near.destroy()
      far?.destroy()
    }
    const pipe = (from, to, dir) => {
      const parser = mqttPacket.parser({ protocolVersion: 4 })
      parser.on('packet', packet => onPacket(conn, dir, packet))
      parser.on('error', () => {})
      from.on('data', chunk => {
        activity()
        if (pair.silent || !to) return
        parser.parse(chunk)
        to.write(chunk)
      })
      from.on('error', drop)
      from.on('close', drop)
    }
    pipe(near, far, 'up')
    if (far) pipe(far, near, 'down')
    else near.on('error', drop).on('close', drop)
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const proxy = {
    mode: 'pass',
    port: server.address().port,
    get open () { return [...pairs].filter(p => !p.silent).map(p => p.conn) },
    silence () {
      proxy.mode = 'silent'
      for (const pair of pairs) pair.silent = true
    },
    cut () {
      for (const pair of [...pairs]) { pair.near.destroy(); pair.far?.destroy() }
      pairs.clear()
    },
    close () {
      proxy.cut()
      return new Promise(resolve => server.close(() => resolve()))
    }
  }
  return proxy
}

// ---------------------------------------------------------------------------------------------
// One world

const yieldTimers = () => new Promise(resolve => setTimeout(resolve, 0))

/**
 * Runs the schedules of `world`, settling and checking after each; resolves { seed, violations,
 * counts, log }. A violation: { kind, table, id, what, schedule (its index) }, kind 'lost',
 * 'resurrected', 'duplicated', 'stale' (a screen shows a call as answered and waiting that the device
 * ended, or whose answer never reached it), 'unsettled' or 'crashed'.
 */
export async function runWorld (world) {
  const { code, config } = await firmware()
  const proto = protocol(config)
  const violations = []
  const counts = { schedules: 0, presses: 0, calls: 0, answers: 0, effectiveAnswers: 0 }
  let seq = 0 // orders everything the harness does and sees
  let active = 0 // socket activity, for "quiet"
  const activity = () => { active++ }
  const flag = (kind, table, id, what) => violations.push({ kind, table, id, what, schedule: counts.schedules })

  // The truth, from the device's link
  const calls = new Map(TABLES.map(n => [n, []])) // table -> [{ id, seq }] in the order opened
  // table -> highest answer passed on to the device, and the highest it acknowledged (PUBACK)
  const answeredUpTo = new Map()
  const ackedUpTo = new Map()
  const upTo = (map, n, id) => map.set(n, Math.max(map.get(n) ?? 0, id))
  const answered = (n, id) => id <= (answeredUpTo.get(n) ?? 0)
  const newest = n => calls.get(n).at(-1)?.id
  const link = { conn: 0, subacked: false, unacked: new Set(), pending: new Map() } // the device's current connection

  const onDevicePacket = (conn, dir, p) => {
    seq++
    if (conn !== link.conn) Object.assign(link, { conn, subacked: false, unacked: new Set(), pending: new Map() })
    if (dir === 'up' && p.cmd === 'publish') {
      if (p.qos) link.unacked.add(p.messageId)
      const n = proto.stateTable(p.topic)
      const state = n && proto.parseState(p.payload.toString('latin1'))
      if (!state || state.idle) return
      const list = calls.get(n)
      if (!list.some(c => c.id === state.id)) {
        const previous = newest(n)
        if (previous !== undefined && state.id > previous && !answered(n, previous)) flag('duplicated', n, state.id, `opened while call ${previous} was unanswered`)
        if (previous !== undefined && state.id < previous) flag('resurrected', n, state.id, `published below the newest call ${previous}`)
        list.push({ id: state.id, seq })
        counts.calls++
      } else if (state.id <= (ackedUpTo.get(n) ?? 0)) {
        flag('resurrected', n, state.id, 'the device published the call again after acknowledging its answer')
      }
    } else if (dir === 'up' && p.cmd === 'puback') {
      const a = link.pending.get(p.messageId)
      link.pending.delete(p.messageId)
      if (a) upTo(ackedUpTo, a.table, a.id)
    } else if (dir === 'down' && p.cmd === 'publish') {
      // Passed on to the device: it reads it before it sees the link go (a cut comes a step later at
      // the soonest), so the answer is the device's even when its PUBACK is lost with the link.
      const a = proto.answer(p.topic, p.payload.toString('latin1'))
      if (a) {
        counts.effectiveAnswers++
        upTo(answeredUpTo, a.table, a.id)
      }
      if (p.qos) link.pending.set(p.messageId, a)
    } else if (dir === 'down' && p.cmd === 'puback') link.unacked.delete(p.messageId)
    else if (dir === 'down' && p.cmd === 'suback') link.subacked = true
  }

  const broker = await startCrashBroker()
  const deviceLink = await startProxy(() => broker.port, onDevicePacket, activity)
  const screenLinks = { A: await startProxy(() => broker.port, () => {}, activity), B: await startProxy(() => broker.port, () => {}, activity) }
  const device = createDevice({ code, fakeTimers: true, serial: SERIAL, wifi: WIFI, connectOverride: () => ({ host: '127.0.0.1', port: deviceLink.port }) })
  device.wifi.setNetworkTime(T0)
  const changedAt = new Map()
  device.on('output', (pin, level, at) => changedAt.set(pin, at))
  const wall = () => T0 + device.clock.now
  const screens = {}

  const pump = async () => {
    let quiet = 0
    let seen = active
    for (let i = 0; quiet < 2 && i < 200; i++) {
      await yieldTimers()
      if (active === seen) quiet++
      else { quiet = 0; seen = active }
    }
  }
  // A screen that lost its link tries again once per step (while its link lets it), with its stores:
  // what it sent without a PUBACK goes again, as after MQTT.js's own reconnect.
  const reconnectScreens = () => {
    for (const [name, s] of Object.entries(screens)) {
      if (!s.down || screenLinks[name].mode === 'refuse') continue
      s.down = false
      s.client.reconnect({ incomingStore: s.client.incomingStore, outgoingStore: s.client.outgoingStore })
    }
  }
  const advance = async (ms, step = STEP_MS) => {
    const end = device.clock.now + ms
    while (device.clock.now < end) {
      await device.clock.tickAsync(Math.min(step, end - device.clock.now))
      reconnectScreens()
      await pump()
    }
  }
  const pressIdle = [] // { table, seq } presses on a dark table: each must open a call

  const run = async step => {
    switch (step.do) {
      case 'press': {
        const led = LEDS[step.table - 1]
        if (device.output(led) === 0 && device.clock.now - (changedAt.get(led) ?? -Infinity) >= STEADY_MS) pressIdle.push({ table: step.table, seq })
        counts.presses++
        await device.pressAll([PINS[step.table - 1]], { holdMs: 80 })
        break
      }
      case 'answer': {
        const { board, client } = screens[step.screen]
        // the contract: a screen answers only while connected, and only a call it shows
        if (!client.connected) break
        const publishes = board.answer(step.table)
        if (publishes.length) counts.answers++
        for (const { topic, payload, options } of publishes) client.publish(topic, payload, options, () => {})
        break
      }
      case 'wait': await advance(step.ms); break
      case 'cutDevice': deviceLink.cut(); break
      // a deliberate restart (reset(), a new upload): the firmware's stop handler keeps its calls
      case 'restartDevice':
        device.stop()
        device.start({ boot: 'power' })
        break
      case 'silentDevice':
        deviceLink.silence()
        await advance(step.ms)
        deviceLink.cut()
        deviceLink.mode = 'pass'
        break
      case 'dropB': screenLinks.B.cut(); screenLinks.B.mode = 'refuse'; break
      case 'silentB': screenLinks.B.silence(); break
      case 'backB': screenLinks.B.cut(); screenLinks.B.mode = 'pass'; break
      case 'save': broker.save(); break
      case 'kill': await broker.kill(); break
      case 'restart': await broker.restart({ persist: step.persist }); break
    }
  }

  // Links back, the broker up, time passing until the device and both screens are connected with
  // nothing in flight, for SETTLED_MS in a row; false if that takes longer than SETTLE_LIMIT_MS.
  const settle = async () => {
    if (deviceLink.mode !== 'pass') { deviceLink.cut(); deviceLink.mode = 'pass' }
    if (screenLinks.B.mode !== 'pass') { screenLinks.B.cut(); screenLinks.B.mode = 'pass' }
    const up = () => deviceLink.open.includes(link.conn) && link.subacked
    const settled = () => up() && !link.unacked.size && !link.pending.size &&
      Object.values(screens).every(s => s.client.connected && !Object.keys(s.client.outgoing).length)
    const start = device.clock.now
    let since = null
    while (since === null || device.clock.now - since < SETTLED_MS) {
      if (device.clock.now - start > SETTLE_LIMIT_MS) return false
      // waiting for the device's next try (its backoff grows to a minute): bigger steps
      await advance(STEP_MS, up() ? STEP_MS : 4 * STEP_MS)
      if (!settled()) since = null
      else if (since === null) since = device.clock.now
    }
    return true
  }

  const check = async () => {
    for (const n of TABLES) {
      const c = newest(n)
      const calling = c !== undefined && !answered(n, c)
      const light = device.output(LEDS[n - 1]) === 1
      if (calling && !light) flag('lost', n, c, 'unanswered, light off')
      if (!calling && light) flag('resurrected', n, c, 'answered, light on')
      const held = proto.parseState(await broker.retained(proto.stateTopic(n)) ?? '')?.id
      if (calling && held !== c) flag('lost', n, c, `unanswered, the broker's retained state is ${held ?? 'idle'}`)
      if (held !== undefined && (!calling || held !== c)) flag('resurrected', n, held, 'the broker still holds it as calling')
      for (const [name, { board }] of Object.entries(screens)) {
        const shown = board.shown(n)
        if (calling && shown?.id !== c) flag('lost', n, c, `unanswered, screen ${name} shows ${shown ? shown.id : 'idle'}`)
        if (calling && shown?.id === c && shown.answered) flag('stale', n, c, `screen ${name} shows it as answered, waiting, but no answer reached the device`)
        if (shown && (!calling || shown.id !== c)) flag(shown.answered ? 'stale' : 'resurrected', n, shown.id, `screen ${name} shows it${shown.answered ? ' as answered, waiting' : ''}`)
      }
    }
    while (pressIdle.length) {
      const press = pressIdle.shift()
      if (!calls.get(press.table).some(call => call.seq > press.seq)) flag('lost', press.table, `press ${press.seq}`, 'a press on a dark table opened no call')
    }
    if (device.uncaught.length) flag('crashed', 0, null, device.uncaught.splice(0).map(String).join('; '))
  }

  try {
    for (const name of ['A', 'B']) {
      const board = screenBoard(config)
      // Reconnects are the harness's (reconnectScreens), so a screen kept off does not spin; MQTT.js's
      // own period only has to be above 0, or it would not subscribe again when the broker lost its
      // session.
      const client = new mqtt.MqttClient(() => noDelay(screenLinks[name].port), { clientId: `screen-${name}`, clean: false, reconnectPeriod: 2 ** 31 - 1, connectTimeout: 3000, keepalive: 0 })
      client.on('error', () => {})
      client.on('close', () => { screens[name].down = true })
      // as the page does (board/app.js): without a session, calls ended meanwhile go; the state of a
      // call the screen answered sends its answer again (a crash may have lost it)
      client.on('connect', connack => {
        screens[name].down = false
        board.connected(connack.sessionPresent)
      })
      client.on('message', (topic, payload, packet) => {
        activity()
        const change = board.receive(topic, payload, packet.retain, wall())
        for (const answer of change?.answers ?? []) client.publish(answer.topic, answer.payload, answer.options, () => {})
      })
      screens[name] = { board, client, down: false }
      await new Promise(resolve => client.once('connect', resolve))
      await client.subscribeAsync(board.filters, { qos: 1 })
    }
    device.start({ boot: 'power' })
    if (!await settle()) flag('unsettled', 0, null, 'the device never connected')

    for (const steps of world.schedules) {
      for (const step of steps) {
        seq++
        await run(step)
        // the next step a moment later: a guest's hand, a waiter's finger
        await advance(STEP_MS)
      }
      if (!await settle()) flag('unsettled', 0, null, `not settled after ${SETTLE_LIMIT_MS / 1000} s of device time; device log:\n  ${device.logs.slice(-15).join('\n  ')}`)
      await check()
      counts.schedules++
    }
  } finally {
    device.stop()
    await Promise.all(Object.values(screens).map(s => s.client.endAsync(true)))
    await Promise.all([deviceLink.close(), screenLinks.A.close(), screenLinks.B.close()])
    await broker.close()
  }
  return { seed: world.seed, violations, counts, log: device.logs }
}

/** Violations counted once per (kind, table, call id): a lost call stays lost at every later check. */
export function distinct (violations) {
  return [...new Map(violations.map(v => [`${v.kind} ${v.table} ${v.id}`, v])).values()]
}

/**
 * Runs the worlds of `seeds` (each `schedules` schedules of `length` steps), `concurrency` at a time.
 * Resolves with the totals (distinct lost / resurrected / duplicated calls, and `other` violations)
 * and the failures, each { world, violations } for describeFailure.
 */
export async function runWorlds ({ seeds, schedules, length, concurrency = 8, onResult = () => {} }) {
  await firmware()
  const totals = { schedules: 0, presses: 0, calls: 0, answers: 0, lost: 0, resurrected: 0, duplicated: 0, other: 0 }
  const failures = []
  const queue = [...seeds]
  const worker = async () => {
    while (queue.length) {
      const world = makeWorld(queue.shift(), { schedules, length })
      const result = await runWorld(world)
      for (const k of ['schedules', 'presses', 'calls', 'answers']) totals[k] += result.counts[k]
      const found = distinct(result.violations)
      for (const v of found) totals[v.kind in totals ? v.kind : 'other']++
      if (found.length) failures.push({ world, violations: result.violations })
      onResult(result, world)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { ...totals, failures }
}

/** A failure as text: the world's seed, its schedules up to the first one that failed, what was wrong. */
export function describeFailure ({ world, violations }) {
  const first = Math.min(...violations.map(v => v.schedule))
  const lines = distinct([...violations].reverse()).reverse().map(v => `  after schedule ${v.schedule}: ${v.kind}: table ${v.table} call ${v.id}: ${v.what}`)
  return `${describeWorld(world, Math.max(0, first))}\n${lines.join('\n')}`
}

// `node host/schedules.mjs <seed> [schedules] [length]`: replays one world, prints what was wrong and
// the device's log. The interleaving of sockets and timers is the machine's, so a replay may differ.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [seed, schedules = 10, length = 12] = process.argv.slice(2).map(Number)
  if (!Number.isInteger(seed)) {
    console.error('usage: node host/schedules.mjs <seed> [schedules] [length] (a world from a failure: its seed, then how many schedules)')
    process.exit(2)
  }
  const world = makeWorld(seed, { schedules, length })
  const result = await runWorld(world)
  console.log(result.log.join('\n'))
  console.log(result.violations.length ? describeFailure({ world, violations: result.violations }) : `${describeWorld(world)}\nno violation`)
  process.exitCode = result.violations.length ? 1 : 0
}
