// An in-process aedes broker that can crash the ways a real one does, for the randomized call tests:
// its persistence (retained messages, sessions with their subscriptions and queued messages) is an
// aedes memory store that journals every change, so `save()` marks what a periodic autosave would
// have on disk, `kill()` (kill -9) brings it back up with only what the last save held, and
// `restart({ persist })` is a clean stop that saves everything (mosquitto's shutdown) or nothing (no
// persistence at all). It listens on the same port after each restart, like a restarted daemon.
import net from 'node:net'
import { Readable } from 'node:stream'
import { createRequire } from 'node:module'
import { Aedes } from 'aedes'

const require = createRequire(import.meta.url)
const MemoryPersistence = require('aedes-persistence/asyncPersistence.js')

// The store's changes that make up a broker's saved state, and how to copy their arguments so a later
// change by aedes (a packet id set on a queued packet) does not reach the journal. Wills are left out:
// the tests watch calls, and a will replayed after a crash is a broker's choice.
const copyPacket = p => p && Object.assign(Object.create(Object.getPrototypeOf(p)), p, p.payload ? { payload: Buffer.from(p.payload) } : {})
const client = c => ({ id: c.id })
const CHANGES = {
  storeRetained: ([p]) => [copyPacket(p)],
  addSubscriptions: ([c, subs]) => [client(c), subs.map(s => ({ ...s }))],
  removeSubscriptions: ([c, topics]) => [client(c), [...topics]],
  cleanSubscriptions: ([c]) => [client(c)],
  outgoingEnqueue: ([sub, p]) => [{ ...sub }, copyPacket(p)],
  outgoingEnqueueCombi: ([subs, p]) => [subs.map(s => ({ ...s })), copyPacket(p)],
  outgoingUpdate: ([c, p]) => [client(c), copyPacket(p)],
  outgoingClearMessageId: ([c, p]) => [client(c), copyPacket(p)],
  incomingStorePacket: ([c, p]) => [client(c), copyPacket(p)],
  incomingDelPacket: ([c, p]) => [client(c), copyPacket(p)],
  cleanIncoming: ([c]) => [client(c)]
}

class JournalPersistence extends MemoryPersistence {
  constructor () {
    super()
    this.journal = []
  }

  // A session's queued messages go out with RETAIN 0, as MQTT 3.1.1 asks of any message sent for an
  // established subscription [MQTT-3.3.1-9] and mosquitto does (aedes keeps the publisher's flag).
  outgoingStream (client) {
    return super.outgoingStream(client).map(p => Object.assign(Object.create(Object.getPrototypeOf(p)), p, { retain: false }))
  }

  // The retained messages a SUBSCRIBE gets, read at once: onRetained(promise of them) learns how many.
  createRetainedStreamCombi (patterns) {
    const packets = super.createRetainedStreamCombi(patterns).toArray()
    this.onRetained?.(packets)
    return Readable.from((async function * () { yield * await packets })())
  }

  /** A store holding the first `length` changes of `journal`. */
  static async replay (journal, length) {
    const store = new JournalPersistence()
    for (const [name, args] of journal.slice(0, length)) {
      // the same changes in the same order fail the same way; such a change changed nothing
      await MemoryPersistence.prototype[name].apply(store, args).catch(() => {})
      store.journal.push([name, args])
    }
    return store
  }
}
for (const [name, copy] of Object.entries(CHANGES)) {
  JournalPersistence.prototype[name] = function (...args) {
    this.journal.push([name, copy(args)])
    return MemoryPersistence.prototype[name].apply(this, args)
  }
}

/**
 * Messages to a client in the order MQTT 3.1.1 asks (4.6: one publisher's messages on a topic) and
 * mosquitto keeps, where aedes writes new messages at once while it still streams older ones:
 * - a client resuming its session gets what the session queued, then what came since (a table's idle
 *   state overtook the stale call it ends);
 * - a SUBSCRIBE's retained messages come before messages published after it (a screen got the idle
 *   state, then the call it ended as the retained state).
 * So a client's new messages wait while it is not ready (its queue is out) or retained messages of its
 * SUBSCRIBE are still to come. Its delivery functions are wrapped before its CONNECT is read, so the
 * subscriptions it restores hold the wrappers. Returns ordered(client), for each client aedes.handle() makes.
 */
