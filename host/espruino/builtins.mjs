// Which standard built-ins an Espruino 2v29 build (not SAVE_ON_FLASH, like the
// RP2040 Pico) has. Derived from the /*JSON{...}*/ wrapper declarations in
// espruino/Espruino src/jswrap_*.c. Everything else V8 puts in a fresh context
// is deleted, so firmware that runs here also runs on the device.

// Espruino has these (ChangeLog: Array.includes 2v05, padStart/padEnd 2v08,
// Object.fromEntries 2v17) but the project brief bans them; removing them is
// stricter than the device, never looser.
export const BANNED_BY_PROJECT = {
  Array: { proto: ['includes'] },
  String: { proto: ['padStart', 'padEnd'] },
  Object: { static: ['fromEntries'] }
}

const TYPED_ARRAYS = ['Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array']

// Standard globals kept from the V8 context (Espruino's own globals are added by the runtime).
export const STANDARD_GLOBALS = ['Object', 'Function', 'Array', 'String', 'Number', 'Boolean', 'Math',
  'JSON', 'Date', 'RegExp', 'Promise', 'ArrayBuffer', 'DataView', ...TYPED_ARRAYS,
  'Error', 'TypeError', 'SyntaxError', 'ReferenceError',
  'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'eval', 'NaN', 'Infinity', 'undefined',
  'encodeURIComponent', 'decodeURIComponent', 'globalThis']

// Kept on every built-in: structural members, plus toString/valueOf which
// Espruino provides once on Object.prototype (dispatching on type) but V8
// needs per type for the same results (e.g. (255).toString(16)).
const ALWAYS = ['constructor', 'prototype', 'length', 'name', 'toString', 'valueOf', '__proto__']

const DATAVIEW_METHODS = ['Float32', 'Float64', 'Int8', 'Int16', 'Int32', 'Uint8', 'Uint16', 'Uint32']
  .flatMap((t) => [`get${t}`, `set${t}`])

export const MEMBERS = {
  Object: {
    static: ['keys', 'getOwnPropertyNames', 'values', 'entries', 'fromEntries', 'create',
      'getOwnPropertyDescriptor', 'getOwnPropertyDescriptors', 'defineProperty', 'defineProperties',
      'getPrototypeOf', 'setPrototypeOf', 'assign'],
    proto: ['hasOwnProperty']
  },
  Function: { static: [], proto: ['call', 'apply', 'bind'] },
  Array: {
    static: ['isArray'],
    proto: ['indexOf', 'includes', 'join', 'push', 'pop', 'map', 'forEach', 'filter', 'find', 'findIndex',
      'some', 'every', 'reduce', 'splice', 'shift', 'unshift', 'slice', 'sort', 'concat', 'fill', 'reverse']
  },
  String: {
    static: ['fromCharCode'],
    proto: ['charAt', 'charCodeAt', 'indexOf', 'lastIndexOf', 'match', 'replace', 'replaceAll', 'substring',
      'substr', 'slice', 'split', 'toLowerCase', 'toUpperCase', 'trim', 'concat', 'startsWith', 'endsWith',
      'includes', 'repeat', 'padStart', 'padEnd']
  },
  Number: { static: ['NaN', 'MAX_VALUE', 'MIN_VALUE', 'NEGATIVE_INFINITY', 'POSITIVE_INFINITY'], proto: ['toFixed'] },
  Boolean: { static: [], proto: [] },
  Math: {
    static: ['E', 'PI', 'LN2', 'LN10', 'LOG2E', 'LOG10E', 'SQRT2', 'SQRT1_2', 'abs', 'acos', 'asin', 'atan',
      'atan2', 'cos', 'pow', 'random', 'round', 'sin', 'tan', 'sqrt', 'ceil', 'floor', 'exp', 'log', 'min',
      'max', 'sign']
  },
  JSON: { static: ['stringify', 'parse'] },
  Date: {
    static: ['now', 'parse'],
    proto: ['getTimezoneOffset', 'getTime', 'setTime', 'getHours', 'getMinutes', 'getSeconds',
      'getMilliseconds', 'getDay', 'getDate', 'getMonth', 'getFullYear', 'getUTCHours', 'getUTCMinutes',
      'getUTCSeconds', 'getUTCMilliseconds', 'getUTCDay', 'getUTCDate', 'getUTCMonth', 'getUTCFullYear',
      'setHours', 'setMinutes', 'setSeconds', 'setMilliseconds', 'setDate', 'setMonth', 'setFullYear',
      'toUTCString', 'toISOString', 'toJSON']
  },
  Promise: { static: ['all', 'resolve', 'reject'], proto: ['then', 'catch'] },
  // The flag accessors stay: V8's String.replace/split/match read them, and
  // Espruino RegExp objects expose source/flags too.
  RegExp: {
    static: [],
    proto: ['exec', 'test', 'source', 'flags', 'global', 'ignoreCase', 'multiline', 'sticky', 'unicode',
      'dotAll', 'hasIndices', 'unicodeSets']
  },
  ArrayBuffer: { static: [], proto: ['byteLength'] },
  DataView: { static: [], proto: ['buffer', 'byteLength', 'byteOffset', ...DATAVIEW_METHODS] },
  // Espruino's ArrayBufferView == V8's %TypedArray%.
  TypedArray: {
    static: [],
    proto: ['buffer', 'byteLength', 'byteOffset', 'set', 'map', 'subarray', 'indexOf', 'includes', 'join',
      'sort', 'forEach', 'reduce', 'fill', 'filter', 'find', 'findIndex', 'reverse', 'slice', 'some', 'every']
  },
  // stackTraceLimit stays so errors keep a .stack (Espruino errors have one too).
  Error: { static: ['stackTraceLimit'], proto: ['message', 'name'] },
  ...Object.fromEntries(['TypeError', 'SyntaxError', 'ReferenceError']
    .map((n) => [n, { static: [], proto: ['message', 'name'] }])),
  ...Object.fromEntries(TYPED_ARRAYS.map((n) => [n, { static: [], proto: [] }]))
}

function prune (target, keep) {
  if (!target) return
  const allowed = new Set([...ALWAYS, ...keep])
  for (const key of Object.getOwnPropertyNames(target)) {
    // Non-configurable constants (Number.EPSILON, MAX_SAFE_INTEGER...) cannot be removed.
    if (!allowed.has(key)) Reflect.deleteProperty(target, key)
  }
}

function without (list, banned = []) {
  return list.filter((n) => !banned.includes(n))
}

/** Delete from the context global `g` everything Espruino 2v29 lacks. */
export function pruneToEspruino (g) {
  const keepGlobals = new Set(STANDARD_GLOBALS)
  const typedArray = Object.getPrototypeOf(g.Uint8Array)
  for (const [name, spec] of Object.entries(MEMBERS)) {
    const ctor = name === 'TypedArray' ? typedArray : g[name]
    const banned = BANNED_BY_PROJECT[name] ?? {}
    prune(ctor, without(spec.static ?? [], banned.static))
    if (spec.proto) prune(ctor.prototype, without(spec.proto, banned.proto))
  }
  for (const key of Object.getOwnPropertyNames(g)) {
    if (!keepGlobals.has(key)) delete g[key]
  }
}
