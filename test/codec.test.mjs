// The device's inbound decoder, against mqtt-packet's parser as the oracle.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import mqttPacket from 'mqtt-packet'
import { importSrc } from './helpers/src-module.mjs'

const { decode, CONNACK, PUBACK, PINGRESP, SUBACK, PUBLISH, MAX_REMAINING } = await importSrc('src/codec.ts')
const SEED = 20261125

// Feeds chunks the way src/mqtt.ts does: what is left of one chunk is prepended to the next.
function feed (chunks) {
  const packets = []
  let rx = ''
  for (const chunk of chunks) {
    rx = decode(rx + chunk, (type, value, a, b, r) => packets.push(a === undefined ? { type, value } : b === undefined ? { type, value, a } : { type, value, a, b, r }))
    if (rx === null) return { packets, malformed: true }
  }
  return { packets, malformed: false, rest: rx }
}

// What mqtt-packet's parser makes of the same bytes, in the decoder's terms.
function oracle (bytes) {
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const packets = []
  parser.on('packet', p => {
    if (p.cmd === 'connack') packets.push({ type: CONNACK, value: p.returnCode + (p.sessionPresent ? 256 : 0) })
    else if (p.cmd === 'puback') packets.push({ type: PUBACK, value: p.messageId })
    else if (p.cmd === 'pingresp') packets.push({ type: PINGRESP, value: 0 })
    else if (p.cmd === 'suback') packets.push({ type: SUBACK, value: p.messageId, a: String.fromCharCode(...p.granted) })
    // the device's topic is the bytes as they came (a binary string); mqtt-packet decodes them as UTF-8
    else if (p.cmd === 'publish') packets.push({ type: PUBLISH, value: p.qos ? p.messageId : 0, a: p.topic, b: p.payload.toString('latin1'), r: p.retain ? 1 : 0 })
    else packets.push({ type: -1, value: p.cmd })
  })
  parser.on('error', () => packets.push({ type: -1, value: 'error' }))
  parser.parse(Buffer.from(bytes, 'latin1'))
  return packets
}

const asUtf8 = p => p.type === PUBLISH ? { ...p, a: Buffer.from(p.a, 'latin1').toString('utf8') } : p

const gen = p => mqttPacket.generate(p).toString('latin1')
const messageId = fc.integer({ min: 1, max: 65535 })
// Table states as the broker sends them (and what strangers may publish there), up to the size limit.
const topic = fc.oneof(fc.constant('tablecall/0e47f3b1/table/3'), fc.string({ unit: 'binary', maxLength: 40 }))
const payload = fc.oneof(fc.constantFrom('', '1000001', 'calling 1000001', 'calling 1000001 1795675200000'), fc.uint8Array({ maxLength: 40 }).map(a => Buffer.from(a)))
const publish = fc.record({ cmd: fc.constant('publish'), topic, payload, qos: fc.constantFrom(0, 1), dup: fc.boolean(), retain: fc.boolean(), messageId })
  .filter(p => Buffer.byteLength(p.topic) + p.payload.length + 2 + 2 * p.qos <= MAX_REMAINING)
const brokerPacket = fc.oneof(
  fc.record({ cmd: fc.constant('connack'), returnCode: fc.integer({ min: 0, max: 5 }), sessionPresent: fc.boolean() }),
  fc.record({ cmd: fc.constant('puback'), messageId }),
  fc.constant({ cmd: 'pingresp' }),
  fc.record({ cmd: fc.constant('suback'), messageId, granted: fc.array(fc.constantFrom(0, 1, 2, 128), { minLength: 1, maxLength: 16 }) }),
  publish
).map(gen)

test('valid broker streams cut at every byte boundary decode exactly as mqtt-packet parses them', () => {
  fc.assert(fc.property(fc.array(brokerPacket, { minLength: 1, maxLength: 6 }), packets => {
    const stream = packets.join('')
    const expected = oracle(stream)
    assert.deepEqual(feed([stream]).packets.map(asUtf8), expected)
    for (let cut = 1; cut < stream.length; cut++) {
      const result = feed([stream.slice(0, cut), stream.slice(cut)])
      assert.equal(result.malformed, false)
      assert.deepEqual(result.packets.map(asUtf8), expected, `cut at ${cut}`)
      assert.equal(result.rest, '')
    }
    assert.deepEqual(feed([...stream]).packets.map(asUtf8), expected, 'one byte per data event')
  }), { seed: SEED, numRuns: 300 })
})

test('10,000 random byte streams: nothing throws; what is accepted is what mqtt-packet parses', () => {
  const bytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }).map(a => String.fromCharCode(...a))
  fc.assert(fc.property(bytes, fc.integer({ min: 1, max: 8 }), (stream, pieces) => {
    const size = Math.ceil(stream.length / pieces) || 1
    const chunks = []
    for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size))
    const result = feed(chunks)
    // Every packet handed on is one the oracle parses the same way, in the same place.
    assert.deepEqual(result.packets.map(asUtf8), oracle(stream).slice(0, result.packets.length))
  }), { seed: SEED, numRuns: 10000 })
})

test('garbage, packets this client never expects and oversized packets are refused, not thrown', () => {
  const refused = [
    gen({ cmd: 'publish', topic: 'a', payload: 'x', qos: 2, messageId: 1 }), // the device subscribes at QoS 1
    gen({ cmd: 'publish', topic: 'a', payload: 'x'.repeat(MAX_REMAINING), qos: 0 }),
    gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1 }] }),
    gen({ cmd: 'pubrec', messageId: 1 }),
    '\x32\x05\x00\x01a\x00\x00', // QoS 1 PUBLISH with packet id 0
    '\x30\x05\x00\x09abc', // topic longer than the packet
    '\x90\x03\x00\x01\x03', // SUBACK return code 3
    '\x20\x02\x02\x00', // CONNACK with reserved flag bits
    '\x40\x02\x00\x00', // PUBACK for packet id 0
    '\x21\x02\x00\x00', // wrong fixed-header flags
    '\xd0\x01\x00',
    '\xff\xff\xff\xff\xff',
    'HTTP/1.1 400 Bad Request\r\n'
  ]
  for (const bytes of refused) assert.equal(feed([bytes]).malformed, true, JSON.stringify(bytes))
  // An oversized or unknown packet is refused on its first two bytes, not after buffering its body.
  for (const bytes of refused.slice(1, 4)) assert.equal(feed([bytes.slice(0, 2)]).malformed, true, JSON.stringify(bytes))
})

test('an incomplete packet waits for the rest', () => {
  assert.deepEqual(feed(['\x40']), { packets: [], malformed: false, rest: '\x40' })
  assert.deepEqual(feed(['\x40\x02\x00']), { packets: [], malformed: false, rest: '\x40\x02\x00' })
})
