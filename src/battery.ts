// The cell voltage, read through a resistor divider on an ADC pin and reported when it matters: at
// every connect, then at a check every 10 minutes when it moved by 0.02 V or more, and at least hourly.
// Code and state at module level, as in mqtt.ts: Espruino keeps a function's source text as long as
// the function exists, so closures from a factory would hold the code twice.
import { publish } from './mqtt'
import { readAdc, log } from './platform'
import { withId } from './id'

// Only referenced when the battery setting exists (src/main.ts): otherwise esbuild drops this module.
const B = __TABLECALL__.battery!
// (a const enum: esbuild writes its numbers in place, where a top-level const would be a variable
// kept in memory for good)
const enum N {
  SAMPLES = 8,
  CHECK_MS = 600000,
  // Checks between reports when the voltage holds still: 6 x 10 minutes = hourly.
  HOURLY = 6,
  // Centivolts: the payload has two decimals.
  STEP = 2,
  // The voltage's key in the outgoing store (tables use their button index, at most 15).
  KEY = 16
}

let last = -1
let checks = 0
let timer: number | undefined
let warned = false

// A report when the voltage moved or an hour has passed (checks); batteryConnected makes it due.
function report () {
  let sum = 0
  for (let i = 0; i < N.SAMPLES; i++) sum += readAdc(B.pin)
  const cv = Math.min(999, Math.round(sum / N.SAMPLES * B.volts * 100))
  // NaN: the pin has no ADC (ESP32 answers NaN rather than throwing).
  if (!(cv >= 0)) {
    if (!warned) log('battery: no reading on ' + B.pin + ' (fix: an ADC pin, see docs/power.md)')
    warned = true
    return
  }
  checks++
  if (Math.abs(cv - last) < N.STEP && checks < N.HOURLY) return
  const payload = (cv / 100).toFixed(2)
  // A latest-value message: at most one voltage waits in the store, the newest.
  publish({ p: withId(B.packet) + payload, at: B.idAt, k: N.KEY })
  last = cv
  checks = 0
  log('battery: ' + payload + ' V')
}

/** The broker connection is (again) up: report now, and count the checks from here. */
export function batteryConnected () {
  if (timer !== undefined) clearInterval(timer)
  timer = setInterval(report, N.CHECK_MS)
  checks = N.HOURLY
  report()
}
