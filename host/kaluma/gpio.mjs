// GPIO of Kaluma 1.2.1 on the Pico W: pins are numbers 0-29 (targets/rp2/src/gpio.c __check_gpio), modes
// INPUT=0 OUTPUT=1 INPUT_PULLUP=2 INPUT_PULLDOWN=3 (include/port/gpio.h; global.c pin_mode_fn),
// analogRead a 12-bit fraction on GPIO 26-29 (targets/rp2/src/adc.c km_adc_read), and setWatch.
//
// setWatch(callback, pin, events = CHANGE, debounce = 0) (src/global.c set_watch_fn) mallocs a watch
// per call and appends it to the loop's list (src/io.c km_io_watch_init, km_io_watch_start): every watch
// stays polled until clearWatch (clear_watch_fn) or km_io_cleanup. Each loop turn reads each watched
// pin in C (km_io_watch_run): a level stable for `debounce` ms that differs from the last one reported
// fires CHANGE/RISING/FALLING; the callback gets only the pin (set_watch_cb); a callback that throws
// is printed and its watch removed for good. The loop polls between JavaScript callbacks, never
// during one. LOW_LEVEL/HIGH_LEVEL (fire on every turn) are not modelled: setWatch refuses them here.

const PIN_COUNT = 30
export const MODES = { INPUT: 0, OUTPUT: 1, INPUT_PULLUP: 2, INPUT_PULLDOWN: 3 }
export const EVENTS = { LOW_LEVEL: 1, HIGH_LEVEL: 2, FALLING: 4, RISING: 8, CHANGE: 12 }
const ADC_PINS = [26, 27, 28, 29]

/** Levels and voltages driven from outside the board; they survive reboots. */
export function createKalumaInputs () {
  let listener = () => {}
  return {
    driven: new Map(), // pin -> 0|1
    analog: new Map(), // pin -> fraction of 3.3 V, or a function giving one at each reading
    reads: 0,
    /** pin: a number, or a name as the config writes it ('D16'), so tests speak to both runtimes alike */
    set (pin, level) {
      const n = checkHostPin(typeof pin === 'string' && /^D[0-9]+$/.test(pin) ? Number(pin.slice(1)) : pin)
      this.driven.set(n, level ? 1 : 0)
      listener(n)
    },
    onChange (fn) {
      listener = fn
    }
  }
}

function checkHostPin (pin) {
  if (!Number.isInteger(pin) || pin < 0 || pin >= PIN_COUNT) throw new Error(`setPin: ${pin} is not a Kaluma pin; use a number 0..${PIN_COUNT - 1}`)
  return pin
}

export function createKalumaGpio ({ realm, loop, inputs, nextId, onOutput = () => {} }) {
  const modes = new Map()
  const outputs = new Map()
  let watches = [] // loop.watch_handles
  const pinArg = (pin) => {
    if (typeof pin !== 'number') throw realm.error('TypeError', '"pin" argument must be a number')
    // __check_gpio fails for pins above 29; the exception text here is the model's.
    if (!Number.isInteger(pin) || pin < 0 || pin >= PIN_COUNT) throw realm.error('Error', `Invalid pin: ${pin}`)
    return pin
  }
  const level = (n) => {
    if (modes.get(n) === MODES.OUTPUT) return outputs.get(n) ?? 0
    if (inputs.driven.has(n)) return inputs.driven.get(n)
    return modes.get(n) === MODES.INPUT_PULLUP ? 1 : 0
  }

  // A loop turn sees the pin as it is now; changes made while the loop is stalled are only seen after.
  function poll () {
    for (const w of watches) {
      const now = level(w.pin)
      if (now === w.level) continue
      w.level = now
      loop.cancel(w.settle)
      w.settle = loop.after(w.debounce, () => loop.run(() => settle(w)))
    }
  }
  function settle (w) {
    if (!watches.includes(w) || w.level === w.reported) return
    w.reported = w.level
    const wanted = w.events === EVENTS.CHANGE || (w.events === EVENTS.RISING && w.level === 1) || (w.events === EVENTS.FALLING && w.level === 0)
    if (wanted && loop.call(() => w.fn(w.pin))) watches = watches.filter(x => x !== w)
  }
  inputs.onChange(() => loop.run(poll))

  const api = {
    pinMode (pin, mode = MODES.INPUT) {
      for (const p of [].concat(pin)) {
        modes.set(pinArg(p), mode)
      }
      loop.run(poll)
    },
    digitalRead: pin => level(pinArg(pin)),
    digitalWrite (pin, value = 0) {
      for (const p of [].concat(pin)) {
        const n = pinArg(p)
        modes.set(n, MODES.OUTPUT)
        const level = value ? 1 : 0
        if (outputs.get(n) !== level) onOutput(n, level)
        outputs.set(n, level)
      }
    },
    digitalToggle (pin) {
      const n = pinArg(pin)
      api.digitalWrite(n, level(n) ? 0 : 1)
    },
    analogRead (pin) {
      const n = pinArg(pin)
      if (!ADC_PINS.includes(n)) throw realm.error('Error', `Pin ${n} has no ADC`)
      // global.c analog_read_fn waits 1 ms before its one sample (issue #55): a short stall.
      loop.stall(1)
      inputs.reads++
      const set = inputs.analog.get(n) ?? 0
      const fraction = Math.min(Math.max(typeof set === 'function' ? set() : set, 0), 4095 / 4096)
      return Math.floor(fraction * 4096) / 4096
    },
    setWatch (fn, pin, events = EVENTS.CHANGE, debounce = 0) {
      if (typeof fn !== 'function') throw realm.error('TypeError', '"callback" argument must be a function')
      const n = pinArg(pin)
      if (![EVENTS.CHANGE, EVENTS.RISING, EVENTS.FALLING].includes(events)) throw new Error(`host/kaluma: setWatch events ${events} (LOW_LEVEL/HIGH_LEVEL) are not modelled`)
      const w = { id: nextId(), pin: n, fn, events, debounce: Number(debounce) || 0, level: level(n), reported: level(n), settle: undefined }
      watches.push(w)
      return w.id
    },
    clearWatch (id) {
      const w = watches.find(x => x.id === id)
      if (!w) return
      loop.cancel(w.settle)
      watches = watches.filter(x => x !== w)
    }
  }
  return {
    globals: { ...api, HIGH: 1, LOW: 0, ...MODES, ...EVENTS },
    get outputs () { return outputs },
    get watchCount () { return watches.length },
    stop () {
      for (const w of watches) loop.cancel(w.settle)
      watches = []
      inputs.onChange(() => {})
    }
  }
}
