// require('net') of Kaluma 1.2.1 on the Pico W (src/modules/net/net.js, src/modules/stream/stream.js
// over global.__netdev, src/modules/pico_cyw43/module_pico_cyw43.c pico_cyw43_network_*), on real Node
// sockets:
// - a socket takes one of 16 slots (KM_MAX_SOCKET_NO) when connect() asks pico_cyw43_network_socket for
//   one: the lowest free (km_get_socket_fd), SystemError EREMOTEIO when all are taken, 'WiFi is not
//   connected.' with the link down (no slot then). Only __net_socket_close frees a slot: our destroy(),
//   or Kaluma's own close on a remote FIN.
// - a name that does not resolve blocks up to 3 s (pico_cyw43_network_connect) and throws 'DNS response
//   timeout.'; the socket keeps its slot (no pcb yet) until destroy().
// - 'ready' is emitted inside connect() (tcp_connect queued), 'connect' once the handshake is done
//   (__net_client_connect_cb); 'data' is a Uint8Array (__net_data_received); a remote FIN closes the
//   socket in C (__net_data_received -> __net_socket_close -> close_cb): 'close', never 'end'.
// - tcp_err(pcb, NULL) (pico_cyw43_network_connect): when lwIP frees a pcb itself (connection refused,
//   reset, its own give-up on retransmissions) nothing reaches JavaScript and the slot keeps the
//   dangling pointer. A later write (pico_cyw43_network_write: tcp_write), end() (shutdown:
//   tcp_shutdown) or destroy() (__net_socket_close: tcp_close, a second free into lwIP's pcb pool) uses
//   freed memory: the model records each as a fault (`faults`, and the device's `uncaught`), which
//   fails a test. A lost WiFi link silences every connection (the pcbs live on, retransmitting) and
//   the model frees them all at the next join (the strict case: lwIP aborts the pcbs of an address
//   that changed); JavaScript is not told either way.
// - write(string | Uint8Array, cb): cb is called at once, the data goes out on setTimeout(0)
//   (Writable.write/flush) to whatever socket holds the fd by then, destroyed or not; a closed slot
//   gives 'error' (errno -1); a char above U+00FF goes out as byte 0 (jerryxx_string_to_ascii_char_buffer).
// - destroy() emits 'close' synchronously (_destroy -> __netdev.close -> __net_socket_close -> close_cb).
import net from 'node:net'
import { EVENTS_SOURCE } from './events.mjs'

const MAX_SOCKETS = 16 // KM_MAX_SOCKET_NO
const DNS_TIMEOUT_MS = 3000 // pico_cyw43_network_connect: 300 x 10 ms
const IPV4 = /^[0-9]{1,3}(\.[0-9]{1,3}){3}$/

