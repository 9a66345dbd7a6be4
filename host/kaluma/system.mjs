// Storage, watchdog, board and process of Kaluma 1.2.1 on the Pico W.

const SLOTS = 64 // storage.c / board.h: 16 KB of 256-byte slots
const MAX_ITEM_BYTES = 253 // key + value per slot
const WDT_MAX_MS = 8388 // pico-sdk watchdog_enable: delay_ms * 1000 * 2 clamped to 0xFFFFFF us (RP2040-E1)

const bytes = text => Buffer.byteLength(text, 'latin1')

/**
 * The `storage` global and require('storage') (src/modules/storage/storage.js, module_storage.c): keys
 * and values must be strings (storage_set_item_fn), getItem gives null when missing, each item takes one
 * slot, a full store throws (ESTGFULL after sweep()). `items` lives in flash: it survives reboots, and
 * every setItem wears it (counted in `writes`).
 */
export function createKalumaStorage ({ realm, flash }) {
  const check = (value, what) => {
    if (typeof value !== 'string') throw realm.error('TypeError', `"${what}" argument must be a string`)
    return value
  }
  const api = {
    setItem (key, value) {
      check(key, 'key')
      check(value, 'value')
      // The exception texts are the model's; the limits are Kaluma's.
      if (bytes(key) + bytes(value) > MAX_ITEM_BYTES) throw new realm.global.SystemError(-141, `storage item over ${MAX_ITEM_BYTES} bytes`)
      if (!flash.items.has(key) && flash.items.size >= SLOTS) throw new realm.global.SystemError(-142, 'ESTGFULL')
      flash.items.set(key, value)
      flash.writes++
    },
    getItem: key => flash.items.has(check(key, 'key')) ? flash.items.get(key) : null,
    removeItem (key) {
      flash.items.delete(check(key, 'key'))
      flash.writes++
    },
    clear () {
      flash.items.clear()
      flash.writes++
    },
    key: i => [...flash.items.keys()][i] ?? null
  }
  const storage = realm.object(api)
  Object.defineProperty(storage, 'length', { get: () => flash.items.size })
  return storage
}

/**
 * require('wdt') (src/modules/wdt/module_wdt.c, targets/rp2/src/wdt.c km_wdt_enable): new WDT(ms)
 * starts the hardware watchdog, feed() restarts it, there is no way to stop it. Timeouts above about
 * 8.38 s are cut by the SDK to 8.388 s. It counts real time: a blocking call longer than it resets the board.
 */
export function createKalumaWdt ({ realm, scheduler, reset }) {
  let timeoutMs
  let handle
  const arm = () => {
    if (handle) scheduler.cancel(handle)
    handle = scheduler.after(timeoutMs, () => reset('watchdog'))
  }
  const WDT = realm.fn(function WDT (ms) {
    if (typeof ms !== 'number') throw realm.error('TypeError', '"timeout" argument must be a number')
    timeoutMs = Math.min(ms, WDT_MAX_MS)
    arm()
  })
  WDT.prototype.feed = realm.fn(() => { if (timeoutMs !== undefined) arm() })
  return {
    module: realm.object({ WDT }),
    get timeoutMs () { return timeoutMs },
    stop () { if (handle) scheduler.cancel(handle) }
  }
}
