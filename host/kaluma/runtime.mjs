// Runs a bundle as Kaluma 1.2.1 would on a Raspberry Pi Pico W (tag 1.2.1 of kaluma-project/kaluma,
// the last release that builds the Pico W), with only what Kaluma has: the program in strict mode
// (src/runtime.c km_runtime_load), numbers as pins, setWatch polled in C, require('net') with
// Uint8Array data, 16 slots and silent deaths, a blocking require('wifi') without link events, `storage`,
// require('wdt'), board.uid, a clock that starts at 1970 at power-up, console.log/error only.
// Shares with host/espruino the vm realm, the device clock (fake or real) and the pressing finger.
// docs/kaluma.md lists every behaviour with its source at the tag and its test.
import { EventEmitter } from 'node:events'
import { createRealm } from '../espruino/realm.mjs'
import { createScheduler, installDate } from '../espruino/timers.mjs'
import { pressSequence } from '../espruino/pins.mjs'
import { formatLogLine, recordLog } from '../espruino/console.mjs'
import { createKalumaLoop, createKalumaTimers } from './loop.mjs'
import { createKalumaInputs, createKalumaGpio } from './gpio.mjs'
import { createKalumaNet, createKalumaNetRegistry } from './net.mjs'
import { createKalumaWifi, createKalumaWifiEnvironment } from './wifi.mjs'
import { createKalumaStorage, createKalumaWdt } from './system.mjs'

export const KALUMA_VERSION = '1.2.1'

// What JerryScript 2.4 (es.next profile) lacks from a fresh V8 context; the rest of ES2020 is there.
const NOT_IN_JERRYSCRIPT_24 = ['WeakRef', 'FinalizationRegistry', 'AggregateError', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'Intl']
function pruneToKaluma (g) {
  for (const name of NOT_IN_JERRYSCRIPT_24) delete g[name]
}

const SYSTEM_ERROR_SOURCE = `(function () {
  class SystemError extends Error {
    constructor (errno, message) {
      super(message || 'errno ' + errno)
      this.name = 'SystemError'
      this.errno = errno
      this.code = message
    }
  }
  return SystemError
})()`

// The modules the runtime models, of those targets/rp2/target.cmake builds for the pico-w board.
const MODULE_NAMES = ['events', 'net', 'wifi', 'storage', 'wdt']

class KalumaDevice extends EventEmitter {
  #options
  #scheduler
  #inputs = createKalumaInputs()
  #wifiEnv
  #program

  constructor (options) {
    super()
    if (!options || typeof options.code !== 'string') throw new Error('createKalumaDevice: options.code must be the bundle source')
    this.#options = { fakeTimers: false, uid: 'E6614C311B4E6C29', resolve: () => null, connectOverride: (host, port) => ({ host, port }), ...options }
    this.#scheduler = createScheduler({ fakeTimers: this.#options.fakeTimers })
    this.clock = this.#scheduler.clock
    this.logs = []
    this.uncaught = []
    this.reboots = 0
    this.flash = { items: new Map(), writes: 0 } // storage slots, kept across reboots
    this.#wifiEnv = createKalumaWifiEnvironment({ ap: this.#options.wifi || null, scheduler: this.#scheduler })
    this.wifi = this.#wifiEnv.controller
    this.net = createKalumaNetRegistry()
    // A use of freed memory fails the test like an error escaping into the loop.
    this.net.onFault = err => this.#uncaught(err)
  }

