// The vm context the firmware runs in, and helpers that make every value the
// runtime hands to device code belong to that context (so `x instanceof Error`,
// `Array.isArray`, prototype methods etc. behave as on the device and no Node
// prototype leaks in).
import vm from 'node:vm'
import { pruneToEspruino } from './builtins.mjs'

// Compiled inside the context: wraps a host function so device code sees a
// function of its own realm.
const BRIDGE_SOURCE = `(function (host) {
  return function () { return host(this, Array.prototype.slice.call(arguments)) }
})`

const INTERNAL_ERROR_SOURCE = `(function () {
  function InternalError (message) {
    if (!(this instanceof InternalError)) return new InternalError(message)
    var e = new Error(message)
    this.message = e.message
    Object.defineProperty(this, 'stack', { value: e.stack, enumerable: false, writable: true })
  }
  InternalError.prototype = Object.create(Error.prototype)
  InternalError.prototype.constructor = InternalError
  InternalError.prototype.name = 'InternalError'
  return InternalError
})()`

/** A fresh context cut down by `prune` to one runtime's built-ins (default: Espruino 2v29's). */
export function createRealm ({ name = 'espruino', prune = pruneToEspruino } = {}) {
  const context = vm.createContext({}, { name })
  const g = vm.runInContext('globalThis', context)
  prune(g)
  const bridge = vm.runInContext(BRIDGE_SOURCE, context)
  if (name === 'espruino') g.InternalError = vm.runInContext(INTERNAL_ERROR_SOURCE, context)
  g.global = g // Espruino's and Kaluma's name for the global object

  const realm = {
    context,
    global: g,
    /** A device-realm function running `impl(...args)` with `this` as the first parameter of impl when method. */
    fn (impl) {
      return bridge((self, args) => impl.apply(self, args))
    },
    /** A device-realm object with the given own properties (functions are bridged). */
    object (props = {}, proto = g.Object.prototype) {
      const o = g.Object.create(proto)
      for (const [k, v] of Object.entries(props)) {
        o[k] = typeof v === 'function' && !isDeviceValue(v) ? realm.fn(v) : v
      }
      return o
    },
    /** Deep copy of plain host data (objects, arrays, primitives) into the device realm. */
    data (value) {
      if (value === null || typeof value !== 'object') return value
      if (Array.isArray(value) || value instanceof g.Array) {
        const a = new g.Array()
        for (const v of value) a.push(realm.data(v))
        return a
      }
      const o = g.Object.create(g.Object.prototype)
      for (const [k, v] of Object.entries(value)) o[k] = realm.data(v)
      return o
    },
    /** A device-realm error of the named type ('Error', 'TypeError', 'InternalError'...). */
    error (type, message) {
      return new g[type](message)
    },
    run (code, filename) {
      return vm.runInContext(code, context, { filename })
    }
  }
  function isDeviceValue (v) {
    return v instanceof g.Function
  }
  return realm
}
