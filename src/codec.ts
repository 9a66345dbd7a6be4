// Inbound MQTT: the broker may send CONNACK, PUBACK, SUBACK, PINGRESP and PUBLISH (QoS 0 or 1: the
// device subscribes at QoS 1 to its own table states). Anything else is a protocol error, which the
// caller answers by reconnecting. Outbound packets are made at build time by mqtt-packet; see
// tools/build/packets.mjs.

export const CONNACK = 2
export const PUBLISH = 3
export const PUBACK = 4
export const SUBACK = 9
export const PINGRESP = 13

/**
 * The longest packet accepted: a remaining length of one byte, up to 127. A table state PUBLISH is
 * 2 + topic + 2 + at most 21 bytes of payload (`calling ` and 13 digits), so topics up to 100 bytes
 * fit; the build refuses a table topic that would not. Longer packets are refused before their
 * bytes are buffered, so a stranger cannot fill the device's memory.
 */
export const MAX_REMAINING = 127

/**
 * Hands every whole packet at the front of `buf` to `onPacket(type, value, a, b, r)`:
 * CONNACK: value = return code, + 256 if the broker kept the session;
 * PUBACK: value = packet id; SUBACK: value = packet id, a = the return codes;
 * PUBLISH: value = packet id (0 for QoS 0), a = topic, b = payload (binary strings), r = 1 when the
 * broker sent it as retained (because of a new subscription), else 0.
 * Returns the rest of `buf` (the start of a packet still to come), or null when the bytes are not a
 * packet this client accepts. Never throws.
 */
export function decode (buf: string, onPacket: (type: number, value: number, a?: string, b?: string, r?: number) => void): string | null {
  while (buf.length >= 2) {
    const head = buf.charCodeAt(0)
    const size = buf.charCodeAt(1)
    // Refused on the fixed header, before waiting for bytes that would be garbage anyway.
    if (size > MAX_REMAINING || !(head === 0x20 || head === 0x40 ? size === 2 : head === 0xd0 ? !size : head === 0x90 ? size > 2 : (head & 0xf4) === 0x30 && size > 1)) return null
    if (buf.length < 2 + size) break
    const third = buf.charCodeAt(2)
    // the packet id (CONNACK: its flags and code), or a PUBLISH's topic length
    const n = (third << 8) | buf.charCodeAt(3)
    let value = n
    // SUBACK: its return codes; PUBLISH: its topic, then its payload
    let a: string | undefined
    let b: string | undefined
    // CONNACK: the session-present flag is 0 or 1; PUBACK, SUBACK: a packet id is never 0
    if (head === 0x20 ? third > 1 : (head === 0x40 || head === 0x90) && !n) return null
    if (head === 0xd0) value = 0
    else if (head === 0x90) {
      // return codes: 0, 1, 2 (the QoS granted) or 0x80 (refused); bytes, so control characters
      a = buf.slice(4, 2 + size)
      // eslint-disable-next-line no-control-regex
      if (/[^\0\x01\x02\x80]/.test(a)) return null
    } else if (head !== 0x20 && head !== 0x40) {
      // 0x30 | DUP (tolerated) | QoS 0 or 1 | RETAIN; the topic, then a packet id for QoS 1
      const at = 4 + n + (head & 2)
      value = head & 2 ? (buf.charCodeAt(at - 2) << 8) | buf.charCodeAt(at - 1) : 0
      if (at > 2 + size || ((head & 2) && !value)) return null
      a = buf.slice(4, 4 + n)
      b = buf.slice(at, 2 + size)
    }
    // the type: the header's high 4 bits (a PUBLISH's low ones are its flags)
    onPacket(head >> 4, value, a, b, head & 1)
    buf = buf.slice(2 + size)
  }
  return buf
}

/** A QoS 1 PUBLISH (or a PUBACK) with its packet id written at `at` and, for a retransmission, the DUP flag. */
export function withPacketId (packet: string, at: number, id: number, dup: boolean): string {
  return String.fromCharCode(packet.charCodeAt(0) | (dup ? 8 : 0)) + packet.slice(1, at) +
    String.fromCharCode(id >> 8, id & 255) + packet.slice(at + 2)
}
