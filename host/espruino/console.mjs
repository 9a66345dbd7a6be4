// console.log/print output as Espruino writes it (src/jswrap_json.c style):
// strings raw at top level, other values as Espruino-flavoured JSON —
// `{ "a": 1 }`, `[ 1, 2 ]`, `{  }`, undefined kept. Espruino also breaks long
// or nested values over several lines; here everything stays on one line so a
// log line is one call.

function format (value, seen = new Set()) {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value !== 'object' && typeof value !== 'function') return String(value)
  if (typeof value === 'function') return String(value)
  if (seen.has(value)) return '...'
  seen.add(value)
  const tag = Object.prototype.toString.call(value)
  let out
  if (tag === '[object Error]') out = `${value.name}: ${value.message}`
  else if (Array.isArray(value)) out = `[ ${value.map((v) => format(v, seen)).join(', ')} ]`
  else if (ArrayBuffer.isView(value)) out = `new ${value.constructor.name}([${Array.prototype.join.call(value, ', ')}])`
  else if (typeof value.valueOf === 'function' && typeof value.valueOf() !== 'object') out = String(value)
  else out = `{ ${Object.keys(value).map((k) => `${JSON.stringify(k)}: ${format(value[k], seen)}`).join(', ')} }`
  seen.delete(value)
  return out
}

export function formatLogLine (args) {
  return args.map((a) => (typeof a === 'string' ? a : format(a))).join(' ')
}

/** A device's log line: kept, emitted as 'log', and handed to the optional `log` option. */
export function recordLog (device, log, line) {
  device.logs.push(line)
  device.emit('log', line)
  log?.(line)
}
