// The MQTT client: one connection state machine, an outgoing store of messages (modelled on MQTT.js's
// outgoing store) and the subscription to the device's answer and own state topics. A QoS 1 message is
// forgotten only after its PUBACK, a QoS 0 one once written; while the network or the broker is down
// messages wait, in order, in a bounded queue.
//
// A persistent session (clean:false) AND a SUBSCRIBE after every CONNACK: with the session kept, the
// broker queues the answers made while the device was offline and delivers them right after CONNACK,
// before the SUBACK (mosquitto and aedes do); the SUBSCRIBE makes it send the retained answers and
// states again, so after a reboot the device learns which calls are open. Nothing from the store goes
// out before the SUBACK: a table state waiting there is replaced (src/tables.ts) if what arrives first
// changes it, so an answered call never goes out again.
// All the device's code and state live at module level: Espruino keeps a function's source text as
// long as the function exists, so closures made by a long-lived factory would store the code twice.
import { decode, withPacketId, CONNACK, PUBACK, SUBACK, PUBLISH } from './codec'
import { Retry, retryLater, retryCancel } from './retry'
import { connectBroker, log } from './platform'
import { S } from './settings'
import { withId } from './id'

/** A message in the outgoing store. */
export interface Message {
  /** the PUBLISH */
  p: string
  /** offset of the 2-byte packet id in `p` (QoS 1), 0 for QoS 0 */
  at: number
  /** the packet id once sent (unset before: one property fewer per waiting message) */
  id?: number
  /** a press: when it was made */
  t?: number
  /**
   * For a latest-value message (a retained state) its key: the store holds at most one per key, so a
   * new value replaces a waiting one. Tables use their button index (0 to 15); others from 16. Presses
   * are negative (src/tables.ts JOINED).
   */
  k: number
}

// (a const enum: esbuild writes its numbers in place, where a top-level const would be a variable
// kept in memory for good)
const enum M {
  QUEUE_MAX = 32,
  // how long the broker may take to answer a CONNECT, a SUBSCRIBE or (MQTT resends only on a new
  // connection) a QoS 1 PUBLISH, in seconds
  ANSWER_S = 10,
  // A connection up this long was a good one: the next loss waits the first backoff delay again.
  STABLE_MS = 30000
}
export const BROKER = __TABLECALL__.host + ':' + __TABLECALL__.port

// Where the connection is, once it has a socket (without one it is offline)
const enum State {
  // the socket opening, or the CONNECT waiting for its CONNACK
  CONNECTING,
  // CONNACK came; the store waits for the SUBACK (the broker first delivers what it kept for the session)
  SUBSCRIBING,
  CONNECTED
}

// What the table states need to hear: a PUBLISH on a subscribed topic (hostile input, to be
// validated; retained: 1 when sent because of the SUBSCRIBE), and CONNACK.
let onMessage: (topic: string, payload: string, retained: number) => void
let onConnected: () => void
let state = State.CONNECTING
let sock: BrokerSocket | undefined
/** The outgoing store, oldest first. */
export const store: Message[] = []
let lastId = 0
let dropped = 0
let upAt = 0
// The connection's clocks, in seconds, counted by the one timer below: since the broker last sent a
// packet, since the device last wrote one, and what is left of the wait for the answer the device
// expects (CONNACK, SUBACK or a PUBACK; 0: none).
let quiet = 0
let idle = 0
let wait = 0

// One timer for every deadline of the connection, checked once a second (a timer per deadline costs
// more code than it saves in precision).
setInterval(() => {
  if (!sock) return
  // what the device waits for in each state
  if (wait && !--wait) return lost('no ' + ['CONNACK from ' + BROKER, 'SUBACK', 'PUBACK'][state] + ' within ' + M.ANSWER_S + ' s')
  const keepalive = __TABLECALL__.keepalive
  if (state === State.CONNECTING || !keepalive) return
  // Half-open TCP is common on restaurant WiFi: the broker must answer something within a keepalive,
  // so a link silent for a period gets a ping (sending alone, e.g. QoS 0 presses, brings no answer),
  // and one still silent half a period later is dead. MQTT's own side: the device sends something at
  // least once a period.
  if (++quiet >= keepalive * 1.5) lost('no answer to ping within 1.5 x keepalive')
  else if (quiet === keepalive || ++idle >= keepalive) write(__TABLECALL__.ping)
}, 1000)

/** Whether the data was handed to the socket. */
function write (data: string): boolean {
  if (!sock) return false
  try {
    sock.write(data)
  } catch (e) {
    // Closed under us, its 'close' event not handled yet: Espruino throws "This socket is closed".
    lost('connection closed while sending')
    return false
  }
  idle = 0
  return true
}

/** Drops the connection and, unless the network is `down`, tries again after the backoff. */
function lost (why: string, down?: boolean) {
  if (!sock) return
  const s = sock
  sock = undefined
  // accepted (CONNACK), whether or not subscribed yet
  const up = state !== State.CONNECTING
  log(up ? 'mqtt: connection lost (' + why + ')' : 'mqtt: ' + why)
  // Resetting the backoff at CONNACK would let two clients with one client id, each closed by the
  // broker when the other connects, take turns about once a second forever.
  if (up && Date.now() - upAt >= M.STABLE_MS) reconnect.n = 0
  state = State.CONNECTING
  try {
    s.end()
  } catch (e) {
    // already closed
  }
  if (!down) retryLater(reconnect)
}

