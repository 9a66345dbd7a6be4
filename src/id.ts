// The device's id, the {id} of its client id and topics: the config's `id`, or 8 hex digits made from
// the chip's serial number (unique per device, the same after every reboot).
import { serialNumber } from './platform'

export let id = __TABLECALL__.id
if (!id) {
  // (in a block: its names go once it has run)
  const serial = serialNumber()
  let h = 0
  for (let i = 0; i < serial.length; i++) h = (h * 31 + serial.charCodeAt(i)) % 2147483647
  id = ('0000000' + h.toString(16)).slice(-8)
}

/**
 * A packet (or a part of one) from the build with the id in place of the 8 bytes that mark it there
 * (tools/build/packets.mjs ID_MARKER), made when it is sent: the packets are kept as the build wrote
 * them, in the program's text, which a board keeps in flash (a string made here would take memory for
 * good).
 */
export const withId = (packet: string) => packet.split(__TABLECALL__.idMarker).join(id)
