// Runs mqtt-packet (in Node, at build time) to produce every packet the device sends, so the device
// carries byte strings instead of an encoder: it only fills in its id, packet ids and fixed-width
// payloads.
import mqttPacket from 'mqtt-packet'
import { ID_PLACEHOLDER, ConfigError, schema } from './config.mjs'
import { readCa } from './ca.mjs'

// Stands in for the device id while mqtt-packet encodes; the same length as the real id (8 hex digits),
// so lengths and offsets computed here hold on the device, which puts its id in its place when it
// sends a packet (src/id.ts withId).
export const ID_MARKER = '\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008'

const encode = packet => mqttPacket.generate(packet).toString('latin1')
const mark = text => text.replaceAll(ID_PLACEHOLDER, ID_MARKER)

function connectPacket (mqtt) {
  return encode({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    // A persistent session: the broker keeps the subscription to the table states and queues the
    // answers made while the device is offline (see src/mqtt.ts).
    clean: false,
    clientId: mark(mqtt.clientId),
    keepalive: mqtt.keepalive,
    username: mqtt.username,
    password: mqtt.password === undefined ? undefined : Buffer.from(mqtt.password),
    will: { topic: mark(mqtt.statusTopic), payload: Buffer.from(OFFLINE), qos: 1, retain: true }
  })
}

function publishPacket ({ topic, payload, qos, retain = false, messageId = 0, dup = false }) {
  return encode({ cmd: 'publish', topic: mark(topic), payload: Buffer.from(payload), qos, retain, dup, messageId: qos ? messageId : undefined })
}

export const messageFor = (template, table) => template.replaceAll('{n}', String(table))

// Text for the device as its UTF-8 bytes, one char per byte: esbuild writes those as \xNN, which
// Espruino reads as one byte each (a \uNNNN escape would be cropped to 8 bits on ESP32 and the Pico).
const bytes = text => Buffer.from(text, 'utf8').toString('latin1')

// The device's SUBSCRIBE uses the one packet id its presses never take (they count 1 to 65534).
const SUBSCRIBE_ID = 65535
// The status: `2` says the device sends table states with call ids (old firmware said `online`).
const ONLINE = 'online 2'
const OFFLINE = 'offline 2'
// The longest payloads: a state `calling <call> <ms>` (a call id of up to 15 digits, 13 digits of ms
// since the epoch) and an answer `<call>`.
const STATE_MAX = 'calling '.length + 15 + 14
const ANSWER_MAX = 15

// A PUBLISH with a one-byte remaining length (src/codec.ts MAX_REMAINING) has this much room for its
// topic and payload, after the topic's length and a packet id: the device finds its topic and packet
// id from its 2-byte fixed header, and makes its states and presses with it.
const ROOM = 127 - 2 - 2
const topicBytes = (mqtt, field, table) => Buffer.byteLength(messageFor(mqtt[field], table).replaceAll(ID_PLACEHOLDER, '00000000'))

// A PUBLISH of `payloadMax` bytes on `field`'s topic for `table`.
function fits (mqtt, field, table, payloadMax) {
  const most = ROOM - payloadMax
  if (topicBytes(mqtt, field, table) > most) throw new ConfigError([`mqtt.${field}: ${topicBytes(mqtt, field, table)} bytes for table ${table}, longer than the ${most} bytes the device accepts (fix: shorten it)`])
}

// A table state (retained, QoS 1, `calling <call>[ <ms>]` or empty) has a one-byte remaining length:
// the device makes it from the state topic's entry in the SUBSCRIBE (src/tables.ts publishState). So
// has a press, made from the calls topic and the message (src/tables.ts press).
function checkTopics (config, table) {
  const { mqtt } = config
  fits(mqtt, 'tableTopic', table, STATE_MAX)
  fits(mqtt, 'answerTopic', table, ANSWER_MAX)
  const press = topicBytes(mqtt, 'topic', table) + Buffer.byteLength(messageFor(config.message, table))
  if (press > ROOM) throw new ConfigError([`mqtt.topic and message: ${press} bytes together for table ${table}, more than the ${ROOM} bytes a press can hold (fix: shorten them)`])
}

