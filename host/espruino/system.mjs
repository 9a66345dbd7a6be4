// E and process for one boot (src/jswrap_espruino.c, src/jswrap_process.c).

export const VERSION = '2v29'
export const TOTAL_BLOCKS = 12000 // boards/RP2040_PICO.py "variables"
const BLOCK_CHARS = 12 // characters of string/code per 16-byte JsVar block

/**
 * Best-effort memory usage in Espruino "blocks": walks what the program made
 * reachable from the global object and counts one block per object and per
 * property plus string length / 12, on top of the bundle's source length / 12.
 * NOT real JsVar blocks (closures are invisible from here) —
 * a trend indicator (leaks grow it), not a budget check.
 */
function estimateBlocks (realm, builtinNames, codeLength) {
  const seen = new Set()
  // Function bodies stay in RAM as source text, so the bundle itself is the baseline.
  let blocks = Math.ceil(codeLength / BLOCK_CHARS)
  const visit = (v) => {
    if (typeof v === 'string') {
      blocks += Math.ceil(v.length / BLOCK_CHARS)
      return
    }
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) return
    seen.add(v)
    blocks += 1
    if (typeof v === 'function') blocks += Math.ceil(Function.prototype.toString.call(v).length / BLOCK_CHARS)
    for (const key of Object.getOwnPropertyNames(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)
      blocks += 1
      if (d && 'value' in d && key !== 'prototype') visit(d.value)
    }
  }
  for (const key of Object.getOwnPropertyNames(realm.global)) {
    if (!builtinNames.has(key)) {
      blocks += 1
      visit(realm.global[key])
    }
  }
  return Math.min(blocks, TOTAL_BLOCKS)
}

export function createSystem ({ realm, loop, emitter, scheduler, board, serial, requestReboot, builtinNames, codeLength }) {
  const errorFlags = new Set()
  let watchdog // { timeoutMs, handle }

  const armWatchdog = () => {
    if (watchdog.handle) scheduler.cancel(watchdog.handle)
    watchdog.handle = scheduler.after(watchdog.timeoutMs, () => requestReboot('watchdog'))
  }

  const E = realm.object({
    enableWatchdog (timeout, isAuto) {
      const seconds = Number(timeout)
      if (!(seconds > 0)) throw realm.error('Error', 'Invalid timeout')
      // Automatic mode is kicked from the idle loop, which here always runs.
      if (isAuto === undefined || isAuto) return
      watchdog = { timeoutMs: seconds * 1000 }
      armWatchdog()
    },
    kickWatchdog () {
      if (watchdog) armWatchdog()
    },
    getErrorFlags () {
      const flags = realm.data([...errorFlags])
      errorFlags.clear()
      return flags
    },
    toString (...args) {
      const bytes = []
      const add = (v) => {
        if (typeof v === 'number') bytes.push(v & 255)
        else if (typeof v === 'string') for (const ch of v) bytes.push(ch.charCodeAt(0) & 255)
        else if (v && typeof v === 'object' && 'byteLength' in v && !('length' in v)) add(new Uint8Array(v))
        else if (v && typeof v === 'object' && 'count' in v && 'data' in v) for (let i = 0; i < v.count; i++) add(v.data)
        else if (v && typeof v === 'object') for (let i = 0; i < v.length; i++) add(v[i])
      }
      args.forEach(add)
      return String.fromCharCode(...bytes)
    },
    toUint8Array (...args) {
      const s = E.toString(...args)
      const out = new realm.global.Uint8Array(s.length)
      for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
      return out
    },
    reboot () {
      requestReboot('E.reboot')
    }
  })

  const memory = (gc) => {
    const usage = estimateBlocks(realm, builtinNames, codeLength)
    const info = { free: TOTAL_BLOCKS - usage, usage, total: TOTAL_BLOCKS, history: 0 }
    if (gc === undefined || gc) Object.assign(info, { gc: 0, gctime: 0.1 })
    return realm.data({ ...info, blocksize: 16 })
  }

  const process = realm.object({
    memory,
    version: VERSION,
    env: realm.data({
      VERSION,
      GIT_COMMIT: 'host',
      BOARD: board,
      RAM: 264 * 1024,
      FLASH: 2048 * 1024,
      STORAGE: 256 * 1024,
      SERIAL: serial,
      CONSOLE: 'USB',
      MODULES: 'Flash,Storage,net,Wifi'
    })
  })
  loop.setUncaughtHandlers(() => emitter.listeners(process, 'uncaughtException').map((fn) => (err) => fn.call(process, err)))

  return {
    E,
    process,
    stop () {
      if (watchdog?.handle) scheduler.cancel(watchdog.handle)
    }
  }
}
