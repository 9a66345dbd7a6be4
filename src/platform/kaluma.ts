// The Kaluma 1.2.1 adapter (Raspberry Pi Pico W): the same functions as src/platform/espruino.ts over
// Kaluma's API, designed around what Kaluma lacks (see host/kaluma/ for each behaviour and its
// source): one poller for all buttons (only the last setWatch stays active), WiFi polled (no link
// event) and joined with enforce (a blocking call), socket data turned from Uint8Array into the binary
// strings the core speaks, and no watchdog (startWatchdog says why). A dead connection gives no event
// on Kaluma: the core's own answer timeouts (CONNACK, SUBACK, PUBACK, ping) find it.
import { retry } from '../retry'

// Kaluma's globals and modules as used here (module-local, so Espruino's types stay apart).
declare const console: { log (text: string): void }
declare const board: { uid: string }
declare const storage: { getItem (key: string): string | null, setItem (key: string, value: string): void, removeItem (key: string): void }
declare const INPUT_PULLDOWN: number
declare function pinMode (pin: number, mode: number): void
declare function digitalRead (pin: number): number
declare function digitalWrite (pin: number, value: number): void
declare function analogRead (pin: number): number
interface KalumaSocket {
  on (event: string, fn: (arg: never) => void): void
  connect (options: { host: string, port: number }, onConnect: () => void): void
  write (data: string): void
  destroy (): void
}
interface KalumaWifi {
  connect (options: { ssid: string, password: string, enforce: boolean }, cb: (err: unknown) => void): void
  getConnection (cb: (err: unknown) => void): void
}
declare function require (name: 'net'): { Socket: new () => KalumaSocket }
declare function require (name: 'wifi'): { WiFi: new () => KalumaWifi }

const S = __TABLECALL__
const BUTTON_POLL_MS = 10
const LINK_POLL_MS = 5000
// String.fromCharCode.apply takes this many bytes at a time safely
const SLICE = 512

export const log = (line: string) => console.log(line)

// Espruino's pin names ("D16") are GPIO numbers on Kaluma.
const gpio = (pin: string) => Number(pin.slice(1))

// The flash chip's unique id (pico_get_unique_board_id_string), in the case Espruino's getSerial() has.
export const serialNumber = () => board.uid.toLowerCase()

// Kaluma has no event when the program stops, so only the start is counted (one flash write per boot).
export function reportBoot (): number {
  try {
    const n = Number(storage.getItem('tablecall.boot') || 0) + 1
    storage.setItem('tablecall.boot', String(n))
    log('main: start ' + n)
    return n
  } catch (e) {
    log('main: cannot count the start (' + e + ')')
    return 0
  }
}

// A storage item holds at most 253 bytes with its key: the saved text goes in parts.
const SAVED_PARTS = 4
const PART = 230
const part = (k: number) => 'tablecall.saved' + k

export function loadSaved () {
  let text = ''
  for (let k = 0; k < SAVED_PARTS; k++) text += storage.getItem(part(k)) || ''
  return text
}

export function save (text: string) {
  for (let k = 0; k < SAVED_PARTS; k++) {
    const piece = text.substr(k * PART, PART)
    if (piece) storage.setItem(part(k), piece)
    else storage.removeItem(part(k))
  }
}

// No watchdog on Kaluma: a WiFi join that fails blocks the board for 30 s, longer than the 8.4 s the
// RP2040's watchdog can wait (and Kaluma cannot stop it), so it would restart the board during every
// failed rejoin and lose the calls waiting in memory (firmware.test.mjs, "wrong WiFi password...").
export function startWatchdog () {
  log('main: no watchdog on Kaluma (a failed WiFi join blocks 30 s, past its 8.4 s limit): a hang needs a power cycle')
}

// Kaluma has no event when the program stops.
export function onStop (_fn: () => void) {}

// One poller for every button, with the debounce here: a level held debounceMs counts, a rising one is a press.
export function watchButtons (pins: string[], debounceMs: number, onPress: (index: number) => void): void {
  const n = pins.map(gpio)
  const level = n.map(() => 0)
  const since = n.map(() => 0)
  const stable = n.map(() => 0)
  n.forEach(p => pinMode(p, INPUT_PULLDOWN))
  setInterval(() => {
    const now = Date.now()
    for (let i = 0; i < n.length; i++) {
      const v = digitalRead(n[i])
      if (v !== level[i]) {
        level[i] = v
        since[i] = now
      } else if (v !== stable[i] && now - since[i] >= debounceMs) {
        stable[i] = v
        // A callback that throws would end this timer for good on Kaluma.
        try {
          if (v) onPress(i)
        } catch (e) {
          log('btn: ' + e)
        }
      }
    }
  }, BUTTON_POLL_MS)
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
  for (let i = 0; i < data.length; i += SLICE) s += String.fromCharCode.apply(null, data.subarray(i, i + SLICE) as unknown as number[])
  return s
}

/** A plain TCP connection (Kaluma has no TLS; the config refuses mqtt.tls). */
export function connectBroker (onOpen: () => void): BrokerSocket {
  const s = new (require('net').Socket)()
  let open = true
  const socket: BrokerSocket = {
    write: (data: string) => s.write(data),
    // destroy() once: a second would close the connection's slot twice
    end: () => {
      if (open) s.destroy()
      open = false
    },
    on: ((event: string, fn: (arg: unknown) => void) => {
      s.on(event, event === 'data' ? (d: Uint8Array) => fn(binary(d)) : fn)
    }) as BrokerSocket['on']
  }
  try {
    s.connect({ host: S.host, port: S.port }, onOpen)
  } catch (e) {
    // The socket keeps its slot (16 in all) until destroyed.
    socket.end()
    throw e
  }
  return socket
}

export function startWifi (ssid: string, password: string, powersave: 'none' | 'ps-poll', log: (line: string) => void, onUp: () => void, onDown: () => void): void {
  const wifi = new (require('wifi').WiFi)()
  log('wifi: power save "' + powersave + '" is the chip\'s own on Kaluma; no SNTP, so no press times')
  let up = false
  const rejoin = retry('wifi: joining', log, () => join())
  // Blocks the board until joined, up to 30 s when it fails; the callback runs before connect() returns.
  // (The same steps as the Espruino adapter's join; shared, they cost its bundle about 100 bytes.)
  const join = () => {
    wifi.connect({ ssid, password, enforce: true }, err => {
      if (err) {
        log('wifi: cannot join "' + ssid + '": ' + err)
        rejoin.later()
        return
      }
      up = true
      rejoin.reset()
      log('wifi: joined "' + ssid + '"')
      onUp()
    })
  }
  // No link-loss event on Kaluma: ask.
  setInterval(() => {
    if (up) {
      wifi.getConnection(err => {
        if (!err || !up) return
        up = false
        log('wifi: link lost')
        onDown()
        rejoin.later()
      })
    }
  }, LINK_POLL_MS)
  join()
}
