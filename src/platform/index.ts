// For the type checker only: build.mjs resolves './platform' to the adapter `runtime` names
// (src/platform/espruino.ts or src/platform/kaluma.ts), and both must offer the same interface.
import type * as Espruino from './espruino'
import type * as Kaluma from './kaluma'

export * from './espruino'

/** What the core asks of a board. */
export interface Platform {
  log (line: string): void
  serialNumber (): string
  /**
   * This start's number (counted in flash, one write per boot). At boot the adapter's top-level code
   * also starts the watchdog and logs how the last run ended.
   */
  boots: number
  onStop (fn: () => void): void
  /** What `save` kept in flash, '' if nothing. */
  loadSaved (): string
  /** Keeps `text` in flash over a restart; '' deletes it. */
  save (text: string): void
  /** `fn(pin)` at each press on `pin` (src/buttons.ts says what a press is); one `fn` may serve every pin. */
  watchPress (pin: string, fn: (pin: string) => void): void
  writePin (pin: string, level: number): void
  readAdc (pin: string): number
  prepareAdc (pin: string): void
  connectBroker (onOpen: () => void): BrokerSocket
  /**
   * Joins the WiFi network once, in the shape of Espruino's Wifi.connect: `done(err)`, err falsy when
   * joined. Undefined on a board whose network needs no joining. Power save and the clock are set at
   * boot (`wifi.powersave`).
   */
  joinWifi: ((ssid: string, options: { password: string }, done: (err: unknown) => void) => void) | undefined
  /** `fn(why)` when the link is lost (on Espruino also when a join fails); why: ' (the reason)' or ''. */
  onLinkLost (fn: (why: string) => void): void
}

// Fails to type-check when an adapter misses a function or gets one wrong.
type Meets<T extends Platform> = T
export type Adapters = [Meets<typeof Espruino>, Meets<typeof Kaluma>]