  /** Kaluma runs the saved program at every start; `boot` is accepted for the Espruino runtime's callers. */
  start ({ boot } = {}) {
    if (boot !== undefined && boot !== 'power' && boot !== 'upload') throw new Error(`device.start: boot must be 'upload' or 'power', got ${boot}`)
    if (this.#program) throw new Error('device.start: already running; call stop() first')
    this.#program = this.#boot()
    return this
  }

  stop () {
    this.#program?.shutdown()
    this.#program = undefined
    this.#scheduler.clearAll()
  }

  /** The program stops running, as if stuck in a loop: only the watchdog gets the board back. */
  hang () { this.#program?.hang() }

  setPin (pin, level) { this.#inputs.set(pin, level) }
  /** The voltage on an ADC pin (a number or 'D28') as a fraction of 3.3 V, or a function giving one per reading. */
  setAnalog (pin, fraction) { this.#inputs.analog.set(typeof pin === 'string' ? Number(pin.slice(1)) : pin, fraction) }
  get analogReads () { return this.#inputs.reads }
  press (pin, options) { return this.pressAll([pin], options) }
  pressAll (pins, options) {
    return pressSequence({ setPin: (p, level) => this.setPin(p, level), sleep: ms => this.#scheduler.sleep(ms) }, pins, options)
  }

  get outputs () { return this.#program?.gpio.outputs ?? new Map() }
  /** The level the program drives on a pin (a number or 'D12'), 0 when it drives none. */
  output (pin) { return this.outputs.get(typeof pin === 'string' ? Number(pin.slice(1)) : pin) ?? 0 }
  get watchdogMs () { return this.#program?.wdt.timeoutMs }
  /** Whether a blocking call (a WiFi join, a DNS wait, delay()) holds the loop now: no pin is read. */
  get blocked () { return !!this.#program?.loop.stalled }
  /** Calls into JavaScript since power-up (timers, watches, socket events): the program's CPU. */
  get jsCalls () { return this.#program ? this.#program.loop.jsCalls : 0 }
  /** The device's own clock in ms since power-up (what millis() and Date.now() read). */
  get uptime () { return this.#program ? this.#program.uptime() : 0 }

  #log (line) {
    recordLog(this, this.#options.log, line)
  }

  #uncaught (err) {
    this.uncaught.push(err)
    this.#log(String(err && err.name ? `${err.name}: ${err.message}` : err))
  }

  #reset (reason) {
    this.#program?.shutdown()
    this.reboots += 1
    queueMicrotask(() => {
      this.#program = this.#boot()
      this.emit('reboot', reason)
    })
  }

  #boot () {
    const opts = this.#options
    const scheduler = this.#scheduler
    const realm = createRealm({ name: 'kaluma', prune: pruneToKaluma })
    realm.global.SystemError = realm.run(SYSTEM_ERROR_SOURCE, 'SystemError')
    const loop = createKalumaLoop({ scheduler, onError: err => this.#uncaught(err) })
    const bootAt = loop.now()
    const uptime = () => loop.now() - bootAt
    let handleId = 0 // src/io.c km_io_handle_init: one counter for timers and watches
    const nextId = () => ++handleId
    const timers = createKalumaTimers({ realm, loop, nextId })
    for (const [name, fn] of Object.entries(timers.globals)) realm.global[name] = realm.fn(fn)
    installDate(realm, uptime) // km_rtc_init starts the clock at 0: 1970
    const gpio = createKalumaGpio({ realm, loop, inputs: this.#inputs, nextId, onOutput: (pin, level) => this.emit('output', `D${pin}`, level, scheduler.now()) })
    const net = createKalumaNet({ realm, loop, registry: this.net, connectOverride: opts.connectOverride, resolve: opts.resolve, isOnline: () => this.#wifiEnv.linkUp })
    this.#wifiEnv.onLinkLost = () => net.linkLost()
    this.#wifiEnv.onJoined = () => net.joined()
    const wifi = createKalumaWifi({ realm, loop, env: this.#wifiEnv, events: net.events, scheduler })
    const storage = createKalumaStorage({ realm, flash: this.flash })
    const wdt = createKalumaWdt({ realm, scheduler, reset: reason => this.#reset(reason) })
    const modules = { events: net.events, net: net.module, wifi: wifi.make(storage), storage, wdt: wdt.module }
    const print = (...args) => this.#log(formatLogLine(args))
    const globals = {
      ...gpio.globals,
      millis: uptime,
      micros: () => uptime() * 1000,
      delay: ms => loop.stall(ms),
      console: realm.object({ log: print, error: print }),
      print,
      storage,
      board: realm.data({ name: 'pico-w', uid: opts.uid }),
      process: realm.data({ arch: 'arm', platform: 'rp2', version: KALUMA_VERSION }),
      btoa: s => Buffer.from(String(s), 'latin1').toString('base64'),
      atob: s => new realm.global.Uint8Array(Buffer.from(String(s), 'base64')),
      require (name) {
        if (MODULE_NAMES.includes(name)) return modules[name]
        // startup.js Module.require
        throw realm.error('Error', `Failed to load module: ${name}`)
      }
    }
    for (const [name, value] of Object.entries(globals)) {
      realm.global[name] = typeof value === 'function' ? realm.fn(value) : value
    }
    // A top-level exception is printed and the runtime cleaned up (src/runtime.c km_runtime_load ->
    // km_runtime_cleanup: timers and watches gone): the board waits at the REPL.
    if (loop.run(() => realm.run(`"use strict";${opts.code}`, 'usercode.js'))) {
      timers.clearAll()
      gpio.stop()
    }
    return {
      gpio,
      wdt,
      loop,
      hang: () => loop.stop(),
      uptime,
      shutdown () {
        loop.stop()
        timers.clearAll()
        gpio.stop()
        net.stop()
        wdt.stop()
      }
    }
  }
}

/** options: { code, fakeTimers, uid, wifi: {ssid, password}, connectOverride, resolve(host) -> ip | null, log } */
export function createKalumaDevice (options) {
  return new KalumaDevice(options)
}
