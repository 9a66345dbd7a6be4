// Espruino's event loop as seen by JS code: callbacks are queued and run one
// by one; an exception escaping one prints "Uncaught ..." and the loop carries
// on (src/jsinteractive.c jsiCheckErrors). Also Espruino's EventEmitter, which
// lives on Object.prototype (src/jswrap_object.c on/emit/removeListener...).

const MAX_EMIT_ARGS = 4 // jswrap_object_emit

export function createEventLoop ({ onUncaught }) {
  let alive = true
  let uncaughtHandlers = () => []
  const loop = {
    /** Run fn now, reporting (not throwing) what escapes it. */
    invoke (fn) {
      if (!alive) return
      try {
        fn()
      } catch (err) {
        loop.reportUncaught(err)
      }
    },
    /** Run fn from the event queue, like jsiQueueEvents. */
    queue (fn) {
      queueMicrotask(() => loop.invoke(fn))
    },
    reportUncaught (err) {
      // process.on('uncaughtException') swallows the error, as on the device.
      const handlers = uncaughtHandlers()
      if (handlers.length) {
        for (const h of handlers) loop.invoke(() => h(err))
        return
      }
      onUncaught(err)
    },
    setUncaughtHandlers (fn) {
      uncaughtHandlers = fn
    },
    stop () {
      alive = false
    },
    get alive () {
      return alive
    }
  }
  return loop
}

/** Adds on/addListener/prependListener/emit/removeListener/removeAllListeners to the realm's Object.prototype. */
export function installEmitter (realm, loop) {
  const store = new WeakMap() // object -> Map(event -> [fn])
  const listenersOf = (obj, event) => store.get(obj)?.get(String(event)) ?? []
  const add = (obj, event, fn, first) => {
    if (typeof fn !== 'function') throw realm.error('TypeError', 'Expecting a function')
    if (!store.has(obj)) store.set(obj, new Map())
    const events = store.get(obj)
    const list = events.get(String(event)) ?? []
    events.set(String(event), first ? [fn, ...list] : [...list, fn])
  }
  const emitter = {
    on (event, fn) { add(this, event, fn, false) },
    addListener (event, fn) { add(this, event, fn, false) },
    prependListener (event, fn) { add(this, event, fn, true) },
    emit (event, ...args) {
      if (typeof event !== 'string') throw realm.error('TypeError', 'First argument must be String')
      if (args.length > MAX_EMIT_ARGS) throw realm.error('TypeError', `Too many arguments (>${MAX_EMIT_ARGS})`)
      // Espruino queues the listeners rather than calling them synchronously.
      const fns = listenersOf(this, event)
      if (fns.length) loop.queue(() => fns.forEach((fn) => fn.apply(this, args)))
    },
    removeListener (event, fn) {
      const events = store.get(this)
      if (!events) return
      const list = listenersOf(this, event).filter((f) => f !== fn)
      if (list.length) events.set(String(event), list)
      else events.delete(String(event))
    },
    removeAllListeners (event) {
      if (event === undefined) store.delete(this)
      else store.get(this)?.delete(String(event))
    }
  }
  for (const [name, impl] of Object.entries(emitter)) {
    Object.defineProperty(realm.global.Object.prototype, name, {
      value: realm.fn(impl), writable: true, configurable: true, enumerable: false
    })
  }
  return {
    listeners: listenersOf,
    /** Queue every listener of `event` on obj with args (jsiQueueObjectCallbacks). */
    emitQueued (obj, event, args = []) {
      const fns = listenersOf(obj, event)
      if (fns.length) loop.queue(() => fns.forEach((fn) => fn.apply(obj, args)))
    },
    /** Run listeners right now, each guarded (jsiExecuteEventCallbackOn for E 'init'/'kill'). */
    emitNow (obj, event, args = []) {
      for (const fn of listenersOf(obj, event)) loop.invoke(() => fn.apply(obj, args))
    },
    count (obj) {
      let n = 0
      for (const list of store.get(obj)?.values() ?? []) n += list.length
      return n
    }
  }
}
