// What the sections share: a scratch copy of the project config (so a developer's
// espruino.config.local.json never changes a figure), a simulated device that is connected before
// the first press, a tap on the broker that sees every PUBLISH the device sends, and presses on a
// timetable.
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { startSession } from '../host/sim/session.mjs'
import { messageFor } from '../tools/build/packets.mjs'
import { percent } from './stats.mjs'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const CONNECT_TIMEOUT_MS = 10000

/** A scratch folder with the project config, each section of `overrides` merged over its own (a list replaced). */
export function scratch (overrides = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-bench-'))
  const config = JSON.parse(readFileSync(join(ROOT, 'espruino.config.json'), 'utf8'))
  delete config.$schema
  for (const [key, value] of Object.entries(overrides)) {
    config[key] = value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...config[key], ...value } : value
  }
  const configPath = join(dir, 'espruino.config.json')
  writeFileSync(configPath, JSON.stringify(config, null, 2))
  return { dir, configPath, outPath: join(dir, 'tablecall.js'), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Resolves true once `done()` holds (checked now and after each `event` of `emitter`), false after
 * `timeoutMs`: a section reports what arrived rather than failing.
 */
export function until (emitter, event, done, timeoutMs) {
  return new Promise(resolve => {
    const finish = result => {
      clearTimeout(timer)
      emitter.off(event, check)
      resolve(result)
    }
    const check = () => { if (done()) finish(true) }
    const timer = setTimeout(() => finish(false), timeoutMs)
    emitter.on(event, check)
    check()
  })
}

/**
 * Resolves with the first line from device.logs[from] on that starts with `prefix`; rejects after
 * `timeoutMs`.
 */
export async function logLine (device, prefix, { from = 0, timeoutMs = CONNECT_TIMEOUT_MS } = {}) {
  let line
  const ok = await until(device, 'log', () => (line = device.logs.slice(from).find(l => l.startsWith(prefix))), timeoutMs)
  if (!ok) throw new Error(`the device did not log "${prefix}" within ${timeoutMs} ms; its log:\n${device.logs.join('\n')}`)
  return line
}

/**
 * The simulator (host runtime, real timers, in-process aedes) on a scratch config, powered up and
 * connected to the broker. close() also removes the scratch folder.
 */
export async function openDevice (overrides) {
  const space = scratch(overrides)
  let s
  try {
    s = await startSession({ configPath: space.configPath, outPath: space.outPath, log: () => {} })
    const connected = logLine(s.device, 'mqtt: connected')
    s.start()
    await connected
  } catch (err) {
    if (s) await s.close()
    space.remove()
    throw err
  }
  return {
    s,
    async close () {
      await s.close()
      space.remove()
    }
  }
}

/**
 * Every PUBLISH a client sends on a call topic, as the broker receives it: { at, id, dup, table }.
 * It hooks aedes's authorizePublish because that sees the packet id, which aedes's 'publish' event
 * has already cleared; arm() again after the broker restarts (a fresh aedes).
 */
export function tapBroker (broker, config, isCallTopic) {
  const tableOf = new Map(config.buttons.map(b => [messageFor(config.message, b.table), b.table]))
  const tap = Object.assign(new EventEmitter(), { seen: [] })
  tap.arm = () => {
    const aedes = broker.aedes
    const authorize = aedes.authorizePublish
    aedes.authorizePublish = (client, packet, done) => {
      if (client && isCallTopic(packet.topic)) {
        const seen = { at: performance.now(), id: packet.messageId, dup: packet.dup, table: tableOf.get(packet.payload.toString('utf8')) }
        tap.seen.push(seen)
        tap.emit('publish', seen)
      }
      authorize.call(aedes, client, packet, done)
    }
  }
  tap.arm()
  /** Distinct packet ids seen. */
  tap.unique = () => new Set(tap.seen.map(p => p.id)).size
  return tap
}

/**
 * What reached the broker: distinct presses, retransmissions (DUP flag) and repeats (an id seen
 * again), and per table whether ids (given in press order) arrived in increasing order.
 */
function brokerTally (seen) {
  const first = new Map()
  const lastId = new Map()
  let outOfOrder = 0
  for (const p of seen) {
    if (first.has(p.id)) continue
    first.set(p.id, p)
    if (p.id < (lastId.get(p.table) ?? 0)) outOfOrder++
    lastId.set(p.table, Math.max(p.id, lastId.get(p.table) ?? 0))
  }
  return { unique: first.size, dupFlag: seen.filter(p => p.dup).length, repeats: seen.length - first.size, outOfOrder }
}

/**
 * Presses delivered, counted at the broker (by packet id, `seen`: tapBroker) and at the staff
 * subscriber (`calls`: countCalls), and the losses among them (`registered`: presses the device
 * registered): { atBroker, atSubscriber, losses }.
 */
export function deliveries (presses, seen, calls, registered) {
  const broker = brokerTally(seen)
  const delivered = {
    atBroker: { ...broker, deliveredPercent: percent(broker.unique, presses) },
    atSubscriber: { received: calls.total, dup: calls.dup, byTable: calls.byTable, receivedPercent: percent(calls.total, presses) }
  }
  return { ...delivered, losses: losses({ presses, registered, ...delivered }) }
}

/** Counts the staff subscriber's deliveries of calls, per table, and those flagged DUP. */
export function countCalls (s) {
  const calls = { total: 0, dup: 0, byTable: {}, lastAt: undefined }
  s.on('call', c => {
    calls.total++
    if (c.dup) calls.dup++
    calls.byTable[c.table] = (calls.byTable[c.table] ?? 0) + 1
    calls.lastAt = performance.now()
  })
  return calls
}

/**
 * Presses every table's button `count` times, all tables at once, one press every `periodMs`, and
 * never sooner than `releaseMs` after the previous release (so the debounce sees each press).
 * Every wait is on the device's clock (see deviceSleep). Resolves with the time it took.
 */
export async function pressTables (s, { count, periodMs, holdMs, bounce, releaseMs }) {
  const t0 = performance.now()
  await Promise.all(s.config.buttons.map(async ({ table }) => {
    for (let k = 0; k < count; k++) {
      await s.press(table, { holdMs, bounce })
      await deviceSleep(s, Math.max(releaseMs, t0 + (k + 1) * periodMs - performance.now()))
    }
  }))
  return performance.now() - t0
}

/**
 * Waits `ms` on the device's clock, in the queue its debounce timers use: under load a press can
 * come later, never before a debounce that is due first (a Node timer could, and the press was lost).
 */
export const deviceSleep = (s, ms) => s.device.sleep(ms)

export { sleep }

/** From the device's log: presses its watches registered, and presses its full queue dropped. */
export function deviceCounts (device) {
  const count = prefix => device.logs.filter(l => l.startsWith(prefix)).length
  return { registered: count('btn: '), queueFull: count('mqtt: queue full'), uncaught: device.uncaught.length }
}

/**
 * Every press lost on its way, each naming whose loss it is: the simulator's (pressed, never registered
 * on the device), the firmware's (registered, never delivered to the broker), or the staff
 * subscriber's (at the broker, never received). Empty when nothing was lost; run.mjs prints each as
 * NOT met and exits non-zero.
 */
export function losses ({ presses, registered, atBroker, atSubscriber }) {
  const found = []
  const delivered = atBroker.unique
  if (registered < presses) found.push(`${presses - registered} of ${presses} presses lost by the simulator: pressed, never registered on the device`)
  if (registered > presses) found.push(`registered ${registered - presses} more than pressed: a bounce counted as a press`)
  if (delivered < Math.min(registered, presses)) found.push(`${Math.min(registered, presses) - delivered} lost by the firmware: registered on the device, never delivered to the broker`)
  if (atSubscriber.received < delivered) found.push(`${delivered - atSubscriber.received} lost after the broker: delivered there, never received by the staff subscriber`)
  return found
}
