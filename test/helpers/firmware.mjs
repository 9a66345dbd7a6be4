// Builds the real firmware with a test config and boots it in the host runtime, plus bounded waits
// that work on real time and on the device's fake clock alike.
import { afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from '../../build.mjs'
import { createDevice } from '../../host/espruino/runtime.mjs'
import { createKalumaDevice } from '../../host/kaluma/runtime.mjs'
import { fillId } from '../../host/device-id.mjs'
import { startBroker } from '../../host/broker.mjs'
import { startMosquitto } from '../../host/mosquitto.mjs'

export const SERIAL = 'e6614c311b4e6c29'
// The runtime the firmware suites run on: `npm test` runs them once per runtime (TABLECALL_RUNTIME).
export const RUNTIME = process.env.TABLECALL_RUNTIME || 'espruino'
/** For a test that only the Espruino runtime can run: the reason it is skipped on Kaluma, or false. */
export const espruinoOnly = why => RUNTIME === 'kaluma' && `Espruino only: ${why}`
// Kaluma has no SNTP: its clock starts at 1970, so table states carry no press time there.
export const clockKnown = RUNTIME !== 'kaluma'
const base = JSON.parse(readFileSync('espruino.config.json', 'utf8'))
// Kaluma in the simulator: "board": "linux" (any D<n>); host names resolve at once (boot()).
const forRuntime = config => RUNTIME === 'kaluma' ? { ...config, runtime: 'kaluma', board: 'linux' } : config
const built = new Map()

/** The firmware bundle for the default config with `mqtt` and top-level overrides (cached per config). */
export async function firmware ({ mqtt = {}, ...rest } = {}) {
  const config = forRuntime({ ...base, ...rest, mqtt: { ...base.mqtt, ...mqtt } })
  const key = JSON.stringify(config)
  if (!built.has(key)) {
    const dir = mkdtempSync(join(tmpdir(), 'tablecall-fw-'))
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
    built.set(key, build({ configPath: join(dir, 'config.json'), outPath: join(dir, 'fw.js'), target: 'sim', env: {} }))
  }
  const { code } = await built.get(key)
  return { code, config, topic: fillId(config.mqtt.topic, SERIAL), statusTopic: fillId(config.mqtt.statusTopic, SERIAL) }
}

export const WIFI = { ssid: 'tablecall-sim', password: 'simulated' }

/** Boots the firmware; every connection it makes goes to `port` on 127.0.0.1. */
/** `options` go to the runtime as they are, e.g. board: 'ESP32'. */
export function boot ({ code, port, fakeTimers = false, wifi = WIFI, bootMode = 'power', serial = SERIAL, ...options }) {
  const connectOverride = () => ({ host: '127.0.0.1', port })
  const device = RUNTIME === 'kaluma'
    ? createKalumaDevice({ code, fakeTimers, uid: serial.toUpperCase(), wifi, connectOverride, resolve: () => '127.0.0.1' })
    : createDevice({ ...options, code, fakeTimers, serial, wifi, connectOverride })
  device.stampedLogs = []
  device.on('log', line => device.stampedLogs.push({ line, at: device.clock ? device.clock.now : Date.now() }))
  device.start({ boot: bootMode })
  return device
}

const realPause = ms => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Waits until `done()` is true. With fake timers the device's clock moves `stepMs` at a time (and real
 * time a little, for sockets); bounded by `deviceMs` of device time and `realMs` of real time. With fake
 * timers the real-time bound is only a backstop, 30 s: a wait for 10 s of device time (a PUBACK
 * deadline) takes 200 steps, and on a loaded CI machine 10 s of real time was once not enough for them.
 */
export async function until (device, done, { deviceMs = 300000, realMs = device.clock ? 30000 : 10000, stepMs = 50, what = 'condition' } = {}) {
  const start = Date.now()
  const clockStart = device.clock ? device.clock.now : 0
  while (!done()) {
    if (Date.now() - start > realMs || (device.clock && device.clock.now - clockStart > deviceMs)) {
      throw new Error(`waited for ${what}; device log:\n  ${device.logs.slice(-25).join('\n  ')}`)
    }
    if (device.clock) await device.clock.tickAsync(stepMs)
    await realPause(device.clock ? 1 : 10)
  }
}

/** Lets `ms` of device time pass (fake timers), with real time for sockets in between. */
export async function advance (device, ms, stepMs = 100) {
  const end = device.clock.now + ms
  while (device.clock.now < end) {
    await device.clock.tickAsync(Math.min(stepMs, end - device.clock.now))
    await realPause(1)
  }
}

// Longer than the firmware's 40 ms debounce (a second press sooner than that is contact bounce), with
// room for timer lag: at 60 ms the Kaluma adapter's former 10 ms poller missed the next press about 1
// run in 4.
const HAND_GAP_MS = 100

/** A guest's press: contact bounce, held, released, and the hand gone before the next press. */
export async function tap (device, pins, options) {
  await device.pressAll([].concat(pins), { holdMs: 80, ...options })
  if (device.clock) await advance(device, HAND_GAP_MS, 10)
  else await realPause(HAND_GAP_MS)
}

/** Waits for the n-th (from 1) device log line matching `pattern` after `from` lines; returns its index. */
export async function logged (device, pattern, options = {}) {
  const { from = 0, count = 1 } = options
  const hits = () => device.logs.slice(from).filter(l => pattern.test(l)).length
  await until(device, () => hits() >= count, { what: `${count} log line(s) matching ${pattern}`, ...options })
  let seen = 0
  for (let i = from; i < device.logs.length; i++) if (pattern.test(device.logs[i]) && ++seen === count) return i
}

export const connected = /^mqtt: connected/

/**
 * Closes, after each test and newest first, what `track` was given; `running` tracks a device and
 * then also checks that no error escaped into its event loop.
 */
export function tracker () {
  const cleanup = []
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()()
  })
  const track = (thing, close = () => thing.close()) => {
    cleanup.push(async () => close())
    return thing
  }
  const running = device => track(device, () => {
    assert.deepEqual(device.uncaught.map(String), [], 'no error escaped into the event loop')
    device.stop()
  })
  return { track, running }
}

export { noMosquitto } from './tools.mjs'
export const brokers = {
  aedes: () => startBroker(),
  mosquitto: () => startMosquitto()
}
