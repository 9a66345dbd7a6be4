// Runs an Espruino JS bundle on the laptop: a vm context holding only what
// Espruino 2v29 provides, wired to real TCP sockets, a simulated Wifi access
// point, simulated GPIO and in-memory Storage. See the module files for the
// Espruino source each behaviour follows.
import { EventEmitter } from 'node:events'
import { createRealm } from './realm.mjs'
import { createEventLoop, installEmitter } from './events.mjs'
import { createScheduler, createDeviceTimers, installDate } from './timers.mjs'
import { createPinInputs, createPins, pressSequence } from './pins.mjs'
import { createNetRegistry, createNetModule } from './net.mjs'
import { createTlsModule } from './tls.mjs'
import { createWifiEnvironment, createWifiModule } from './wifi.mjs'
import { createStorageModule } from './storage.mjs'
import { createSystem } from './system.mjs'
import { createEsp32 } from './esp32.mjs'
import { formatLogLine, recordLog } from './console.mjs'
import { trackRejections } from './rejections.mjs'
import { espruinoStrings } from './strings.mjs'

const DEFAULTS = { fakeTimers: false, serial: 'e6614c311b4e6c29', wifi: false, board: 'RPI_PICO_W', ble: true }

function validate (options) {
  if (!options || typeof options.code !== 'string') {
    throw new Error('createDevice: options.code must be the bundle source as a string')
  }
  const { wifi, connectOverride, log } = options
  if (wifi !== undefined && wifi !== false && (typeof wifi !== 'object' || typeof wifi.ssid !== 'string')) {
    throw new Error('createDevice: options.wifi must be false or { ssid, password }')
  }
  if (connectOverride !== undefined && typeof connectOverride !== 'function') {
    throw new Error('createDevice: options.connectOverride must be a function (host, port) => ({ host, port })')
  }
  if (log !== undefined && typeof log !== 'function') throw new Error('createDevice: options.log must be a function')
}

class Device extends EventEmitter {
  #options
  #scheduler
  #inputs = createPinInputs()
  #wifiEnv
  #program // the running boot
  #netRegistry = createNetRegistry()
  #clockOffset = 0 // Date.now() - scheduler time: the device's wall clock (set by SNTP or setTime)

  constructor (options) {
    super()
    validate(options)
    this.#options = { ...DEFAULTS, ...options }
    this.#scheduler = createScheduler({ fakeTimers: this.#options.fakeTimers })
    this.clock = this.#scheduler.clock
    this.logs = []
    this.uncaught = []
    this.reboots = 0
    this.storage = new Map()
    /** ESP32.setAtten(pin, atten) calls, pin name -> atten (board 'ESP32' only). */
    this.adcAttenuation = new Map()
    const { wifi } = this.#options
    if (wifi) {
      this.#wifiEnv = createWifiEnvironment({ ap: wifi, scheduler: this.#scheduler, callbackOnFailure: wifi.callbackOnFailure, sntp: wifi.sntp })
      this.wifi = this.#wifiEnv.controller
    }
    this.net = this.#netRegistry
  }

