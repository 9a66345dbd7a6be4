// require('net') of Kaluma 1.2.1 on the Pico W (src/modules/net/net.js, src/modules/stream/stream.js
// over global.__netdev, module_pico_cyw43.c pico_cyw43_network_*), on real Node sockets:
// - connect() throws 'WiFi is not connected.' when the link is down, SystemError EREMOTEIO when the 16
//   sockets are taken (km_get_socket_fd), and after a blocking DNS wait of up to 3 s for a name that does
//   not resolve ('DNS response timeout.'); the socket then keeps its slot until destroy().
// - 'ready' is emitted inside connect() (tcp_connect queued), 'connect' once the handshake is done.
// - 'data' is a Uint8Array (__net_data_received); a remote FIN gives 'close', never 'end'.
// - a refused, reset or timed-out connection is SILENT: lwIP calls the NULL tcp_err callback, no
//   'error', no 'close'; later writes and destroy() act on a freed pcb (counted in danglingOps).
// - write(string | Uint8Array, cb): cb is called at once, the data goes out on setTimeout(0)
//   (Writable.write/_flush), then 'drain'; a char above U+00FF goes out as byte 0
//   (jerryxx_string_to_ascii_char_buffer).
// - destroy() emits 'close' synchronously (_destroy -> __netdev.close -> close_cb).
import net from 'node:net'
import { EVENTS_SOURCE } from './events.mjs'

const MAX_SOCKETS = 16 // KM_MAX_SOCKET_NO
const DNS_TIMEOUT_MS = 3000 // pico_cyw43_network_connect: 300 x 10 ms
const IPV4 = /^[0-9]{1,3}(\.[0-9]{1,3}){3}$/

/** Sockets of the whole device (all boots): the test's view. */
export function createKalumaNetRegistry () {
  return {
    open: new Set(), // Node sockets
    danglingOps: 0, // writes/destroys on a connection lwIP already freed
    /** Reset every connection from the far side: the device hears nothing (tcp_err is NULL). */
    resetAll () {
      for (const s of [...this.open]) s.destroy()
    },
    get openSockets () {
      return this.open.size
    }
  }
}

// Kaluma's binary-string conversion (jerryxx_string_to_ascii_char_buffer): a char above U+00FF becomes byte 0.
export const wireBytes = text => Buffer.from(Array.from(text, ch => (ch.charCodeAt(0) > 0xff ? 0 : ch.charCodeAt(0))))

const SOCKET_SOURCE = `(function (EventEmitter, nat) {
  class Socket extends EventEmitter {
    constructor () {
      super()
      this.fd = -1
      this.connected = false
      this.destroyed = false
      this._wbuf = ''
      this._flushing = false
    }
    connect (options, connectListener) {
      if (connectListener) this.once('connect', connectListener)
      this.fd = nat.socket(this)
      nat.connect(this, options.host, options.port)
      this.connected = true
      this.emit('ready')
      return this
    }
    write (data, cb) {
      this._wbuf += typeof data === 'string' ? data : String.fromCharCode.apply(null, data)
      if (!this._flushing) {
        this._flushing = true
        setTimeout(() => this._flush(), 0)
      }
      if (cb) cb()
      return this._wbuf.length === 0
    }
    _flush () {
      this._flushing = false
      const data = this._wbuf
      this._wbuf = ''
      if (this.destroyed) return
      const err = nat.write(this, data)
      if (err) this.emit('error', err)
      else this.emit('drain')
    }
    end (data) {
      if (data !== undefined) this.write(data)
      setTimeout(() => { if (!this.destroyed && nat.shutdown(this)) this.emit('end') }, 0)
      return this
    }
    destroy () {
      if (this.destroyed) return this
      this.destroyed = true
      this.connected = false
      if (this.fd >= 0) nat.close(this)
      this.fd = -1
      this.emit('close')
      return this
    }
  }
  const createConnection = (options, connectListener) => {
    const socket = new Socket()
    if (connectListener) socket.connect(options, connectListener)
    return socket
  }
  return { Socket, createConnection, connect: createConnection }
})`

export function createKalumaNet ({ realm, loop, registry, connectOverride, isOnline, resolve }) {
  const events = realm.run(EVENTS_SOURCE, 'events.js')
  const state = new Map() // device socket -> { node, dead }
  const systemError = (errno, message) => new realm.global.SystemError(errno, message)
  const emit = (sock, ...args) => loop.run(() => sock.emit(...args))

  const nat = {
    socket (sock) {
      // pico_cyw43_network_socket
      if (!isOnline()) throw realm.error('Error', 'WiFi is not connected.')
      if (state.size >= MAX_SOCKETS) throw systemError(-121, 'EREMOTEIO')
      state.set(sock, { node: null, dead: false, silent: false })
      return state.size - 1
    },
    connect (sock, host, port) {
      let address = String(host)
      if (!IPV4.test(address)) {
        const found = resolve(address)
        if (!found) {
          loop.stall(DNS_TIMEOUT_MS)
          throw realm.error('Error', 'DNS response timeout.')
        }
        address = found
      }
      const target = connectOverride(address, Number(port))
      const st = state.get(sock)
      const node = net.connect({ host: target.host, port: target.port })
      st.node = node
      registry.open.add(node)
      node.setNoDelay(true)
      node.on('connect', () => emit(sock, 'connect'))
      node.on('data', buf => emit(sock, 'data', new realm.global.Uint8Array(buf)))
      node.on('end', () => {
        // Remote FIN: __net_socket_close -> close_cb -> _afterDestroy -> 'close'.
        if (st.dead) return
        st.dead = true
        forget(sock)
        loop.run(() => { if (!sock.destroyed) { sock.destroyed = true; sock.connected = false; sock.emit('close') } })
      })
      // RST, refused, timed out: nothing reaches JavaScript.
      node.on('error', () => { st.dead = st.silent = true })
      node.on('close', () => {
        if (!st.dead) st.dead = st.silent = true
        registry.open.delete(node)
      })
    },
    write (sock, data) {
      const st = state.get(sock)
      if (!st || st.dead) {
        registry.danglingOps++
        return null
      }
      st.node.write(wireBytes(data))
      return null
    },
    shutdown (sock) {
      const st = state.get(sock)
      if (!st || st.dead) return false
      st.node.end()
      return true
    },
    close (sock) {
      const st = state.get(sock)
      if (st && st.silent) registry.danglingOps++ // tcp_close on the pcb lwIP freed
      forget(sock)
    }
  }
  function forget (sock) {
    const st = state.get(sock)
    if (!st) return
    state.delete(sock)
    if (st.node) {
      registry.open.delete(st.node)
      st.node.destroy()
    }
  }
  const makeModule = realm.run(SOCKET_SOURCE, 'net.js')
  const module = makeModule(events.EventEmitter, realm.object(nat))
  return {
    events,
    module,
    /** The link is gone: every connection dies without the device hearing of it. */
    linkLost () {
      for (const st of state.values()) {
        st.dead = st.silent = true
        if (st.node) st.node.destroy()
      }
    },
    stop () {
      for (const sock of [...state.keys()]) forget(sock)
    }
  }
}
