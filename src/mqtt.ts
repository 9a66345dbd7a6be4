// The MQTT client: one connection state machine and an outgoing store of presses. A press is
// forgotten only after its PUBACK (QoS 1) or once written (QoS 0); while the network or the broker is
// down presses wait, in order, in a bounded queue.
import { decode, withPacketId, CONNACK, PUBACK } from './codec'
import { retry } from './retry'

export interface MqttOptions {
  host: string
  port: number
  tls: boolean
  /** the CA certificate as DER bytes; Espruino 2v29 parses it but does not verify the server */
  ca?: string
  /** seconds; 0 = no pings */
  keepalive: number
  qos: 0 | 1
  connect: string
  online: string
  /** one PUBLISH per button */
  press: string[]
  idAt: number[]
  ping: string
}

export interface Mqtt {
  /** The network is up: connect. */
  up(): void
  /** The network is gone (or the program stops): drop the connection, keep the presses. */
  down(why: string): void
  /** Button `index` was pressed. */
  press(index: number): void
}

interface Entry {
  button: number
  /** packet id once sent (QoS 1) */
  id: number
}

const QUEUE_MAX = 32
const CONNACK_MS = 10000
const PUBACK_MS = 10000
// A connection up this long was a good one: the next loss waits the first backoff delay again.
const STABLE_MS = 30000
const CLOSED = 'broker closed the connection'
const REFUSED = ['', 'protocol version not accepted', 'client id rejected', 'server unavailable', 'bad user name or password', 'not authorised']

// Connection states
const OFFLINE = 0
const CONNECTING = 1
const WAIT_CONNACK = 2
const CONNECTED = 3

