// A TCP link between the device and a broker that tests can break the ways restaurant WiFi does:
// cut in the middle of a packet, go silent (half-open), or accept TCP and never answer.
import net from 'node:net'
import { EventEmitter } from 'node:events'

/**
 * @param {{port: number, host?: string}} target the broker
 * @returns link: {port, mode, recorded, connections, setMode(mode), cutNextPublish(), close()}
 *   mode 'pass' forwards both ways; 'silent' forwards nothing from the broker (and, for new
 *   connections, never opens one to it); 'deaf' forwards nothing from the device (what it sends is
 *   lost on the way, as to a broker about to crash); 'refuse' closes new connections at once.
 *   recorded: per connection, what the device sent (data) and what the broker sent it (received), as
 *   binary strings.
 */
export async function startLink (target) {
  const link = new EventEmitter()
  const pairs = new Set()
  let cutPublish = false
  link.mode = 'pass'
  link.recorded = []
  link.setMode = mode => { link.mode = mode }
  // The next PUBLISH from the device reaches the broker only in part; then both sides are reset.
  link.cutNextPublish = () => { cutPublish = true }

  const server = net.createServer(device => {
    const sent = { data: '', received: '', at: Date.now() }
    link.recorded.push(sent)
    link.emit('connection', sent)
    if (link.mode === 'refuse') return device.destroy()
    const broker = link.mode === 'silent' ? null : net.connect(target.port, target.host || '127.0.0.1')
    const pair = { device, broker }
    pairs.add(pair)
    const drop = () => {
      pairs.delete(pair)
      device.destroy()
      if (broker) broker.destroy()
    }
    device.on('data', chunk => {
      const data = chunk.toString('latin1')
      sent.data += data
      link.emit('data', data)
      if (!broker || link.mode === 'deaf') return
      // The device writes one packet per write, so a chunk starts with a packet's first byte (TCP
      // may join the next ones to it): half of that packet gets through.
      if (cutPublish && chunk[0] >> 4 === 3) {
        cutPublish = false
        broker.write(chunk.subarray(0, Math.ceil(packetLength(chunk) / 2)), drop)
        link.emit('cut')
        return
      }
      broker.write(chunk)
    })
    if (broker) {
      broker.on('data', chunk => {
        if (link.mode !== 'pass' && link.mode !== 'deaf') return
        sent.received += chunk.toString('latin1')
        device.write(chunk)
      })
      broker.on('error', drop)
      broker.on('close', drop)
    }
    device.on('error', drop)
    device.on('close', drop)
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  link.port = server.address().port
  link.connections = () => pairs.size
  link.close = () => new Promise(resolve => {
    for (const pair of pairs) { pair.device.destroy(); if (pair.broker) pair.broker.destroy() }
    server.close(() => resolve())
  })
  return link
}

/**
 * Bytes of the MQTT packet at the start of `chunk` (a Buffer): fixed header, remaining length
 * (variable-length integer), then that many bytes.
 */
export function packetLength (chunk) {
  let length = 0
  let i = 1
  for (let shift = 0; i < chunk.length; shift += 7) {
    length += (chunk[i] & 127) << shift
    if (!(chunk[i++] & 128)) break
  }
  return i + length
}
