// Figures from samples: nearest-rank percentiles and a seeded random source, so a run's press
// timetable is the same every time and two runs differ only by the machine.

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile (sorted, p) {
  if (!sorted.length) return undefined
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

const round = (v, digits) => v === undefined ? undefined : Number(v.toFixed(digits))

/** { n, p50, p99, max } of a list of numbers, rounded to `digits` decimals. */
export function summary (values, digits = 1) {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50), digits),
    p99: round(percentile(sorted, 99), digits),
    max: round(sorted[sorted.length - 1], digits)
  }
}

export const percent = (part, whole) => whole ? round(100 * part / whole, 2) : undefined

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seededRandom (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
