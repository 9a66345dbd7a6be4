// GPIO for one boot: Pin objects D0..D29, pinMode/digitalRead/digitalWrite and
// setWatch/clearWatch with Espruino's software debounce (src/jswrap_io.c
// jswrap_interface_setWatch, src/jsinteractive.c "PIN WATCH" + timer handling):
// an edge that differs from the watch's stable state starts a timeout of
// `debounce` ms; further edges push it back and record the latest level; when
// it fires and the level differs from the stable state the callback runs with
// time = the last edge's time. lastTime is the previous *change* of the watched
// pin whatever the edge filter (undefined before the first).
// analogRead (jswrap_io.c) gives 0..1 of full scale: any D<n> is read (Espruino's Linux build and
// ESP32 have more pins than D0..D29), 0 unless the test set a level or a function of the read.

export const PIN_COUNT = 30
const MODES = ['analog', 'input', 'input_pullup', 'input_pulldown', 'output', 'opendrain', 'af_output',
  'af_opendrain', 'opendrain_pullup', 'auto']

/** 'D16' | 16 | Pin -> 16, or undefined when not a pin of this board. */
export function pinNumber (pin) {
  const n = typeof pin === 'string' && /^D\d+$/.test(pin) ? Number(pin.slice(1)) : Number(pin)
  return Number.isInteger(n) && n >= 0 && n < PIN_COUNT ? n : undefined
}

const BOUNCE_EDGES = 5 // edges per contact-bounce burst, 1 ms apart

/** A guest's press of `pins` together: bounce burst, hold, release burst, on the device's clock. */
export async function pressSequence ({ setPin, sleep }, pins, { holdMs = 80, bounce = true } = {}) {
  const burst = async (final) => {
    const edges = bounce ? BOUNCE_EDGES : 1
    for (let i = edges - 1; i >= 0; i--) {
      const level = i % 2 === 0 ? final : 1 - final
      for (const p of pins) setPin(p, level)
      if (i > 0) await sleep(1)
    }
  }
  await burst(1)
  await sleep(holdMs)
  await burst(0)
}

/** 'D35' | 35 -> 'D35' for analog inputs, any pin number; undefined when not a pin name. */
function analogName (pin) {
  const n = typeof pin === 'string' && /^D\d+$/.test(pin) ? Number(pin.slice(1)) : pin
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? `D${n}` : undefined
}

/** Levels driven from outside the board; lives as long as the device (survives reboots). */
export function createPinInputs () {
  const driven = new Map() // pin -> 0|1
  const analog = new Map() // 'D35' -> number | () => number
  let listener = () => {}
  return {
    driven,
    analog,
    analogReads: 0,
    setAnalog (pin, value) {
      const name = analogName(pin)
      if (name === undefined) throw new Error(`setAnalog: "${pin}" is not a pin; use 'D<n>' or a number`)
      if (typeof value !== 'function' && !(typeof value === 'number' && value >= 0 && value <= 1)) throw new Error(`setAnalog: ${value} is not 0..1 (what analogRead returns) or a function giving it`)
      analog.set(name, value)
    },
    set (pin, level) {
      const n = pinNumber(pin)
      if (n === undefined) throw new Error(`setPin: "${pin}" is not a pin; use 'D0'..'D${PIN_COUNT - 1}' or 0..${PIN_COUNT - 1}`)
      driven.set(n, level ? 1 : 0)
      listener(n)
    },
    onChange (fn) {
      listener = fn
    }
  }
}

