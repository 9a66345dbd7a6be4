// The cell voltage, read through a resistor divider on an ADC pin and reported when it matters: at
// every connect, then at a check every 10 minutes when it moved by 0.02 V or more, and at least hourly.

const SAMPLES = 8
const CHECK_MS = 600000
// Checks between reports when the voltage holds still: 6 x 10 minutes = hourly.
const HOURLY = 6
// Centivolts: the payload has two decimals.
const STEP = 2
// ESP32.setAtten takes the range in mV; 3600 is 11 dB, so a full cell's 2.1 V behind a 2:1 divider fits.
const ATTEN_MV = 3600

export interface Battery {
  /** The broker connection is (again) up: report now. */
  connected(): void
}

/**
 * `volts` is the cell voltage at a full-scale reading (3.3 x divider x scale); `publish` gets the
 * 4-byte payload, e.g. "3.87", and keeps it until the broker has it (a newer one replaces it).
 */
export function startBattery (pin: string, volts: number, publish: (payload: string) => void, log: (line: string) => void): Battery {
  // Only ESP32 builds have it; 2v29 starts every ADC1 channel at 11 dB already, this keeps it so.
  if (typeof ESP32 !== 'undefined' && ESP32.setAtten) ESP32.setAtten(pin, ATTEN_MV)
  let last = -1
  let checks = 0
  let timer: number | undefined
  let warned = false

  const report = (always: boolean) => {
    let sum = 0
    for (let i = 0; i < SAMPLES; i++) sum += analogRead(pin)
    const cv = Math.min(999, Math.round(sum / SAMPLES * volts * 100))
    // NaN: the pin has no ADC (ESP32 answers NaN rather than throwing).
    if (!(cv >= 0)) {
      if (!warned) log('battery: no reading on ' + pin + ' (fix: an ADC pin, see docs/power.md)')
      warned = true
      return
    }
    checks++
    if (!always && Math.abs(cv - last) < STEP && checks < HOURLY) return
    const payload = (cv / 100).toFixed(2)
    publish(payload)
    last = cv
    checks = 0
    log('battery: ' + payload + ' V')
  }

  return {
    connected: () => {
      // Checks count from the report at connect, so the hourly one is an hour after it.
      if (timer !== undefined) clearInterval(timer)
      timer = setInterval(() => report(false), CHECK_MS)
      report(true)
    }
  }
}
