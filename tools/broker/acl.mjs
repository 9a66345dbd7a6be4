// Who may do what on the broker, from the config's topic templates (CONTRACT.md "Broker"): a device
// user (its name is the device's id, `id` in its overlay) only its own topics; the staff user reads
// every device's calls, status, states and battery and writes only answers; the broker tool's admin
// login everything under every device; anyone else nothing (anonymous clients are refused).
import { ID_PLACEHOLDER } from '../build/config.mjs'

const TABLE = '{n}'
// device: the access a device has to its own topic; staff: the staff user's to every device's
const RULES = [
  { field: 'topic', device: 'write', staff: 'read' },
  { field: 'statusTopic', device: 'write', staff: 'read' },
  // The device publishes its tables' states and reads them back after a reboot; only it writes them.
  { field: 'tableTopic', device: 'readwrite', staff: 'read' },
  // Staff answer a call by its id; the device reads the answers for its tables.
  { field: 'answerTopic', device: 'read', staff: 'write' },
  { field: 'batteryTopic', device: 'write', staff: 'read' }
]

/** A template as an ACL topic: {id} replaced by `id`, {n} by +. */
export const fill = (template, id) => template.replaceAll(ID_PLACEHOLDER, id).replaceAll(TABLE, '+')

// Whether two topic filters without # can match one topic.
const overlap = (a, b) => a.length === b.length && a.every((level, i) => level === b[i] || level === '+' || b[i] === '+')

/**
 * @param {object} mqtt the config's mqtt section
 * @returns {string[]} problems, each naming the field and the fix
 */
export function aclProblems (mqtt) {
  const problems = []
  for (const { field } of RULES) {
    const levels = mqtt[field].split('/')
    if (!levels.includes(ID_PLACEHOLDER)) problems.push(`mqtt.${field}: "${mqtt[field]}" has no "${ID_PLACEHOLDER}" level, so the broker cannot keep one device off another's topics (fix: put {id} in it as a whole level, e.g. "tablecall/{id}/calls")`)
    for (const p of [ID_PLACEHOLDER, TABLE]) {
      if (levels.some(l => l.includes(p) && l !== p)) problems.push(`mqtt.${field}: "${p}" must be a whole topic level for the broker's access rules (fix: e.g. "tablecall/{id}/table/{n}")`)
    }
  }
  // The rules name topics with + for {id} and {n}: two that can match one topic would give one
  // field's access to the other (staff writing answers could then write calls).
  const filters = RULES.map(({ field }) => ({ field, levels: fill(mqtt[field], '+').split('/') }))
  filters.forEach((a, i) => filters.slice(i + 1).forEach(b => {
    if (overlap(a.levels, b.levels)) problems.push(`mqtt.${b.field}: "${mqtt[b.field]}" and mqtt.${a.field} "${mqtt[a.field]}" can name the same topic for some device and table, so the broker's access rules cannot tell them apart (fix: give them different fixed levels, e.g. "tablecall/{id}/table/{n}" and "tablecall/{id}/table/{n}/answer")`)
  }))
  return problems
}

/**
 * The acl_files for mosquitto, one per listener (call aclProblems first): mosquitto applies a
 * `pattern` line to every user of its file, so the staff's listener gets a file without the devices'
 * patterns (or the staff could publish as a device named "staff").
 * @returns {{devices: string, staff: string}}
 */
export function aclFiles (mqtt, { staff, admin }) {
  const head = '# Written by `npm run broker -- init`; re-run it instead of editing.'
  const user = (name, access) => [`user ${name}`, ...RULES.map(r => `topic ${access(r)} ${fill(mqtt[r.field], '+')}`), '']
  return {
    devices: [
      head,
      '# Devices: each logs in with its id as user name (%u), and reaches only its own topics.',
      ...RULES.map(r => `pattern ${r.device} ${fill(mqtt[r.field], '%u')}`),
      '',
      '# The broker tool\'s own login (admin.json): `npm run broker -- retire` clears a retired device\'s topics.',
      ...user(admin, () => 'readwrite')
    ].join('\n'),
    staff: [
      head,
      '# Staff screens: read every device\'s calls, status, table states and battery; write only answers.',
      ...user(staff, r => r.staff)
    ].join('\n')
  }
}
