// The Kaluma 1.2.1 adapter (Raspberry Pi Pico W): the same functions as src/platform/espruino.ts over
// Kaluma's API, designed around what Kaluma lacks (docs/kaluma.md: each behaviour, its source at tag
// 1.2.1 and its test): WiFi polled (no link event) and joined with enforce (a blocking call), socket
// data turned from Uint8Array into the binary strings the core speaks, no watchdog while running
// (the log line at boot says why). A dead connection gives no event on Kaluma: the core's own answer
// timeouts (CONNACK, SUBACK, PUBACK, ping) find it, and this adapter never touches it again.

// Kaluma's globals and modules as used here (module-local, so Espruino's types stay apart).
declare const console: { log (text: string): void }
declare const board: { uid: string }
declare const storage: { getItem (key: string): string | null, setItem (key: string, value: string): void, removeItem (key: string): void }
declare const INPUT_PULLDOWN: number
declare const RISING: number
declare function setWatch (fn: (pin: number) => void, pin: number, events: number, debounce: number): number
declare function delay (ms: number): void
declare function pinMode (pin: number, mode: number): void
declare function digitalWrite (pin: number, value: number): void
declare function analogRead (pin: number): number
interface KalumaSocket {
  on (event: string, fn: (arg: never) => void): void
  connect (options: { host: string, port: number }, onConnect: () => void): void
  write (data: string): void
  destroy (): void
}
interface KalumaWifi {
  connect (options: { ssid: string, password: string, security: string, enforce: boolean }, cb: (err: unknown) => void): void
  getConnection (cb: (err: unknown) => void): void
}
declare function require (name: 'net'): { Socket: new () => KalumaSocket }
declare function require (name: 'wifi'): { WiFi: new () => KalumaWifi }
declare function require (name: 'wdt'): { WDT: new (ms: number) => unknown }

// (a const enum: esbuild writes the numbers in place, where a const would be a variable kept in memory)
const enum K {
  LINK_POLL_MS = 5000,
  /** KM_MAX_SOCKET_NO: Kaluma's socket slots */
  SOCKETS = 16,
  /** String.fromCharCode.apply takes this many bytes at a time safely */
  SLICE = 512,
  /** A storage item holds at most 253 bytes with its key: the saved text goes in parts. */
  SAVED_PARTS = 4,
  PART = 230
}

export const log = (line: string) => console.log(line)

// Espruino's pin names ("D16") are GPIO numbers on Kaluma.
const gpio = (pin: string) => Number(pin.slice(1))

// The flash chip's unique id (pico_get_unique_board_id_string), in the case Espruino's getSerial() has.
export const serialNumber = () => board.uid.toLowerCase()

// At boot, as top-level code (a function would keep its source text in memory for good): this start's
// number (one flash write per boot; Kaluma has no event when the program stops, so only the start).
let n = 0
try {
  n = Number(storage.getItem('tablecall.boot') || 0) + 1
  storage.setItem('tablecall.boot', String(n))
  log('main: start ' + n)
} catch (e) {
  log('main: cannot count the start (' + e + ')')
}
export const boots = n

const part = (k: number) => 'tablecall.saved' + k

export function loadSaved () {
  let text = ''
  for (let k = 0; k < K.SAVED_PARTS; k++) text += storage.getItem(part(k)) || ''
  return text
}

export function save (text: string) {
  for (let k = 0; k < K.SAVED_PARTS; k++) {
    const piece = text.substr(k * K.PART, K.PART)
    if (piece) storage.setItem(part(k), piece)
    else storage.removeItem(part(k))
  }
}

// No watchdog on Kaluma: a WiFi join that fails blocks the board for 30 s, longer than the 8.4 s the
// RP2040's watchdog can wait (and Kaluma cannot stop it), so it would restart the board during every
// failed rejoin (firmware.test.mjs, "wrong WiFi password..."). restart() uses it only to restart.
log('main: no watchdog on Kaluma: a hang needs a power cycle')

// Kaluma has no event when the program stops; the handler runs before a restart on purpose.
let stopHandler = () => {}
export function onStop (fn: () => void) {
  stopHandler = fn
}

// A restart on purpose: the core's stop handler first (it keeps what a restart must not lose), then the
// watchdog at 1 ms (require('wdt'), the only reset Kaluma 1.2.1 offers JavaScript; a hardware reset,
// so no Kaluma cleanup touches the abandoned sockets), waited for in delay(). Restarts even when the
// handler throws.
function restart () {
  log('main: restarting')
  try {
    stopHandler()
  } finally {
    // eslint-disable-next-line no-new -- the watchdog starts in the constructor
    new (require('wdt').WDT)(1)
    delay(1000)
  }
}