function inOrder (aedes, store) {
  // client -> { held: new messages waiting, counting: SUBSCRIBEs whose retained messages are not read
  // yet, expected: topic -> how many retained messages on it are still to come }
  const states = new Map()
  const state = client => {
    if (!states.has(client)) states.set(client, { held: [], counting: 0, expected: new Map() })
    return states.get(client)
  }
  const busy = (client, s) => !client.closed && (!client.connected || s.counting > 0 || s.expected.size > 0)
  const flush = client => {
    const s = state(client)
    if (!busy(client, s)) for (const deliver of s.held.splice(0)) deliver()
  }
  // aedes emits 'subscribe', then in the same turn reads the retained messages for it
  let subscriber = null
  aedes.on('subscribe', (subs, client) => { subscriber = client })
  store.onRetained = packets => {
    const client = subscriber
    subscriber = null
    if (!client) return
    const s = state(client)
    s.counting++
    const counted = list => {
      s.counting--
      for (const { topic } of list) s.expected.set(topic, (s.expected.get(topic) ?? 0) + 1)
      flush(client)
    }
    packets.then(counted, () => counted([]))
  }
  aedes.on('clientReady', flush)
  return client => {
    const s = state(client)
    for (const name of ['deliverQoS', 'deliver0']) {
      const deliver = client[name]
      client[name] = (packet, cb) => {
        if (packet.retain) {
          deliver(packet, cb)
          const left = s.expected.get(packet.topic) - 1
          if (left > 0) s.expected.set(packet.topic, left)
          else s.expected.delete(packet.topic)
          return flush(client)
        }
        if (busy(client, s)) s.held.push(() => deliver(packet, cb))
        else deliver(packet, cb)
      }
    }
    client.conn.once('close', () => {
      flush(client)
      states.delete(client)
    })
  }
}

/**
 * @returns {Promise<{port, url, save(), kill(), restart({persist}), retained(topic), close(), up}>}
 *   retained(topic): the retained payload (a string) or undefined.
 */
export async function startCrashBroker ({ host = '127.0.0.1' } = {}) {
  let aedes = null
  let server = null
  let store = new JournalPersistence()
  let saved = 0 // journal length at the last save
  const sockets = new Set()

  const start = async () => {
    aedes = await Aedes.createBroker({ persistence: store })
    const ordered = inOrder(aedes, store)
    server = net.createServer(socket => {
      socket.setNoDelay(true)
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      ordered(aedes.handle(socket))
    })
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(broker.port ?? 0, host, () => resolve())
    })
    broker.port = server.address().port
    broker.url = `mqtt://${host}:${broker.port}`
  }
  const stop = async () => {
    if (!aedes) return
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    await new Promise(resolve => server.close(() => resolve()))
    await new Promise(resolve => aedes.close(resolve))
    aedes = null
  }
  const broker = {
    get up () { return !!aedes },
    /** What the next kill() keeps: everything stored until now (an autosave). */
    save () { saved = store.journal.length },
    /** kill -9 and start again: back with what the last save() held. */
    async kill () {
      const { journal } = store
      await stop()
      store = await JournalPersistence.replay(journal, saved)
      await start()
    },
    /** A clean stop and start: with persistence everything comes back, without it nothing. */
    async restart ({ persist }) {
      const { journal } = store
      await stop()
      store = persist ? await JournalPersistence.replay(journal, journal.length) : new JournalPersistence()
      saved = store.journal.length
      await start()
    },
    async retained (topic) {
      const packets = await store.createRetainedStream(topic).toArray()
      return packets[0]?.payload.toString('latin1')
    },
    close: stop
  }
  await start()
  return broker
}
