// require('events') of Kaluma 1.2.1 (src/modules/events/events.js), as device-realm code: listeners run
// synchronously inside emit(), and emitting 'error' with no listener throws the error.
export const EVENTS_SOURCE = `(function () {
  class EventEmitter {
    constructor () { this._events = {} }
    addListener (type, listener) {
      if (!this._events[type]) this._events[type] = []
      this._events[type].push(listener)
      return this
    }
    on (type, listener) { return this.addListener(type, listener) }
    once (type, listener) {
      const wrapper = (...args) => { this.removeListener(type, wrapper); listener.apply(this, args) }
      return this.addListener(type, wrapper)
    }
    removeListener (type, listener) {
      const list = this._events[type]
      if (list) this._events[type] = list.filter(l => l !== listener)
      return this
    }
    off (type, listener) { return this.removeListener(type, listener) }
    removeAllListeners (type) {
      if (type === undefined) this._events = {}
      else delete this._events[type]
      return this
    }
    listeners (type) { return (this._events[type] || []).slice() }
    listenerCount (type) { return (this._events[type] || []).length }
    emit (type, ...args) {
      const list = this._events[type]
      if (type === 'error' && (!list || list.length === 0)) throw args[0]
      if (!list) return false
      for (const l of list.slice()) l.apply(this, args)
      return true
    }
  }
  return { EventEmitter }
})()`
