// Who may do what on the broker, from the config's topic templates: a device user (its name is the
// device's id, `id` in its overlay) only its own topics, the staff user every device's calls and
// states and the table states' clears; anyone else nothing (anonymous clients are refused).
import { ID_PLACEHOLDER } from '../build/config.mjs'

const TABLE = '{n}'

// device: the access a device has to its own topic; staff: the staff user's to every device's
const RULES = [
  { field: 'topic', device: 'write', staff: 'read' },
  { field: 'statusTopic', device: 'write', staff: 'read' },
  // The device sets `calling` and subscribes to its own states to see them answered; staff clear them.
  { field: 'tableTopic', device: 'readwrite', staff: 'readwrite' },
  { field: 'batteryTopic', device: 'write', staff: 'read' }
]

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
  return problems
}

/** The acl_file for mosquitto (call aclProblems first). */
export function aclFile (mqtt, staffUser) {
  const fill = (template, id) => template.replaceAll(ID_PLACEHOLDER, id).replaceAll(TABLE, '+')
  return [
    '# Written by `npm run broker -- init`; re-run it instead of editing.',
    '# Devices: each logs in with its id as user name (%u), and reaches only its own topics.',
    ...RULES.map(r => `pattern ${r.device} ${fill(mqtt[r.field], '%u')}`),
    '',
    '# Staff screens: read every device\'s calls and states, clear table states.',
    `user ${staffUser}`,
    ...RULES.map(r => `topic ${r.staff} ${fill(mqtt[r.field], '+')}`),
    ''
  ].join('\n')
}
