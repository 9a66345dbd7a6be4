// Kaluma 1.2.1's single loop (src/io.c km_io_run): timers, watch polling and socket callbacks all run
// from it, one at a time. A blocking native call (WiFi join, DNS, delay()) stalls it: time passes, and
// whatever came due meanwhile runs when the call returns, in order. Modelled by `stall(ms)`: the device
// sees its clock jump, and every callback due before the end is held until then.

export function createKalumaLoop ({ scheduler, onError }) {
  let alive = true
  let stalledUntil = -Infinity
  const held = []
  const release = () => { for (const fn of held.splice(0)) loop.run(fn) }
  const loop = {
    /** The device's view of the time: during a stall it is already the stall's end. */
    now: () => Math.max(scheduler.now(), stalledUntil),
    /** A native call blocks for `ms`; called from device code, which continues at the later time. */
    stall (ms) {
      stalledUntil = loop.now() + ms
    },
    get stalled () {
      return scheduler.now() < stalledUntil
    },
    /** Calls into JavaScript (timers, watches, socket events): what the CPU spends on the program. */
    jsCalls: 0,
    call (fn) {
      loop.jsCalls++
      return loop.run(fn)
    },
    /** One loop turn's callback; what escapes it is printed. Returns whether it threw. */
    run (fn) {
      if (!alive) return false
      if (loop.stalled) {
        held.push(fn)
        if (held.length === 1) scheduler.after(stalledUntil - scheduler.now(), release)
        return false
      }
      try {
        fn()
        return false
      } catch (err) {
        onError(err)
        return true
      }
    },
    /** A host-side timer on the device's clock: `ms` after the device's now. */
    after (ms, fn) {
      return scheduler.after(Math.max(0, loop.now() + ms - scheduler.now()), fn)
    },
    cancel (handle) {
      scheduler.cancel(handle)
    },
    stop () {
      alive = false
      held.length = 0
    }
  }
  return loop
}

/**
 * setTimeout/setInterval/clearTimeout/clearInterval as src/global.c has them: a number delay is required
 * (set_timeout_fn: TypeError '"delay" argument must be a number'), the callback gets no arguments
 * (set_timer_cb), clearTimeout needs a number (clear_timer_fn: JERRYXX_CHECK_ARG_NUMBER), a callback
 * that throws is printed and its timer cancelled for good, intervals included. Intervals advance by
 * exactly their period (src/io.c km_io_timer_run), so after a stall they catch up in a burst.
 */
export function createKalumaTimers ({ realm, loop, nextId }) {
  const timers = new Map() // id -> { handle }
  const typeError = text => realm.error('TypeError', text)
  function add (fn, delay, repeat) {
    if (typeof fn !== 'function') throw typeError('"callback" argument must be a function')
    if (typeof delay !== 'number') throw typeError('"delay" argument must be a number')
    const id = nextId()
    const period = Math.max(0, delay)
    let due = loop.now() + period
    const arm = () => {
      timers.set(id, { handle: loop.after(due - loop.now(), fire) })
    }
    const fire = () => {
      if (!timers.has(id)) return
      if (!repeat) timers.delete(id)
      else {
        due += Math.max(period, 1)
        arm()
      }
      if (loop.call(() => fn())) remove(id)
    }
    arm()
    return id
  }
  function remove (id) {
    const t = timers.get(id)
    if (!t) return
    loop.cancel(t.handle)
    timers.delete(id)
  }
  function clear (id) {
    if (typeof id !== 'number') throw typeError('"id" argument must be a number')
    remove(id)
  }
  return {
    globals: {
      setTimeout: (fn, delay) => add(fn, delay, false),
      setInterval: (fn, delay) => add(fn, delay, true),
      clearTimeout: clear,
      clearInterval: clear
    },
    clearAll () {
      for (const id of [...timers.keys()]) remove(id)
    }
  }
}
