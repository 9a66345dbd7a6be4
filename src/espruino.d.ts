// What the firmware uses of Espruino's API beyond @types/espruino (which lacks these), and the
// settings build.mjs inlines. Types only: nothing here reaches the device.

declare const console: { log(...text: unknown[]): void }

declare namespace E {
  function on (event: 'init' | 'kill', callback: () => void): void
  function on (event: 'errorFlag', callback: (flags: string[]) => void): void
  function enableWatchdog (timeout: number, isAuto?: boolean): void
}

// The broker connection as the core sees it: Espruino's socket, and what src/platform/kaluma.ts makes of Kaluma's.
interface BrokerSocket {
  write(data: string): void
  end(): void
  on(event: 'data', callback: (data: string) => void): void
  on(event: 'close' | 'end', callback: () => void): void
  on(event: 'error', callback: (err: { code?: number, message?: string }) => void): void
}

interface WifiModule {
  connect(ssid: string, options: { password?: string }, callback: (err: string | null) => void): void
  getIP(callback: (err: unknown, info: { ip: string }) => void): void
  /** ESP32 only: the clock from an SNTP server (tz offset in hours). */
  setSNTP?(server: string, tzOffset: number): void
  on(event: 'disconnected', callback: (details: { reason?: string | number }) => void): void
  /** ESP32 (and ESP8266) only. */
  setConfig?(settings: { powersave: 'none' | 'ps-poll' }): void
}

/** Only on ESP32 builds of Espruino. */
declare const ESP32: { setAtten?(pin: string, atten: number): void, getState?(): { BLE: boolean } }

interface StorageModule {
  read(name: string): string | undefined
  write(name: string, data: string): boolean
  erase(name: string): void
}

declare function require (name: 'net' | 'tls'): { connect(options: { host: string, port: number, ca?: string }, callback: () => void): BrokerSocket }
declare function require (name: 'Wifi'): WifiModule
declare function require (name: 'Storage'): StorageModule

/**
 * Inlined by build.mjs from the validated config and the packets mqtt-packet generated. The settings
 * build.mjs lists IN_PLACE (strings, numbers, booleans) are written where the code reads them; the
 * others are kept in one object (src/settings.ts).
 */
declare const __TABLECALL__: {
  /** '' = derive the id from getSerial() */
  id: string
  /** the 8 bytes that stand for the id in the packets below */
  idMarker: string
  ssid: string
  pass: string
  host: string
  port: number
  tls: boolean
  /** base64 of the CA certificate's DER bytes, '' for none */
  ca: string
  keepalive: number
  qos: 0 | 1
  /** the calls topic (for the log), with its {id} */
  topic: string
  /** the buttons' pins, separated by spaces */
  pins: string
  tables: number[]
  debounceMs: number
  /**
   * The packets (connect, online, subscribe, call and the battery's) hold 8 marker bytes where the
   * device id goes; src/id.ts withId puts it there when a packet is sent.
   */
  connect: string
  online: string
  /**
   * A press's PUBLISH after its fixed header and before its payload: the calls topic with its 2-byte
   * length and, for QoS 1, the packet id's two zero bytes (src/tables.ts press).
   */
  call: string
  /** The press message (UTF-8 bytes) with {n} where its table number goes. */
  message: string
  ping: string
  powersave: 'none' | 'ps-poll'
  /** null without a `battery` setting; build.mjs also defines it on its own, so esbuild drops the battery code then. */
  battery: null | {
    pin: string
    /** Cell volts at a full-scale reading: 3.3 x divider x scale. */
    volts: number
    /** The retained QoS 1 PUBLISH made for a 4-byte payload ("0.00"), without it; with the id's marker like `online`. */
    packet: string
    idAt: number
  }
  /** Per button its state topic, then its answer topic (src/tables.ts reads the topics from it). */
  subscribe: string
  puback: string
  /** Per button: its light's pin, or ''; empty when no button has a light. */
  leds: string[]
}

// Espruino accepts a pin's name ("D16") wherever it takes a pin.
declare function pinMode (pin: string, mode: 'input_pulldown' | 'input'): void
declare function analogRead (pin: string): number
declare function digitalWrite (pin: string, value: number): void
declare function setWatch (f: (e: { pin: unknown }) => void, pin: string, options: { repeat: boolean, edge: 'rising', debounce: number }): number

// Espruino's timers take and return plain numbers.
declare function setTimeout (callback: () => void, ms: number): number
declare function setInterval (callback: () => void, ms: number): number
declare function clearTimeout (id: number): void
declare function atob (base64: string): string
