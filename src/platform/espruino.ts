// The Espruino 2v29 adapter: everything the firmware needs from the board, in Espruino's API. The
// runtime-free core (main, wifi, buttons, mqtt, tables, battery, codec, retry) reaches the board only
// through this module or src/platform/kaluma.ts; build.mjs bundles the one `runtime` names.

// (a const enum: esbuild writes the number in place, where a const would be a variable kept in memory)
// (the watchdog kicked three times a period: one late kick is no reboot)
const enum W { WATCHDOG_S = 30, KICK_MS = WATCHDOG_S * 1000 / 3 }

// Espruino's console.log itself (it needs no `this`): no function of ours kept for it.
export const log: (line: string) => void = console.log

/** The chip's serial number, as hex digits: Espruino's getSerial itself (a string on every board). */
export const serialNumber: () => string = getSerial

// The start count, and what the core keeps over a restart: its stop handler saves every time, so a
// saved text at boot also says the last run stopped cleanly.
const BOOTS = 'tablecall.boot'
const SAVED = 'tablecall.saved'

const errorFlags = (flags: string[]) => flags.length && log('main: error flags ' + flags.join(', '))

// At boot, as top-level code (a function would keep its source text in memory for good): this module
// runs before the core's. The watchdog: not kicked automatically; only a running event loop kicks it, so a hang reboots the board.
try {
  E.enableWatchdog(W.WATCHDOG_S, false)
  setInterval(() => E.kickWatchdog(), W.KICK_MS)
} catch (e) {
  log('main: no hardware watchdog on this board')
}
// This start's number, counted in flash; the log says how the last run ended, so a reboot by the
// watchdog or a flat battery shows. (firmware before call ids kept {n, clean} here: counted from 1 again)
const storage = require('Storage')
export const boots = (parseInt(storage.read(BOOTS)!) || 0) + 1
storage.write(BOOTS, '' + boots)
log('main: start ' + boots + (boots > 1 ? storage.read(SAVED) ? ', after a clean stop' : ', after a power loss, reset or watchdog' : ''))
errorFlags(E.getErrorFlags())
E.on('errorFlag', errorFlags)

export const loadSaved = () => storage.read(SAVED) || ''

export function save (text: string) {
  if (text) storage.write(SAVED, text)
  else storage.erase(SAVED)
}

/** `fn` runs when the program stops (Espruino's 'kill': reset(), load(), a new upload). */
export const onStop = (fn: () => void) => E.on('kill', fn)

// The core's press handler, one for every pin (src/buttons.ts): one callback serves every watch, told
// the pin by the event Espruino passes (src/jsinteractive.c jsiIdle sets its `pin`, which String()
// names "D16"), so no function is kept per button.
let pressed: (pin: string) => void
const onWatch = (e: { pin: unknown }) => pressed(String(e.pin))

/**
 * `fn(pin)` at each press on `pin`, a press as src/buttons.ts defines it: the internal pull-down backs
 * up the external resistor; Espruino's debounce waits until the level has been stable so long.
 */
export function watchPress (pin: string, fn: (pin: string) => void) {
  pressed = fn
  pinMode(pin, 'input_pulldown')
  setWatch(onWatch, pin, { repeat: true, edge: 'rising', debounce: __TABLECALL__.debounceMs })
}

/** Drives a table light. */
export const writePin = digitalWrite

/** The ADC pin's voltage as a fraction of its range (a function, so a bundle without a battery drops it). */
export function readAdc (pin: string): number {
  return analogRead(pin)
}

// ESP32.setAtten takes the range in mV; 3600 is 11 dB, so a full cell's 2.1 V behind a 2:1 divider fits.
const ATTEN_MV = 3600

/** Prepares the battery's ADC pin. */
export function prepareAdc (pin: string) {
  // Only ESP32 builds have it; 2v29 starts every ADC1 channel at 11 dB already, this keeps it so.
  if (typeof ESP32 !== 'undefined' && ESP32.setAtten) ESP32.setAtten(pin, ATTEN_MV)
}

/** A TCP (or TLS) connection to the broker; `onOpen` once connected. Events: data, error, close. */
export function connectBroker (onOpen: () => void): BrokerSocket {
  // the CA as DER bytes: Espruino 2v29 parses it but does not verify the server. (The settings
  // written in place: a bundle without TLS has no TLS branch, one without a CA no certificate.)
  return (__TABLECALL__.tls ? require('tls') : require('net')).connect({ host: __TABLECALL__.host, port: __TABLECALL__.port, ca: __TABLECALL__.ca ? atob(__TABLECALL__.ca) : undefined }, onOpen)
}

// WiFi at boot, as top-level code: power save and the clock. Boards whose Espruino has no Wifi module
// (Espruino's Linux build, or a board with a wired or built-in network) use their network as it is.
// Modem sleep keeps the link but wakes the radio only for the access point's DTIM beacons: presses
// leave at once, messages to the device wait for the next beacon. See docs/power.md. (The setting
// written in place, so a bundle without "none" drops the Bluetooth check.)
let wifi: WifiModule | undefined
try {
  wifi = require('Wifi')
} catch (e) {
  log('wifi: no Wifi module on this board; using its network as it is')
}
if (wifi) {
  try {
    // With Bluetooth on (Espruino's ESP32 default) ESP-IDF needs modem sleep: turning it off is
    // refused or aborts, which would reboot the board at every start.
    if (__TABLECALL__.powersave === 'none' && typeof ESP32 !== 'undefined' && ESP32.getState!().BLE) throw new Error('Bluetooth is on')
    wifi.setConfig!({ powersave: __TABLECALL__.powersave })
  } catch (e) {
    // No setConfig (only ESP32 and ESP8266 have it), or a name the build does not know: Espruino on
    // ESP-IDF 4 (ESP32-C3, -S3) takes only "none", "min" and "max". The board keeps its own setting.
    log('wifi: power save "' + __TABLECALL__.powersave + '" not applied (' + e + '); see docs/power.md')
  }
  // The clock, for the press time in table states (ESP32 Espruino has SNTP; others stay unset).
  if (wifi.setSNTP) wifi.setSNTP('pool.ntp.org', 0)
  else log('wifi: no SNTP, so no press times')
}

/**
 * Joins the WiFi network once: Wifi.connect itself (jswrap_wifi_connect is a static method, so it needs
 * no `this`); the callback gets null when joined (2v29 on ESP32 never calls it on failure: a
 * 'disconnected' event says so). None without a Wifi module.
 */
export const joinWifi = wifi && wifi.connect

/** `fn(why)` when the link is lost or a join fails: 'disconnected' {ssid, mac, reason, msg}, the reason ESP-IDF's code. */
export const onLinkLost = (fn: (why: string) => void) => wifi!.on('disconnected', details => fn(' (' + details.reason + ')'))
