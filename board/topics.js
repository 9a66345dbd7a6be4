// The device's topics (templates from espruino.config.json with {id} = the device's 8 hex digits and
// {n} = a table number): filled in to subscribe, matched on receipt.

/** The templates the staff side uses, from a config's `mqtt` section. */
export const topicTemplates = (mqtt) =>
  ({ event: mqtt.topic, status: mqtt.statusTopic, table: mqtt.tableTopic, battery: mqtt.batteryTopic, answer: mqtt.answerTopic })

// What a staff screen reads; the answer topic it only writes.
const READ = ['event', 'status', 'table', 'battery']

const fill = (template, id, n) => template.replaceAll('{id}', id).replaceAll('{n}', n)

/** Topic filters for `devices` (ids, or ['+'] for every device under the prefix), without repeats. */
export function subscriptions (templates, devices) {
  const filters = new Set()
  for (const id of devices) for (const kind of READ) filters.add(fill(templates[kind], id, '+'))
  return [...filters]
}

/** The answer topic of table `n` at device `id`. */
export const answerTopic = (templates, id, n) => fill(templates.answer, id, String(n))

export const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * (topic) => { kind, device, table? } or null. A device id is 8 lower-case hex digits ('' when the
 * template has no {id}); a table number is 1-9999. Anything else is not ours.
 */
export function topicMatcher (templates) {
  const rules = READ.map((kind) => {
    const template = templates[kind]
    const names = []
    const source = template.split(/(\{id\}|\{n\})/).map((piece) => {
      if (piece === '{id}') names.push('device')
      else if (piece === '{n}') names.push('table')
      else return escape(piece)
      return piece === '{id}' ? '([0-9a-f]{8})' : '([1-9]\\d{0,3})'
    }).join('')
    return { kind, names, re: new RegExp(`^${source}$`) }
  })
  return (topic) => {
    for (const { kind, names, re } of rules) {
      const m = re.exec(topic)
      if (!m) continue
      const found = { kind, device: '' }
      names.forEach((name, i) => { found[name] = name === 'table' ? Number(m[i + 1]) : m[i + 1] })
      return found
    }
    return null
  }
}
