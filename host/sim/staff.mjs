// The simulator's staff view: the staff board's own message checks (board/staff.js, board/model.js)
// for events, status and battery on a persistent MQTT session, and the calls as a staff screen keys
// them: by table state and call id (issue #17), answered by publishing the call id.
import { randomBytes } from 'node:crypto'
import mqtt from 'mqtt'
import { SUBSCRIBE_OPTIONS, Staff, sessionOptions } from '../../board/staff.js'
import { topicTemplates } from '../../board/topics.js'

// The device's table state: `calling <call>` or `calling <call> <ms since 1970>`; empty once answered.
const CALLING = /^calling ([1-9][0-9]{0,14})(?: ([0-9]{13}))?$/

/**
 * @param {{url: string, config: object, devices: string[], clientId?: string, onChange: (change, packet, staff: Staff) => void, onCall?: (call, change: 'new' | 'cleared') => void}} options
 *   devices: device ids (or ['+']); clientId: the same id resumes the same broker session.
 *   onCall: a call ({device, table, call, since, exact}) opened, or ended (its state empty or a newer call).
 * @returns {Promise<{staff: Staff, clientId: string, calls: Map, longest(): object | null, answer(call): Promise<void>, close(): Promise<void>}>}
 */
export async function startStaffView ({ url, config, devices, clientId = `tablecall-staff-${randomBytes(4).toString('hex')}`, onChange, onCall = () => {} }) {
  const staff = new Staff({
    templates: topicTemplates(config.mqtt),
    settings: { devices, tables: config.buttons.map(b => b.table) },
    message: config.message
  })
  // The open calls by state topic: {device, table, call, since, exact}.
  const calls = new Map()
  const state = (topic, { device, table }, text) => {
    const m = CALLING.exec(text)
    const open = calls.get(topic)
    if (open && open.call === m?.[1]) return
    if (open) {
      calls.delete(topic)
      onCall(open, 'cleared')
    }
    if (!m) return
    const call = { device, table, call: m[1], since: m[2] ? Number(m[2]) : Date.now(), exact: Boolean(m[2]) }
    calls.set(topic, call)
    onCall(call, 'new')
  }
  // Reconnects faster than a screen: the simulator restarts its broker in well under a second.
  const client = mqtt.connect(url, { ...sessionOptions(clientId), reconnectPeriod: 200 })
  // Listening before the CONNACK: a resumed session's messages follow it at once.
  client.on('message', (topic, payload, packet) => {
    const where = staff.match(topic)
    if (where?.kind === 'table' && staff.accepts(where.device)) return state(topic, where, payload.toString())
    const change = staff.receive(topic, payload, packet.retain, Date.now())
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
    calls,
    /** The call waiting longest, or null. */
    longest: () => [...calls.values()].reduce((a, b) => !a || b.since < a.since ? b : a, null),
    /** Answers `call` as a screen tap does: its id, retained, QoS 1, on its table's answer topic. */
    answer: ({ device, table, call }) => client.publishAsync(config.mqtt.answerTopic.replaceAll('{id}', device).replaceAll('{n}', String(table)), call, { qos: 1, retain: true }),
    close: () => client.endAsync(true)
  }
}
