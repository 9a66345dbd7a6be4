// The simulator's staff view: the staff board's own state (board/staff.js, board/model.js) on a
// persistent MQTT session, so it sees what a staff screen would see.
import { randomBytes } from 'node:crypto'
import mqtt from 'mqtt'
import { SUBSCRIBE_OPTIONS, Staff, sessionOptions } from '../../board/staff.js'
import { topicTemplates } from '../../board/topics.js'

/**
 * @param {{url: string, config: object, devices: string[], clientId?: string, onChange: (change, packet, staff: Staff) => void}} options
 *   devices: device ids (or ['+']); clientId: the same id resumes the same broker session.
 * @returns {Promise<{staff: Staff, clientId: string, answer(table: number): Promise<void>, close(): Promise<void>}>}
 */
export async function startStaffView ({ url, config, devices, clientId = `tablecall-staff-${randomBytes(4).toString('hex')}`, onChange }) {
  const staff = new Staff({
    templates: topicTemplates(config.mqtt),
    settings: { devices, tables: config.buttons.map(b => b.table) },
    message: config.message
  })
  // Reconnects faster than a screen: the simulator restarts its broker in well under a second.
  const client = mqtt.connect(url, { ...sessionOptions(clientId), reconnectPeriod: 200 })
  // As the page does (board/app.js): at every CONNACK without a session the calls go, until the
  // retained states bring back those still open; a state of a call this view answered sends its
  // answer again (a broker crash may have lost it).
  client.on('connect', connack => staff.board.connected(connack.sessionPresent))
  // Listening before the CONNACK: a resumed session's messages follow it at once.
  client.on('message', (topic, payload, packet) => {
    const change = staff.receive(topic, payload, packet.retain, Date.now())
    for (const { topic, payload, options } of change?.answers ?? []) client.publish(topic, payload, options)
    if (change) onChange(change, packet, staff)
  })
  try {
    await new Promise((resolve, reject) => {
      client.once('connect', resolve)
      client.once('error', reject)
    })
  } catch (err) {
    await client.endAsync(true)
    throw err
  }
  await client.subscribeAsync(staff.filters, SUBSCRIBE_OPTIONS)
  return {
    staff,
    clientId,
    /** Answers `table` as a screen tap does: each waiting call's id, retained, on its answer topic. */
    async answer (table) {
      for (const { topic, payload, options } of staff.answer(table)) await client.publishAsync(topic, payload, options)
    },
    close: () => client.endAsync(true)
  }
}
