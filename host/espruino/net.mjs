// require('net') on real Node sockets with Espruino's Socket semantics
// (libs/network/socketserver.c socketClientConnectionsIdle / clientRequest*,
// libs/network/jswrap_net.c): events 'connect'(socket), 'data'(binary string),
// 'drain', 'error'({code, message}), then always 'end' and 'close'(hadError)
// a remote FIN is not an error; end() closes once the queued data is sent
// write() after end()/close throws "This socket is closed"; no destroy().
import net from 'node:net'

// socketerrors.c. Node error codes mapped as ESP8266's glue maps lwIP errors
// (ESP32's glue reports every failure as -1 = plain close, i.e. no 'error').
export const SOCKET_ERRORS = {
  ECONNRESET: [-9, 'connection reset'],
  ECONNREFUSED: [-9, 'connection reset'],
  EPIPE: [-9, 'connection reset'],
  ETIMEDOUT: [-3, 'timeout'],
  ENOTFOUND: [-6, 'not found'],
  EAI_AGAIN: [-6, 'not found'],
  EHOSTUNREACH: [-4, 'no route'],
  ENETUNREACH: [-4, 'no route']
}
export const UNKNOWN = [-10, 'unknown error']
const UNSENT = [-8, 'unsent data']

/** Sockets of the whole device (all boots); what device.net exposes. */
export function createNetRegistry () {
  const open = new Set()
  return {
    open,
    get openSockets () {
      return open.size
    },
    /** Close every device socket abruptly, like a connection reset. */
    dropAll () {
      for (const s of [...open]) s.destroy(Object.assign(new Error('dropped by test'), { code: 'ECONNRESET' }))
    }
  }
}

// Plain TCP; host/espruino/tls.mjs passes its own.
const openTcp = ({ host, port }) => ({ node: net.connect({ host, port }), ready: 'connect' })

/**
 * open(target, options): the Node socket for a device socket and the Node event that means connected;
 * it may throw a realm error, which the device's connect() throws.
 * onFailure(err, node): a failure before `ready`; returns the [code, message] error to report, or null for a
 * plain close.
 */
export function createNetModule ({ realm, loop, emitter, registry, connectOverride, isOnline, open = openTcp, onFailure }) {
  const SocketClass = realm.fn(function Socket () {})
  const state = new WeakMap() // device socket -> { node, closing, closed, rx, writes }

  function finish (sock, err) {
    const st = state.get(sock)
    if (st.closed) return
    st.closed = true
    if (st.node) {
      registry.open.delete(st.node)
      st.node.destroy()
    }
    if (err) emitter.emitQueued(sock, 'error', [realm.data({ code: err[0], message: err[1] })])
    emitter.emitQueued(sock, 'end')
    emitter.emitQueued(sock, 'close', [!!err])
  }

  const proto = SocketClass.prototype
  Object.assign(proto, {
    write: realm.fn(function (data) {
      const st = state.get(this)
      if (st.closing || st.closed) throw realm.error('Error', 'This socket is closed')
      if (data === undefined) return false
      st.writes++
      st.node.write(Buffer.from(String(data), 'latin1'), () => {
        st.writes--
        if (!st.writes && !st.closing && !st.closed) emitter.emitQueued(this, 'drain', [this])
      })
      return false
    }),
    end: realm.fn(function (data) {
      const st = state.get(this)
      if (data !== undefined) this.write(data)
      if (st.closing || st.closed) return
      st.closing = true
      // Espruino closes its side as soon as the send buffer is empty.
      st.node.end(() => finish(this))
    }),
    available: realm.fn(function () {
      return state.get(this).rx.length
    }),
    read: realm.fn(function (chars) {
      const st = state.get(this)
      const n = chars > 0 ? chars : st.rx.length
      const out = st.rx.slice(0, n)
      st.rx = st.rx.slice(n)
      return out
    })
  })

  function connect (options, callback) {
    if (typeof options === 'string') {
      const [host, port] = options.split(':')
      options = { host, port: Number(port) }
    }
    if (options === null || typeof options !== 'object') {
      throw realm.error('Error', `Expecting Options to be an Object but it was ${typeof options}`)
    }
    if (callback !== undefined && typeof callback !== 'function') {
      throw realm.error('Error', `Expecting Callback Function but got ${typeof callback}`)
    }
    const sock = new SocketClass()
    if (callback) sock.on('connect', callback)
    const st = { node: null, ready: false, closing: false, closed: false, rx: '', writes: 0 }
    state.set(sock, st)
    if (!isOnline()) {
      // No IP: the lwIP connect fails at once (clientRequestConnect).
      finish(sock)
      throw realm.error('InternalError', 'Unable to create socket')
    }
    const target = connectOverride(options.host ?? '127.0.0.1', Number(options.port) || 0)
    const { node, ready } = open(target, options)
    st.node = node
    registry.open.add(node)
    node.setNoDelay(true)
    node.on(ready, () => {
      st.ready = true
      emitter.emitQueued(sock, 'connect', [sock])
      if (!st.writes) emitter.emitQueued(sock, 'drain', [sock])
    })
    node.on('data', (buf) => {
      const text = buf.toString('latin1')
      if (emitter.listeners(sock, 'data').length) emitter.emitQueued(sock, 'data', [text])
      else st.rx += text
    })
    node.on('end', () => finish(sock, st.writes && !st.closing ? UNSENT : undefined))
    node.on('error', (err) => finish(sock, !st.ready && onFailure ? onFailure(err, node) : SOCKET_ERRORS[err.code] ?? UNKNOWN))
    node.on('close', () => finish(sock))
    return sock
  }

  return {
    module: realm.object({ connect, Socket: SocketClass }),
    stop () {
      for (const node of [...registry.open]) {
        registry.open.delete(node)
        node.destroy()
      }
    }
  }
}
