// Maps a position in esbuild's output back to the TypeScript source, from a v3 source map,
// so that build errors name the line a developer wrote.
import { relative } from 'node:path'

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

function decodeVlq (text) {
  const values = []
  let value = 0
  let shift = 0
  for (const ch of text) {
    const digit = B64.indexOf(ch)
    value += (digit & 31) << shift
    if (digit & 32) shift += 5
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1)
      value = 0
      shift = 0
    }
  }
  return values
}

/** @returns {(line: number, column: number) => string} line 1-based, column 0-based */
export function sourceLocator (mapJson, cwd = process.cwd()) {
  const map = typeof mapJson === 'string' ? JSON.parse(mapJson) : mapJson
  const lines = []
  const state = [0, 0, 0] // source, original line, original column (deltas accumulate across lines)
  for (const line of map.mappings.split(';')) {
    let column = 0
    const segments = []
    for (const seg of line ? line.split(',') : []) {
      const v = decodeVlq(seg)
      column += v[0]
      if (v.length < 4) continue
      state[0] += v[1]
      state[1] += v[2]
      state[2] += v[3]
      segments.push([column, state[0], state[1], state[2]])
    }
    lines.push(segments)
  }
  return (line, column) => {
    const segments = lines[line - 1] || []
    let best = null
    for (const s of segments) if (s[0] <= column) best = s
    if (!best) return `bundle:${line}:${column + 1}`
    return `${relative(cwd, map.sources[best[1]].replace(/^file:\/\//, ''))}:${best[2] + 1}:${best[3] + 1}`
  }
}
