// Battery of a device: validates the retained voltage and turns it into what the staff need to know.

// Open-circuit voltage (V) -> state of charge (%) of an 18650 cell (Molicel INR18650P28A, pseudo-OCV at
// C/20, room temperature), the breakpoints published by Sunil, Pattipati and Balasingam, "Piecewise Linear
// Approximation of Battery Open-Circuit Voltage Characteristics Using Dynamic Programming", IEEE
// Transactions on Instrumentation and Measurement, 2025; data: github.com/soorajsunil/Piecewise-Battery-OCV.
const CURVE = [
  [2.7027, 0], [3.0068, 2.01], [3.1736, 4.52], [3.3275, 9.05], [3.4287, 14.57],
  [3.5700, 28.14], [3.6972, 45.73], [4.0595, 84.42], [4.1108, 95.48], [4.1881, 100]
]

export const BATTERY_LOW = 3.5 // default of the "battery low" setting (V)
export const BATTERY_CRITICAL = 3.3 // below this the device must be charged now (V)

/** `3.87` -> 3.87; anything but a number 2.50-4.50 with two decimals -> null (strangers can publish). */
export function parseVolts (text) {
  if (!/^\d\.\d\d$/.test(text)) return null
  const volts = Number(text)
  return volts >= 2.5 && volts <= 4.5 ? volts : null
}

/** Percentage (0-100, whole) by linear interpolation on the curve. */
export function percent (volts) {
  if (volts <= CURVE[0][0]) return 0
  for (let i = 1; i < CURVE.length; i++) {
    const [v1, p1] = CURVE[i]
    if (volts <= v1) {
      const [v0, p0] = CURVE[i - 1]
      return Math.round(p0 + (p1 - p0) * (volts - v0) / (v1 - v0))
    }
  }
  return 100
}

/** 'critical' below 3.30 V, 'low' below the setting, else 'ok'. */
export function batteryLevel (volts, low = BATTERY_LOW) {
  if (volts < BATTERY_CRITICAL) return 'critical'
  return volts < low ? 'low' : 'ok'
}