function send (m: Message) {
  if (!m.at) {
    if (write(m.p)) store.splice(store.indexOf(m), 1)
    return
  }
  // A message sent before (an earlier connection, or no PUBACK in time) goes again with DUP set.
  const dup = !!m.id
  if (!dup) m.id = lastId = lastId % 65534 + 1
  // MQTT resends only on a new connection, so a message the broker does not acknowledge in time means
  // the link is broken: reconnect, and everything unacknowledged goes again with DUP.
  if (write(withPacketId(m.p, m.at, m.id!, dup)) && !wait) wait = M.ANSWER_S
}

function onPacket (type: number, value: number, a?: string, b?: string, r?: number) {
  quiet = 0
  if (type === CONNACK) {
    if (state !== State.CONNECTING) return lost('unexpected CONNACK')
    const code = value & 255
    // Named: the refusals a user fixes in the config (MQTT 3.1.1 codes 4 and 5); docs/troubleshooting.md
    // names the others.
    if (code) return lost('broker refused the connection: ' + (code === 4 ? 'bad user name or password' : code === 5 ? 'not authorised' : 'code ' + code))
    state = State.SUBSCRIBING
    upAt = Date.now()
    write(withId(S.online))
    onConnected()
    write(withId(S.subscribe))
    wait = M.ANSWER_S
  } else if (type === SUBACK) {
    if (state !== State.SUBSCRIBING) return lost('unexpected SUBACK')
    state = State.CONNECTED
    wait = 0
    log('mqtt: connected to ' + BROKER)
    if (a!.indexOf('\x80') >= 0) log('mqtt: subscription refused')
    store.slice().forEach(send)
  } else if (type === PUBLISH) {
    if (value) write(withPacketId(__TABLECALL__.puback, 2, value, false))
    onMessage(a!, b!, r!)
  } else if (type === PUBACK) {
    const i = store.findIndex(m => m.id === value)
    if (i >= 0) {
      store.splice(i, 1)
      // The broker is acknowledging: only a stall of ANSWER_S since the last PUBACK is a broken link.
      if (state === State.CONNECTED) wait = store.length ? M.ANSWER_S : 0
    }
  }
}

// Called when the network comes up (mqttUp), and by the backoff while it stays up.
function connect () {
  if (sock) return
  let s: BrokerSocket
  try {
    s = connectBroker(() => {
      if (sock === s) write(withId(S.connect))
    })
  } catch (e) {
    log('mqtt: cannot reach ' + BROKER + ' (' + e + ')')
    retryLater(reconnect)
    return
  }
  sock = s
  wait = M.ANSWER_S
  // the start of a packet still to come
  let rx = ''
  s.on('data', data => {
    if (sock !== s) return
    let rest: string | null = null
    try {
      rest = decode(rx + data, onPacket)
    } catch (e) {
      // decode never throws; this only keeps a surprise (in a handler) from escaping into the event loop
    }
    if (rest === null) lost('malformed data from the broker')
    else if (sock) rx = rest
  })
  // 'error' passes the error; 'close' nothing or (Espruino) whether an error came first. Before
  // CONNACK an error means the broker was not reached; after it, the broker (or the way to it) dropped
  // the connection, e.g. a reset when it closes a socket with data unread (another client took this
  // client id).
  const gone = (err?: { message?: string, code?: number } | boolean) => {
    const why = typeof err === 'object' ? ' (' + (err.message || 'error ' + err.code) + ')' : ''
    if (sock === s) lost(why && state === State.CONNECTING ? 'cannot reach ' + BROKER + why : 'broker closed the connection' + why)
  }
  s.on('error', gone)
  s.on('close', gone)
}

// (after connect: Espruino does not hoist function declarations)
const reconnect: Retry = { w: 'mqtt: connecting', a: connect, n: 0 }

export function startMqtt (message: typeof onMessage, connected: typeof onConnected) {
  onMessage = message
  onConnected = connected
}

// the network is up
export { connect as mqttUp }

/** The network is gone (or the program stops: `why`): drop the connection, keep the messages. */
export function mqttDown (why: string) {
  retryCancel(reconnect)
  lost(why, true)
}

/**
 * Queues a message and sends it as soon as the broker is ready for it. A latest-value message (k >= 0)
 * replaces a waiting one with its key (unless the same).
 */
export function publish (m: Message) {
  const i = m.k < 0 ? -1 : store.indexOf(waiting(m.k)!)
  if (i >= 0) {
    if (store[i].p === m.p) return
    store[i] = m
  } else store.push(m)
  // Messages in flight on a working connection (or one just accepted) leave the store within a round
  // trip; the bound is for messages waiting on a dead link, with a hard cap in case the link only looks
  // alive. Latest-value messages are bounded by their keys; the bound counts the others, and the oldest
  // of them goes.
  while (store.filter(w => w.k < 0).length > (state !== State.CONNECTING ? 2 * M.QUEUE_MAX : M.QUEUE_MAX)) {
    store.splice(store.findIndex(w => w.k < 0), 1)
    log('mqtt: queue full, dropped the oldest press (' + ++dropped + ' so far)')
  }
  if (state === State.CONNECTED) send(m)
  // A guest is waiting: try the broker now rather than at the end of a long backoff (and if that fails,
  // wait the step just cut short again, not a longer one).
  else if (retryCancel(reconnect)) {
    reconnect.n--
    connect()
  }
}

/** The message with key `k` waiting in the store for the broker, if any. */
export const waiting = (k: number) => store.find(m => m.k === k)