/** Sockets of the whole device (all boots): the test's view. */
export function createKalumaNetRegistry () {
  return {
    open: new Set(), // Node sockets
    faults: [], // uses of a pcb lwIP had freed: each one a failure
    onFault: () => {},
    maxSlots: 0, // the most of the 16 slots ever taken at once
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

// net.js Socket over stream.js Duplex/Writable, as far as a client uses it.
const SOCKET_SOURCE = `(function (EventEmitter, nat) {
  class Socket extends EventEmitter {
    constructor () {
      super()
      this._fd = -1
      this.destroyed = false
      this._wbuf = ''
      this.writableEnded = false
    }
    connect (options, connectListener) {
      const fd = nat.socket(this)
      if (connectListener) this.on('connect', connectListener)
      this._fd = fd
      nat.connect(fd, options.host, options.port)
      this.emit('ready')
      return this
    }
    _afterDestroy () {
      if (!this.destroyed) {
        this.destroyed = true
        this.emit('close')
      }
    }
    destroy () {
      if (!this.destroyed) {
        const err = nat.close(this._fd)
        if (err) this.emit('error', err)
        else this._afterDestroy()
      }
    }
    // Writable.write: no check of destroyed; the flush writes to whatever holds the fd by then.
    write (chunk, cb) {
      if (!this.writableEnded) {
        if (chunk) this._wbuf += typeof chunk === 'string' ? chunk : String.fromCharCode.apply(null, chunk)
        setTimeout(() => { this.flush() }, 0)
        if (cb) cb()
      }
      return this._wbuf.length === 0
    }
    flush () {
      if (this._wbuf.length > 0) {
        const data = this._wbuf
        this._wbuf = ''
        const err = nat.write(this._fd, data)
        if (err) this.emit('error', err)
      }
    }
    end (chunk) {
      if (chunk) this._wbuf += chunk
      this.writableEnded = true
      this.flush()
      const err = nat.shutdown(this._fd)
      if (err) this.emit('error', err)
      else this.emit('finish')
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
  // __socket_info.socket[]: per slot { sock, node, connected, freed: why lwIP freed its pcb, or '' }
  const slots = new Array(MAX_SOCKETS).fill(null)
  const systemError = (errno, message) => new realm.global.SystemError(errno, message)
  const emit = (sock, ...args) => loop.call(() => sock.emit(...args))
  const failed = () => systemError(-1, 'errno -1')
  // The slot behind fd, after recording a use of a freed pcb as the fault it is.
  const use = (fd, op) => {
    const slot = slots[fd]
    if (slot && slot.freed) {
      const err = new Error(`use after free: ${op} on socket ${fd}, whose pcb lwIP freed (${slot.freed})`)
      registry.faults.push(err.message)
      registry.onFault(err)
    }
    return slot
  }

  const nat = {
    socket (sock) {
      // pico_cyw43_network_socket
      if (!isOnline()) throw realm.error('Error', 'WiFi is not connected.')
      const fd = slots.indexOf(null)
      if (fd < 0) throw systemError(-121, 'EREMOTEIO')
      slots[fd] = { sock, node: null, connected: false, freed: '' }
      registry.maxSlots = Math.max(registry.maxSlots, slots.filter(Boolean).length)
      return fd
    },
    connect (fd, host, port) {
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
      const slot = slots[fd]
      const node = net.connect({ host: target.host, port: target.port })
      slot.node = node
      registry.open.add(node)
      node.setNoDelay(true)
      node.on('connect', () => { slot.connected = true; emit(slot.sock, 'connect') })
      node.on('data', buf => emit(slot.sock, 'data', new realm.global.Uint8Array(buf)))
      node.on('end', () => {
        // Remote FIN: __net_data_received -> __net_socket_close frees the slot -> close_cb -> 'close'.
        if (slots[fd] !== slot || slot.freed) return
        release(fd)
        loop.call(() => slot.sock._afterDestroy())
      })
      // Refused, reset: lwIP frees the pcb and calls the NULL tcp_err; nothing reaches JavaScript.
      const free = why => { if (slots[fd] === slot && !slot.freed && !slot.lost) slot.freed = why }
      node.on('error', err => free(`${slot.connected ? 'reset' : 'refused'}: ${err.code}`))
      node.on('close', () => {
        free('reset')
        registry.open.delete(node)
      })
    },
    // pico_cyw43_network_write: a closed slot (or one never connected) is errno -1.
    write (fd, data) {
      const slot = use(fd, 'write')
      if (!slot || !slot.node) return failed()
      if (!slot.freed && !slot.lost) slot.node.write(wireBytes(data))
      return null
    },
    shutdown (fd) {
      const slot = use(fd, 'end')
      if (slot && slot.node && !slot.freed && !slot.lost) slot.node.end()
      return null
    },
    // pico_cyw43_network_close: nothing for a slot already closed.
    close (fd) {
      if (use(fd, 'destroy')) release(fd)
      return null
    }
  }
  function release (fd) {
    const slot = slots[fd]
    slots[fd] = null
    if (slot.node) {
      registry.open.delete(slot.node)
      slot.node.destroy()
    }
  }
  const makeModule = realm.run(SOCKET_SOURCE, 'net.js')
  const module = makeModule(events.EventEmitter, realm.object(nat))
  return {
    events,
    module,
    /** The link is gone: every connection goes silent (its pcb lives on, retransmitting); the device is not told. */
    linkLost () {
      for (const slot of slots) {
        if (!slot) continue
        slot.lost = true
        if (slot.node) slot.node.destroy()
      }
    },
    /** Joined again: the model frees every pcb of the lost link (lwIP aborts those of an address that changed). */
    joined () {
      for (const slot of slots) if (slot && slot.lost && !slot.freed) slot.freed = 'the WiFi link was lost'
    },
    /** A reset of the board: the slots and lwIP start afresh. */
    stop () {
      for (let fd = 0; fd < MAX_SOCKETS; fd++) if (slots[fd]) release(fd)
    }
  }
}
