// An MQTT.js client that records what arrives on a topic, for tests and the simulator.
import mqtt from 'mqtt'

/**
 * @param {string} url broker URL (mqtt:// or ws://)
 * @param {string|string[]} topic topic filter(s) (wildcards allowed)
 * @param {{qos?: number, onMessage?: (message) => void}} options
 * @returns {Promise<{messages, waitFor(predicateOrCount, timeoutMs), close()}>}
 *   messages: [{topic, payload: string, retain, dup, qos, at: Date.now()}]
 */
export async function subscribe (url, topic, { qos = 1, onMessage } = {}) {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, connectTimeout: 5000 })
  const messages = []
  const waiters = new Set()
  client.on('message', (t, payload, packet) => {
    const message = { topic: t, payload: payload.toString('utf8'), retain: packet.retain, dup: packet.dup, qos: packet.qos, at: Date.now() }
    messages.push(message)
    if (onMessage) onMessage(message)
    for (const w of waiters) w.check()
  })
  await client.subscribeAsync(topic, { qos })

  return {
    messages,
    /** Resolves with the messages once predicate(messages) is true (or `count` have arrived). */
    waitFor (predicateOrCount, timeoutMs = 5000) {
      const done = typeof predicateOrCount === 'number'
        ? list => list.length >= predicateOrCount
        : predicateOrCount
      return new Promise((resolve, reject) => {
        const waiter = {
          check () {
            if (!done(messages)) return
            clearTimeout(timer)
            waiters.delete(waiter)
            resolve(messages)
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          const got = messages.map(m => `${m.topic}: ${JSON.stringify(m.payload)}${m.retain ? ' (retained)' : ''}`)
          const what = typeof predicateOrCount === 'number' ? `${predicateOrCount} message(s)` : 'the expected message'
          reject(new Error(`subscriber on ${topic}: waited ${timeoutMs} ms for ${what}; got ${got.length}: ${got.join(' | ') || 'nothing'}`))
        }, timeoutMs)
        waiters.add(waiter)
        waiter.check()
      })
    },
    close () { return client.endAsync(true) }
  }
}