export function createMqtt (o: MqttOptions, log: (line: string) => void): Mqtt {
  const net = o.tls ? require('tls') : require('net')
  let state = OFFLINE
  let networkUp = false
  let sock: EspruinoSocket | undefined
  let rx = ''
  const store: Entry[] = []
  let lastId = 0
  let dropped = 0
  let pingTimer: number | undefined
  let deadTimer: number | undefined
  let ackTimer: number | undefined
  let upAt = 0
  // connections in a row the broker closed before they were STABLE_MS old
  let shortLived = 0
  const reconnect = retry('mqtt: connecting', log, () => connect())

  const stop = (t: number | undefined) => {
    if (t !== undefined) clearTimeout(t)
    return undefined
  }

  /** Whether the data was handed to the socket. */
  const write = (data: string): boolean => {
    if (!sock) return false
    try {
      sock.write(data)
    } catch (e) {
      // Closed under us, its 'close' event not handled yet: Espruino throws "This socket is closed".
      lost('connection closed while sending')
      return false
    }
    // Keepalive (MQTT's side): send something at least once a period (and never before CONNACK).
    pingTimer = stop(pingTimer)
    if (o.keepalive) pingTimer = setTimeout(ping, o.keepalive * 1000)
    return true
  }
  const ping = () => state === CONNECTED && write(o.ping)

  const expectWithin = (ms: number, what: string) => {
    deadTimer = stop(deadTimer)
    deadTimer = setTimeout(() => lost(what), ms)
  }

  // Half-open TCP is common on restaurant WiFi: the broker must answer something within a keepalive,
  // so a link silent for a period gets a ping (sending alone, e.g. QoS 0 presses, brings no answer),
  // and one still silent half a period later is dead.
  const heard = () => {
    deadTimer = stop(deadTimer)
    if (o.keepalive) {
      deadTimer = setTimeout(() => {
        if (ping()) expectWithin(o.keepalive * 500, 'no answer to ping within 1.5 x keepalive')
      }, o.keepalive * 1000)
    }
  }

  const lost = (why: string) => {
    if (!sock) return
    const s = sock
    sock = undefined
    log(state === CONNECTED ? 'mqtt: connection lost (' + why + ')' : 'mqtt: ' + why)
    if (state === CONNECTED) {
      // Resetting the backoff at CONNACK would let two clients with one client id, each closed by the
      // broker when the other connects, take turns about once a second forever.
      if (Date.now() - upAt >= STABLE_MS) {
        reconnect.reset()
        shortLived = 0
      } else if (why === CLOSED && ++shortLived === 3) {
        log('mqtt: the broker keeps closing the connection soon after accepting it: another client seems to be using this client id')
      }
    }
    state = OFFLINE
    rx = ''
    pingTimer = stop(pingTimer)
    deadTimer = stop(deadTimer)
    ackTimer = stop(ackTimer)
    try {
      s.end()
    } catch (e) {
      // already closed
    }
    if (networkUp) reconnect.later()
  }

  const send = (entry: Entry) => {
    if (!o.qos) {
      if (write(o.press[entry.button])) store.splice(store.indexOf(entry), 1)
      return
    }
    // A press sent before (an earlier connection, or no PUBACK in time) goes again with DUP set.
    const dup = entry.id !== 0
    if (!dup) entry.id = lastId = lastId % 65535 + 1
    if (write(withPacketId(o.press[entry.button], o.idAt[entry.button], entry.id, dup)) && ackTimer === undefined) awaitPuback()
  }

  // MQTT resends only on a new connection, so a press the broker does not acknowledge in time means
  // the link is broken: reconnect, and everything unacknowledged goes again with DUP.
  const awaitPuback = () => {
    ackTimer = setTimeout(() => lost('no PUBACK within ' + PUBACK_MS / 1000 + ' s'), PUBACK_MS)
  }

  const onPacket = (type: number, value: number) => {
    heard()
    if (type === CONNACK) {
      if (state !== WAIT_CONNACK) return lost('unexpected CONNACK')
      if (value) return lost('broker refused the connection: ' + (REFUSED[value] || 'code ' + value))
      state = CONNECTED
      upAt = Date.now()
      const again = store.filter(e => e.id !== 0).length
      log('mqtt: connected to ' + o.host + ':' + o.port + (store.length ? ', sending ' + store.length + ' waiting press(es)' + (again ? ', ' + again + ' of them again with DUP' : '') : ''))
      write(o.online)
      store.slice().forEach(send)
    } else if (type === PUBACK) {
      for (let i = 0; i < store.length; i++) {
        if (store[i].id === value) {
          store.splice(i, 1)
          // The broker is acknowledging: only a stall of PUBACK_MS since the last PUBACK of a press
          // is a broken link (a PUBACK for any other id proves nothing).
          ackTimer = stop(ackTimer)
          if (store.length) awaitPuback()
          break
        }
      }
    }
  }

  const receive = (data: string) => {
    let rest: string | null = null
    try {
      rest = decode(rx + data, onPacket)
    } catch (e) {
      // decode never throws; this only keeps a surprise from escaping into the event loop
    }
    if (rest === null) lost('malformed data from the broker')
    else if (sock) rx = rest
  }

  const connect = () => {
    if (!networkUp || state !== OFFLINE) return
    state = CONNECTING
    let s: EspruinoSocket
    try {
      s = net.connect({ host: o.host, port: o.port, ca: o.ca }, () => {
        if (sock !== s) return
        state = WAIT_CONNACK
        write(o.connect)
      })
    } catch (e) {
      state = OFFLINE
      log('mqtt: cannot reach ' + o.host + ':' + o.port + ' (' + e + ')')
      reconnect.later()
      return
    }
    sock = s
    expectWithin(CONNACK_MS, 'no CONNACK from ' + o.host + ':' + o.port + ' within ' + CONNACK_MS / 1000 + ' s')
    s.on('data', data => {
      if (sock === s) receive(data)
    })
    s.on('error', err => {
      if (sock === s) lost('cannot reach ' + o.host + ':' + o.port + ' (' + (err && err.message ? err.message : 'error ' + (err && err.code)) + ')')
    })
    s.on('close', () => {
      if (sock === s) lost(CLOSED)
    })
  }

  return {
    up: () => {
      networkUp = true
      connect()
    },
    down: (why: string) => {
      networkUp = false
      reconnect.cancel()
      lost(why)
    },
    press: (button: number) => {
      store.push({ button, id: 0 })
      // Presses in flight on a working connection leave the store within a round trip; the bound is
      // for presses waiting on a dead link, with a hard cap in case the link only looks alive.
      while (store.length > (state === CONNECTED ? 2 * QUEUE_MAX : QUEUE_MAX)) {
        store.shift()
        dropped++
        log('mqtt: queue full, dropped the oldest waiting press (' + dropped + ' dropped so far)')
      }
      if (state === CONNECTED) send(store[store.length - 1])
      // A guest is waiting: try the broker now rather than at the end of a long backoff.
      else reconnect.now()
    }
  }
}