// Where the 2-byte packet id sits in a QoS 1 PUBLISH: found by encoding two ids and comparing.
function packetIdOffset (fields) {
  const a = publishPacket({ ...fields, messageId: 0x0102 })
  const b = publishPacket({ ...fields, messageId: 0x0304 })
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  throw new Error('mqtt-packet produced no packet id')
}

// A fixed-width payload the device overwrites with the cell voltage, e.g. "3.87".
const VOLTS_PLACEHOLDER = '0.00'
// Espruino's analogRead gives 0..1 of the 3.3 V supply.
const ADC_VOLTS = 3.3

function batterySettings (battery, mqtt) {
  if (!battery) return null
  const fields = { topic: mqtt.batteryTopic, payload: VOLTS_PLACEHOLDER, qos: 1, retain: true }
  return {
    pin: battery.pin,
    volts: ADC_VOLTS * battery.divider * battery.scale,
    // the device appends the voltage
    packet: publishPacket(fields).slice(0, -VOLTS_PLACEHOLDER.length),
    idAt: packetIdOffset(fields)
  }
}

/** Everything the firmware needs, as plain JSON (esbuild inlines it into the bundle). */
export function deviceSettings (config) {
  const { mqtt } = config
  config.buttons.forEach(b => checkTopics(config, b.table))
  return {
    // set: the device uses it for {id} instead of deriving one from its serial
    id: config.id || '',
    // the bytes in the packets that stand for the id (src/id.ts withId replaces them)
    idMarker: ID_MARKER,
    ssid: config.wifi ? bytes(config.wifi.ssid) : '',
    pass: config.wifi ? bytes(config.wifi.password) : '',
    host: bytes(mqtt.host),
    port: mqtt.port,
    tls: mqtt.tls,
    // base64: the device turns it into DER bytes with atob(), as Espruino's tls docs do
    ca: mqtt.tls && mqtt.ca ? readCa(mqtt.ca).toString('base64') : '',
    keepalive: mqtt.keepalive,
    qos: mqtt.qos,
    // the calls topic for the boot log line, with its {id}
    topic: bytes(mqtt.topic),
    // (a string, as every setting build.mjs writes in place: an array would be a variable kept for good)
    pins: config.buttons.map(b => b.pin).join(' '),
    tables: config.buttons.map(b => b.table),
    debounceMs: config.debounceMs,
    connect: connectPacket(mqtt),
    online: publishPacket({ topic: mqtt.statusTopic, payload: ONLINE, qos: 0, retain: true }),
    // A press's PUBLISH without its 2-byte fixed header (it fits one byte: checkTopics) and payload.
    call: publishPacket({ topic: mqtt.topic, payload: '', qos: mqtt.qos }).slice(2),
    message: bytes(config.message),
    ping: encode({ cmd: 'pingreq' }),
    // Per table its state topic (to learn after a reboot which calls are open), then its answer topic.
    subscribe: encode({ cmd: 'subscribe', messageId: SUBSCRIBE_ID, subscriptions: config.buttons.flatMap(b => [mqtt.tableTopic, mqtt.answerTopic].map(t => ({ topic: mark(messageFor(t, b.table)), qos: 1 }))) }),
    // The device writes the id of the PUBLISH it acknowledges over these zeros.
    puback: encode({ cmd: 'puback', messageId: 0 }),
    // Per button: its light (when any has one).
    leds: config.buttons.some(b => b.led) ? config.buttons.map(b => b.led || '') : [],
    powersave: (config.wifi && config.wifi.powersave) || schema.properties.wifi.properties.powersave.default,
    battery: batterySettings(config.battery, mqtt)
  }
}
