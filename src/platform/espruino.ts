// The Espruino 2v29 adapter: everything the firmware needs from the board, in Espruino's API. The
// runtime-free core (mqtt.ts, tables.ts, battery.ts, codec.ts, retry.ts) reaches the board only
// through this module or src/platform/kaluma.ts; build.mjs bundles the one `runtime` names.
import { Retry, retryLater } from '../retry'

const S = __TABLECALL__
// (a const enum: esbuild writes the number in place, where a const would be a variable kept in memory)
const enum W { WATCHDOG_S = 30 }

// Espruino's console.log itself (it needs no `this`): no function of ours kept for it.
export const log: (line: string) => void = console.log

/** The chip's serial number, as hex digits. */
export const serialNumber = () => String(getSerial())

// The start count, and what the core keeps over a restart: its stop handler saves every time, so a
// saved text at boot also says the last run stopped cleanly.
const BOOTS = 'tablecall.boot'
const SAVED = 'tablecall.saved'

const errorFlags = (flags: string[]) => flags.length && log('main: error flags ' + flags.join(', '))

// At boot, as top-level code (a function would keep its source text in memory for good): this module
// runs before the core's. The watchdog: not kicked automatically; only a running event loop kicks it, so a hang reboots the board.
try {
  E.enableWatchdog(W.WATCHDOG_S, false)
  setInterval(() => E.kickWatchdog(), W.WATCHDOG_S * 1000 / 3)
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

// Table buttons: each pin is wired to 3V3 through its button with a 10 kOhm pull-down, so a press is a
// rising edge. Espruino's debounce waits until the level is stable, so a bouncing contact or a held
// button is one press.
export function watchButtons (pins: string[], debounceMs: number, onPress: (index: number) => void): void {
  pins.forEach((pin, index) => {
    // The internal pull-down backs up the external resistor if it is missing or loose.
    pinMode(pin, 'input_pulldown')
    setWatch(() => onPress(index), pin, { repeat: true, edge: 'rising', debounce: debounceMs })
  })
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
  // the CA (DER bytes, src/main.ts): Espruino 2v29 parses it but does not verify the server
  return (S.tls ? require('tls') : require('net')).connect({ host: S.host, port: S.port, ca: S.ca || undefined }, onOpen)
}

// WiFi at boot, as top-level code: power save and the clock. Boards whose Espruino has no Wifi module
// (Espruino's Linux build, or a board with a wired or built-in network) use their network as it is.
// Modem sleep keeps the link but wakes the radio only for the access point's DTIM beacons: presses
// leave at once, messages to the device wait for the next beacon. See docs/power.md.
const powersave = __TABLECALL__.powersave
let wifi: WifiModule | undefined
try {
  wifi = require('Wifi')
} catch (e) {
  log('wifi: no Wifi module on this board (' + e + '); using its network as it is')
}
if (wifi) {
  try {
    // With Bluetooth on (Espruino's ESP32 default) ESP-IDF needs modem sleep: turning it off is
    // refused or aborts, which would reboot the board at every start.
    if (powersave === 'none' && typeof ESP32 !== 'undefined' && ESP32.getState!().BLE) throw new Error('Bluetooth is on')
    wifi.setConfig!({ powersave })
  } catch (e) {
    // No setConfig (only ESP32 and ESP8266 have it), or a name the build does not know: Espruino on
    // ESP-IDF 4 (ESP32-C3, -S3) takes only "none", "min" and "max". The board keeps its own setting.
    log('wifi: power save "' + powersave + '" not applied (' + e + '); see docs/power.md')
  }
  // The clock, for the press time in table states (ESP32 Espruino has SNTP; others stay unset).
  if (wifi.setSNTP) wifi.setSNTP('pool.ntp.org', 0)
  else log('wifi: no SNTP, so no press times')
}

/** Joins the WiFi network and rejoins it when the link drops (without a Wifi module: up at once). */
export function startWifi (ssid: string, password: string, onUp: () => void, onDown: () => void): void {
  if (!wifi) {
    onUp()
    return
  }
  const w = wifi
  let up = false
  const rejoin: Retry = { w: 'wifi: joining', a: () => join(), n: 0 }
  const join = () => {
    w.connect(ssid, { password }, err => {
      if (err) {
        log('wifi: cannot join "' + ssid + '": ' + err)
        retryLater(rejoin)
        return
      }
      up = true
      rejoin.n = 0
      log('wifi: joined "' + ssid + '"')
      onUp()
    })
  }
  w.on('disconnected', details => {
    if (up) {
      up = false
      log('wifi: link lost' + (details && details.reason !== undefined ? ' (' + details.reason + ')' : ''))
      onDown()
    }
    retryLater(rejoin)
  })
  join()
}
