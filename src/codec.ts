// Inbound MQTT for a client that only publishes: the broker may send CONNACK, PUBACK and PINGRESP.
// Anything else is a protocol error, which the caller answers by reconnecting. Outbound packets are
// made at build time by mqtt-packet; see tools/build/packets.mjs.

export const CONNACK = 2
export const PUBACK = 4
export const PINGRESP = 13

/**
 * Hands every whole packet at the front of `buf` to `onPacket(type, value)`: value is the CONNACK
 * return code or the PUBACK packet id. Returns the rest of `buf` (the start of a packet still to come),
 * or null when the bytes are not a packet this client accepts. Never throws.
 */
export function decode (buf: string, onPacket: (type: number, value: number) => void): string | null {
  while (buf.length >= 2) {
    const head = buf.charCodeAt(0)
    const size = buf.charCodeAt(1)
    // Every packet accepted here has at most 2 bytes after the fixed header, so a longer (or
    // multi-byte) remaining length is rejected before waiting for bytes that would be garbage anyway.
    if (size > 2) return null
    if (buf.length < 2 + size) break
    const a = buf.charCodeAt(2)
    const b = buf.charCodeAt(3)
    if (head === 0x20 && size === 2 && a < 2) onPacket(CONNACK, b)
    else if (head === 0x40 && size === 2 && (a | b)) onPacket(PUBACK, (a << 8) | b)
    else if (head === 0xd0 && size === 0) onPacket(PINGRESP, 0)
    else return null
    buf = buf.slice(2 + size)
  }
  return buf
}

/** A QoS 1 PUBLISH with its packet id written at `at` and, for a retransmission, the DUP flag. */
export function withPacketId (packet: string, at: number, id: number, dup: boolean): string {
  return String.fromCharCode(packet.charCodeAt(0) | (dup ? 8 : 0)) + packet.slice(1, at) +
    String.fromCharCode(id >> 8, id & 255) + packet.slice(at + 2)
}
