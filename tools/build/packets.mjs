// Runs mqtt-packet (in Node, at build time) to produce every packet the device sends, so the device
// carries byte strings instead of an encoder: it only fills in its id and the packet id.
import mqttPacket from 'mqtt-packet'
import { ID_PLACEHOLDER } from './config.mjs'
import { readCa } from './ca.mjs'

// Stands in for the device id while mqtt-packet encodes; the same length as the real id (8 hex digits),
// so lengths and offsets computed here hold on the device.
const ID_MARKER = '\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008'

const encode = packet => mqttPacket.generate(packet).toString('latin1')
const mark = text => text.replaceAll(ID_PLACEHOLDER, ID_MARKER)

// The device joins these pieces with its id; a packet without the id is a single piece.
const pieces = packet => packet.split(ID_MARKER)

function connectPacket (mqtt) {
  return encode({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: mark(mqtt.clientId),
    keepalive: mqtt.keepalive,
    username: mqtt.username,
    password: mqtt.password === undefined ? undefined : Buffer.from(mqtt.password),
    will: { topic: mark(mqtt.statusTopic), payload: Buffer.from('offline'), qos: 1, retain: true }
  })
}

function publishPacket ({ topic, payload, qos, retain = false, messageId = 0, dup = false }) {
  return encode({ cmd: 'publish', topic: mark(topic), payload: Buffer.from(payload), qos, retain, dup, messageId: qos ? messageId : undefined })
}

export const messageFor = (template, table) => template.replaceAll('{n}', String(table))

// Text for the device as its UTF-8 bytes, one char per byte: esbuild writes those as \xNN, which
// Espruino reads as one byte each (a \uNNNN escape would be cropped to 8 bits on ESP32 and the Pico).
const bytes = text => Buffer.from(text, 'utf8').toString('latin1')

// Where the 2-byte packet id sits in a QoS 1 PUBLISH: found by encoding two ids and comparing.
function packetIdOffset (fields) {
  const a = publishPacket({ ...fields, messageId: 0x0102 })
  const b = publishPacket({ ...fields, messageId: 0x0304 })
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  throw new Error('mqtt-packet produced no packet id')
}

/** Everything the firmware needs, as plain JSON (esbuild inlines it into the bundle). */
export function deviceSettings (config, target) {
  const { mqtt } = config
  const press = config.buttons.map(b => ({ topic: mqtt.topic, payload: messageFor(config.message, b.table), qos: mqtt.qos }))
  return {
    target,
    // set: the device uses it for {id} instead of deriving one from its serial
    id: config.id || '',
    ssid: config.wifi ? bytes(config.wifi.ssid) : '',
    pass: config.wifi ? bytes(config.wifi.password) : '',
    host: bytes(mqtt.host),
    port: mqtt.port,
    tls: mqtt.tls,
    // base64: the device turns it into DER bytes with atob(), as Espruino's tls docs do
    ca: mqtt.tls && mqtt.ca ? readCa(mqtt.ca).toString('base64') : '',
    keepalive: mqtt.keepalive,
    qos: mqtt.qos,
    topic: bytes(mqtt.topic),
    pins: config.buttons.map(b => b.pin),
    tables: config.buttons.map(b => b.table),
    debounceMs: config.debounceMs,
    connect: pieces(connectPacket(mqtt)),
    online: pieces(publishPacket({ topic: mqtt.statusTopic, payload: 'online', qos: 0, retain: true })),
    press: press.map(fields => pieces(publishPacket(fields))),
    // Offsets are in the joined packet; the id has the marker's length.
    idAt: mqtt.qos ? press.map(packetIdOffset) : [],
    ping: encode({ cmd: 'pingreq' })
  }
}