/** onOutput(n, level): a pin driven by the program changed level (or became an output). */
export function createPins ({ realm, loop, scheduler, inputs, onOutput = () => {} }) {
  const modes = new Map() // pin -> mode set by the program
  const outputs = new Map() // pin -> level written
  const watches = new Map() // id -> watch
  const lastLevel = new Map() // pin -> level last seen by watches

  const level = (n) => {
    const mode = modes.get(n)
    if (mode === 'output' || mode === 'opendrain') return outputs.get(n) ?? 0
    if (inputs.driven.has(n)) return inputs.driven.get(n)
    return mode === 'input_pullup' || mode === 'opendrain_pullup' ? 1 : 0
  }
  const toPin = (pin) => {
    const n = pinNumber(pin)
    if (n === undefined) throw realm.error('Error', 'Invalid pin')
    return n
  }

  const PinClass = realm.fn(function Pin (value) {
    const n = toPin(value)
    return pinObjects[n]
  })
  const P = PinClass.prototype
  Object.assign(P, {
    read: realm.fn(function () { return !!api.digitalRead(this) }),
    write: realm.fn(function (v) { api.digitalWrite(this, v) }),
    set: realm.fn(function () { api.digitalWrite(this, 1) }),
    reset: realm.fn(function () { api.digitalWrite(this, 0) }),
    toggle: realm.fn(function () {
      const v = level(toPin(this)) ? 0 : 1
      api.digitalWrite(this, v)
      return !!v
    }),
    mode: realm.fn(function (m) { api.pinMode(this, m) }),
    getMode: realm.fn(function () { return api.getPinMode(this) }),
    valueOf: realm.fn(function () { return pinIndex.get(this) }),
    toString: realm.fn(function () { return `D${pinIndex.get(this)}` }),
    toJSON: realm.fn(function () { return `D${pinIndex.get(this)}` })
  })
  const pinIndex = new WeakMap()
  const pinObjects = Array.from({ length: PIN_COUNT }, (_, n) => {
    const p = realm.global.Object.create(P)
    pinIndex.set(p, n)
    return p
  })

  function edge (n) {
    const now = scheduler.now()
    const high = level(n)
    if (lastLevel.get(n) === high) return
    lastLevel.set(n, high)
    for (const w of [...watches.values()]) {
      if (w.pin === n) watchEdge(w, high, now)
    }
  }
  inputs.onChange(edge)

  function watchEdge (w, high, time) {
    if (w.debounce <= 0) {
      w.state = high
      fire(w, high, time)
      return
    }
    if (w.timeout) {
      scheduler.cancel(w.timeout.handle)
      w.timeout = { state: high, handle: scheduler.after(w.debounce, () => settle(w, time)) }
    } else if (high !== w.state) {
      w.timeout = { state: high, handle: scheduler.after(w.debounce, () => settle(w, time)) }
    }
  }
  function settle (w, time) {
    const { state } = w.timeout
    w.timeout = undefined
    if (state === w.state) return
    w.state = state
    fire(w, state, time)
  }
  function fire (w, high, time) {
    const seconds = time / 1000
    if (w.edge === 0 || (w.edge > 0) === !!high) {
      if (!w.repeat) watches.delete(w.id)
      const event = realm.data({ state: !!high, lastTime: w.lastTime, time: seconds })
      event.pin = pinObjects[w.pin]
      loop.queue(() => w.fn(event))
    }
    w.lastTime = seconds
  }
  const EDGES = { rising: 1, falling: -1, both: 0 }

  const api = {
    pinMode (pin, mode) {
      const n = toPin(pin)
      if (mode === undefined || mode === 'auto') {
        modes.delete(n)
        return
      }
      if (!MODES.includes(mode)) throw realm.error('Error', `Unknown pin mode: ${mode}`)
      modes.set(n, mode)
      edge(n)
    },
    getPinMode (pin) {
      return modes.get(toPin(pin)) ?? 'input'
    },
    digitalRead (pin) {
      if (realm.global.Array.isArray(pin)) return pin.reduce((acc, p) => (acc << 1) | api.digitalRead(p), 0)
      const n = toPin(pin)
      return level(n)
    },
    digitalWrite (pin, value) {
      const n = toPin(pin)
      const mode = modes.get(n)
      if (mode !== 'output' && mode !== 'opendrain') modes.set(n, 'output')
      const was = level(n)
      outputs.set(n, value ? 1 : 0)
      if (mode !== 'output' || was !== level(n)) onOutput(n, level(n))
      edge(n)
    },
    setWatch (fn, pin, options) {
      const n = toPin(pin)
      if (typeof fn === 'string') {
        const code = fn
        fn = () => realm.run(code, 'watch')
      }
      if (typeof fn !== 'function') throw realm.error('Error', 'Function or String not supplied!')
      let repeat = false
      let debounce = 0
      let edgeKind = 0
      if (options !== null && typeof options === 'object') {
        repeat = !!options.repeat
        debounce = Number(options.debounce ?? 0)
        if (Number.isNaN(debounce) || debounce < 0) debounce = 0
        const e = options.edge
        if (typeof e === 'number') edgeKind = Math.sign(e)
        else if (e !== undefined) {
          edgeKind = EDGES[e]
          if (edgeKind === undefined) {
            throw realm.error('TypeError', "'edge' in setWatch should be 1, -1, 0, 'rising', 'falling' or 'both'")
          }
        }
      } else repeat = !!options
      const id = watches.size ? Math.max(...watches.keys()) + 1 : 1
      if (!modes.has(n)) modes.set(n, 'input')
      lastLevel.set(n, level(n))
      watches.set(id, { id, pin: n, fn, repeat, debounce, edge: edgeKind, state: level(n), lastTime: undefined })
      return id
    },
    clearWatch (...args) {
      if (args.length === 0) return api.clearAllWatches()
      if (args[0] === undefined) throw realm.error('Error', 'clearWatch(undefined) not allowed. Use clearWatch() instead')
      const w = watches.get(Number(args[0]))
      if (!w) throw realm.error('Error', `Unknown Watch ${args[0]}`)
      if (w.timeout) scheduler.cancel(w.timeout.handle)
      watches.delete(w.id)
    },
    analogRead (pin) {
      const name = pin instanceof PinClass ? `D${pinIndex.get(pin)}` : analogName(pin)
      if (name === undefined) throw realm.error('Error', 'Invalid pin')
      inputs.analogReads++
      const value = inputs.analog.get(name) ?? 0
      return typeof value === 'function' ? value() : value
    },
    clearAllWatches () {
      for (const w of watches.values()) if (w.timeout) scheduler.cancel(w.timeout.handle)
      watches.clear()
    }
  }

  const globals = { Pin: PinClass, HIGH: 1, LOW: 0 }
  pinObjects.forEach((p, n) => { globals[`D${n}`] = p })
  for (const name of ['pinMode', 'getPinMode', 'digitalRead', 'digitalWrite', 'setWatch', 'clearWatch', 'analogRead']) {
    globals[name] = realm.fn(api[name])
  }
  return {
    globals,
    /** The level the program drives `pin` to, or undefined while it is not an output. */
    output (pin) {
      const n = pinNumber(pin)
      const mode = modes.get(n)
      return mode === 'output' || mode === 'opendrain' ? level(n) : undefined
    },
    get watchCount () {
      return watches.size
    },
    stop () {
      api.clearAllWatches()
      inputs.onChange(() => {})
    }
  }
}