// One setWatch per button: Kaluma polls and debounces it in C at every loop turn (src/io.c
// km_io_watch_run), so an idle board runs no JavaScript for its buttons; a 10 ms JavaScript poller ran
// 100 callbacks a second, missed more short presses while the loop was busy (it samples at most every
// 10 ms and only between callbacks, as setWatch does), and cost more bytes (docs/kaluma.md, "Buttons").
// The core's press handler, one for every pin (src/buttons.ts): one callback serves every watch, told
// the GPIO number by Kaluma (src/global.c set_watch_cb passes only the pin).
let pressed: (pin: string) => void
const onWatch = (n: number) => {
  // A callback that throws loses its watch for good on Kaluma (src/global.c set_watch_cb).
  try {
    pressed('D' + n)
  } catch (e) {
    log('btn: ' + e)
  }
}

export function watchPress (pin: string, fn: (pin: string) => void) {
  pressed = fn
  pinMode(gpio(pin), INPUT_PULLDOWN)
  setWatch(onWatch, gpio(pin), RISING, __TABLECALL__.debounceMs)
}

export function writePin (pin: string, level: number) {
  digitalWrite(gpio(pin), level)
}

export function readAdc (pin: string): number {
  return analogRead(gpio(pin))
}

// Kaluma's ADC needs no setting up (analogRead selects the channel at every reading).
export function prepareAdc (_pin: string) {}

const binary = (data: Uint8Array) => {
  let s = ''
  for (let i = 0; i < data.length; i += K.SLICE) s += String.fromCharCode.apply(null, data.subarray(i, i + K.SLICE) as unknown as number[])
  return s
}

// Sockets holding one of Kaluma's slots: made and not yet closed by Kaluma.
let held = 0

/**
 * A plain TCP connection (Kaluma has no TLS; the config refuses mqtt.tls). Never closed here: lwIP
 * frees the pcb of a refused or reset connection without telling Kaluma (tcp_err NULL in
 * module_pico_cyw43.c), and closing it then frees it twice. An ended socket is abandoned: it keeps its
 * slot until Kaluma closes it on the broker's FIN; when all 16 are held, the board restarts.
 */
export function connectBroker (onOpen: () => void): BrokerSocket {
  if (held >= K.SOCKETS) {
    // after the current callback, so the stop handler sees what it did (a press that asked to connect)
    setTimeout(restart, 0)
    throw new Error('all sockets held by dead connections')
  }
  const s = new (require('net').Socket)()
  held++
  s.on('close', () => held--)
  try {
    s.connect({ host: __TABLECALL__.host, port: __TABLECALL__.port }, onOpen)
  } catch (e) {
    // No pcb was made: closing is safe, and frees the slot a failed DNS lookup keeps.
    s.destroy()
    throw e
  }
  return {
    write: (data: string) => s.write(data),
    end: () => {},
    on: ((event: string, fn: (arg: unknown) => void) => {
      s.on(event, event === 'data' ? (d: Uint8Array) => fn(binary(d)) : fn)
    }) as BrokerSocket['on']
  }
}

log('wifi: power save "' + __TABLECALL__.powersave + '" is the chip\'s own on Kaluma; no SNTP, so no press times')

const wifi = new (require('wifi').WiFi)()

/**
 * Joins the WiFi network once, in the shape of Espruino's Wifi.connect. With enforce it blocks the board
 * until joined, up to 30 s when it fails, and `done` runs before connect() returns (cyw43.c
 * pico_cyw43_wifi_connect, CONNECT_TIMEOUT). security always given: Kaluma's wifi.js connect replaces an
 * empty one (and an empty password) with the WIFI_SECURITY (WIFI_PASSWORD) its own setup stored on the
 * board; 'OPEN' then still joins open. (docs/kaluma.md: tag 1.2.1, each with its test.)
 */
export const joinWifi = (ssid: string, options: { password: string }, done: (err: unknown) => void) => wifi.connect({ ssid, password: options.password, security: options.password ? 'WPA2_WPA_PSK' : 'OPEN', enforce: true }, done)

/**
 * No link-loss event on Kaluma (cyw43.c has no link callback; 'disconnected' follows only our own
 * disconnect()): getConnection, which answers at once, asked every 5 s; also while down, when
 * src/wifi.ts ignores it.
 */
export const onLinkLost = (fn: (why: string) => void) => setInterval(() => wifi.getConnection(err => err && fn('')), K.LINK_POLL_MS)