  start ({ boot = 'upload' } = {}) {
    if (boot !== 'upload' && boot !== 'power') throw new Error(`device.start: boot must be 'upload' or 'power', got ${boot}`)
    if (this.#program) throw new Error('device.start: already running; call stop() first')
    this.#program = this.#boot(boot)
    return this
  }

  stop () {
    this.#program?.shutdown({ kill: true })
    this.#program = undefined
    this.#scheduler.clearAll()
  }

  /** The firmware's JS stops running, as if stuck in an endless loop: only the watchdog gets the board back. */
  hang () {
    this.#program?.hang()
  }

  setPin (pin, level) {
    this.#inputs.set(pin, level)
  }

  /** What analogRead(pin) returns from now on: 0..1, or a function called at each read. */
  setAnalog (pin, value) {
    this.#inputs.setAnalog(pin, value)
  }

  /** analogRead calls so far, all boots. */
  get analogReads () {
    return this.#inputs.analogReads
  }

  /** The level the firmware drives `pin` to (an LED), or undefined while it is not an output. */
  output (pin) {
    return this.#program?.output(pin)
  }

  /** The device's clock (Date.now()) reads `ms` now, as after SNTP; it keeps running from there. */
  setTime (ms) {
    this.#clockOffset = ms - this.#scheduler.now()
  }

  press (pin, options) {
    return this.pressAll([pin], options)
  }

  /** Press pins together: bounce burst, hold, release burst (advances fake time itself). */
  pressAll (pins, options) {
    return pressSequence({ setPin: (p, level) => this.setPin(p, level), sleep: ms => this.#scheduler.sleep(ms) }, pins, options)
  }

  #log (line) {
    recordLog(this, this.#options.log, line)
  }

  #uncaught (err) {
    this.uncaught.push(err)
    this.#log(`Uncaught ${String(err)}`)
  }

  #reboot (reason) {
    // E.reboot() tears down like jsiKill (E 'kill' runs); a watchdog reset does not.
    this.#program?.shutdown({ kill: reason === 'E.reboot' })
    this.reboots += 1
    queueMicrotask(() => {
      this.#program = this.#boot('power')
      this.emit('reboot', reason)
    })
  }

  #boot (mode) {
    const opts = this.#options
    const scheduler = this.#scheduler
    const realm = createRealm()
    const loop = createEventLoop({ onUncaught: (err) => this.#uncaught(err) })
    const emitter = installEmitter(realm, loop)
    installDate(realm, () => scheduler.now() + this.#clockOffset)
    const timers = createDeviceTimers({ realm, loop, scheduler })
    const pins = createPins({
      realm,
      loop,
      scheduler,
      inputs: this.#inputs,
      onOutput: (n, level) => this.emit('output', `D${n}`, level, scheduler.now())
    })
    const wifi = this.#wifiEnv && createWifiModule({
      realm,
      loop,
      emitter,
      scheduler,
      env: this.#wifiEnv,
      serial: opts.serial,
      onLinkLost: () => this.#netRegistry.dropAll(),
      esp32: opts.board === 'ESP32',
      setClock: (ms) => this.setTime(ms)
    })
    const network = {
      realm,
      loop,
      emitter,
      registry: this.#netRegistry,
      connectOverride: opts.connectOverride ?? ((host, port) => ({ host, port })),
      isOnline: () => (wifi ? wifi.isOnline() : true)
    }
    const net = createNetModule(network)
    const builtinNames = new Set()
    const system = createSystem({
      realm,
      loop,
      emitter,
      scheduler,
      board: opts.board,
      serial: opts.serial,
      builtinNames,
      codeLength: opts.code.length,
      requestReboot: (reason) => this.#reboot(reason)
    })
    const modules = {
      net: net.module,
      tls: createTlsModule(network),
      Storage: createStorageModule({ realm, files: this.storage }),
      ...(wifi && { Wifi: wifi.module })
    }
    const print = (...args) => this.#log(formatLogLine(args))
    const globals = {
      ...timers.globals,
      ...pins.globals,
      E: system.E,
      process: system.process,
      console: realm.object({ log: print, debug: print, info: print, warn: print, error: print }),
      print,
      ...(opts.board === 'ESP32' && { ESP32: createEsp32({ realm, attenuation: this.adcAttenuation, ble: opts.ble }) }),
      getSerial: () => opts.serial,
      btoa: (s) => Buffer.from(String(s), 'latin1').toString('base64'),
      atob: (s) => Buffer.from(String(s), 'base64').toString('latin1'),
      require (name) {
        if (typeof name !== 'string') throw realm.error('TypeError', `Expecting module name as a string, got ${typeof name}`)
        if (Object.hasOwn(modules, name)) return modules[name]
        throw realm.error('Error', `Module ${JSON.stringify(name)} not found`)
      }
    }
    for (const [name, value] of Object.entries(globals)) {
      realm.global[name] = typeof value === 'function' && !(value instanceof realm.global.Function) ? realm.fn(value) : value
    }
    for (const name of Object.getOwnPropertyNames(realm.global)) builtinNames.add(name)
    const untrack = trackRejections(realm, (err) => loop.reportUncaught(err))

    loop.invoke(() => realm.run(espruinoStrings(opts.code), 'bundle.js'))
    if (mode === 'power') {
      // jsiSemiInit order: E 'init' handlers, then a global onInit().
      emitter.emitNow(system.E, 'init')
      const onInit = realm.global.onInit
      if (typeof onInit === 'function') loop.invoke(() => onInit())
    }

    return {
      hang: () => loop.stop(),
      output: (pin) => pins.output(pin),
      shutdown ({ kill }) {
        if (kill) emitter.emitNow(system.E, 'kill')
        loop.stop()
        timers.clearAll()
        pins.stop()
        net.stop() // every socket of the registry, TLS ones too
        wifi?.stop()
        system.stop()
        untrack()
      }
    }
  }
}

/**
 * options: { code, fakeTimers, serial, wifi ({ ssid, password, callbackOnFailure, sntp } or false),
 * connectOverride, log, board, ble } — see Device above. board 'ESP32' adds what only Espruino's ESP32
 * build has: the ESP32 object and Wifi.setConfig; ble (default true, as that build starts) is what
 * ESP32.getState().BLE says.
 */
export function createDevice (options) {
  return new Device(options)
}
