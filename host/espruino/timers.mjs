// Time for one device: a scheduler shared by all its boots (fake clock or real
// Node timers), and per boot Espruino's timer API (src/jswrap_interactive.c):
// numeric ids (last id + 1, starting at 1 when none are pending, as
// jsvArrayAddToEnd does), clearTimeout/clearInterval share one table, calling
// them with no argument clears all, with `undefined` throws.
import FakeTimers from '@sinonjs/fake-timers'

// Real time, with one queue: due callbacks run strictly in deadline order, one per macrotask, so
// promise continuations (a simulated finger releasing a button) run between them as on a clock.
// Node's own timers run every overdue timer of one duration before those of another, which under
// load would let a button's hold end before an earlier-due debounce timer fires.
function realTimeQueue () {
  const queue = [] // { at, fn }, sorted by at, then by insertion
  let timer = null
  const arm = () => {
    clearTimeout(timer)
    timer = queue.length ? setTimeout(fire, Math.max(0, queue[0].at - Date.now())) : null
  }
  const fire = () => {
    if (queue.length && queue[0].at <= Date.now()) queue.shift().fn()
    // More already due: the next macrotask, without Node's 1 ms minimum; promise jobs run in between.
    // (A fire() that finds nothing due only re-arms, so a stray extra one is harmless.)
    if (queue.length && queue[0].at <= Date.now()) {
      clearTimeout(timer)
      setImmediate(fire)
    } else arm()
  }
  return {
    setTimeout (fn, ms) {
      const entry = { at: Date.now() + ms, fn }
      let i = queue.length
      while (i > 0 && queue[i - 1].at > entry.at) i--
      queue.splice(i, 0, entry)
      if (i === 0) arm()
      return entry
    },
    clearTimeout (entry) {
      const i = queue.indexOf(entry)
      if (i < 0) return
      queue.splice(i, 1)
      if (i === 0) arm()
    }
  }
}

export function createScheduler ({ fakeTimers }) {
  const clock = fakeTimers ? FakeTimers.createClock(0) : undefined
  const api = clock ?? realTimeQueue()
  const pending = new Set()
  const scheduler = {
    clock,
    now: () => (clock ? clock.now : Date.now()),
    /** Host-side one-shot timer on the device's clock; cleared by clearAll(). */
    after (ms, fn) {
      const handle = api.setTimeout(() => {
        pending.delete(handle)
        fn()
      }, ms)
      pending.add(handle)
      return handle
    },
    cancel (handle) {
      pending.delete(handle)
      api.clearTimeout(handle)
    },
    /** Let `ms` of device time pass (advances the fake clock, or waits for real, in the same queue). */
    sleep (ms) {
      return clock ? clock.tickAsync(ms) : new Promise((resolve) => scheduler.after(ms, resolve))
    },
    clearAll () {
      for (const handle of pending) api.clearTimeout(handle)
      pending.clear()
    }
  }
  return scheduler
}

/** setTimeout & co for one boot. (Debounce timers of watches are kept apart; on the device they share the id space.) */
export function createDeviceTimers ({ realm, loop, scheduler }) {
  const timers = new Map() // id -> { handle, fn, args, interval, internal }
  const nextId = () => (timers.size ? Math.max(...timers.keys()) + 1 : 1)

  function arm (id, ms) {
    const t = timers.get(id)
    t.handle = scheduler.after(ms, () => {
      if (!t.interval) timers.delete(id)
      else arm(id, t.interval)
      loop.invoke(() => t.fn(...t.args))
    })
  }
  function add (fn, ms, args, repeat) {
    if (typeof fn === 'string') {
      const code = fn
      fn = () => realm.run(code, 'timer')
    }
    if (typeof fn !== 'function') throw realm.error('Error', 'Function or String not supplied!')
    const delay = Number.isNaN(+ms) || +ms < 0 ? 0 : +ms
    const id = nextId()
    timers.set(id, { fn, args, interval: repeat ? Math.max(delay, 1) : 0 })
    arm(id, delay)
    return id
  }
  function clear (name, args) {
    if (args.length === 0) {
      for (const id of [...timers.keys()]) remove(id)
      return
    }
    if (args[0] === undefined) {
      throw realm.error('Error', `clear${name}(undefined) not allowed. Use clear${name}() instead`)
    }
    remove(Number(args[0]))
  }
  function remove (id) {
    const t = timers.get(id)
    if (!t) return
    scheduler.cancel(t.handle)
    timers.delete(id)
  }

  return {
    globals: {
      setTimeout: (fn, ms, ...args) => add(fn, ms, args, false),
      setInterval: (fn, ms, ...args) => add(fn, ms, args, true),
      clearTimeout: (...args) => clear('Timeout', args),
      clearInterval: (...args) => clear('Interval', args),
      changeInterval (id, ms) {
        const t = timers.get(Number(id))
        if (!t) return
        scheduler.cancel(t.handle)
        t.interval = Math.max(+ms || 0, 1)
        arm(Number(id), t.interval)
      },
      // Seconds as a float, from the same clock as the timers.
      getTime: () => scheduler.now() / 1000
    },
    get count () {
      return timers.size
    },
    clearAll () {
      for (const id of [...timers.keys()]) remove(id)
    }
  }
}

/** A Date constructor for the device whose "now" is `now()` (the scheduler's clock plus the wall clock offset). */
export function installDate (realm, now) {
  const NativeDate = realm.global.Date
  const make = realm.run(`(function (NativeDate, now) {
    function Date (a, b, c, d, e, f, g) {
      if (!(this instanceof Date)) return new NativeDate(now()).toString()
      switch (arguments.length) {
        case 0: return new NativeDate(now())
        case 1: return new NativeDate(a)
        default: return new NativeDate(a, b, c === undefined ? 1 : c, d || 0, e || 0, f || 0, g || 0)
      }
    }
    Date.prototype = NativeDate.prototype
    Date.prototype.constructor = Date
    Date.now = function () { return now() }
    Date.parse = NativeDate.parse
    return Date
  })`, 'date')
  realm.global.Date = make(NativeDate, realm.fn(now))
}
