#!/usr/bin/env node
// `npm start`: the firmware in the simulator with a live terminal view.
//   node host/sim/start.mjs [--broker mqtt://host:port] [--config FILE] [--no-wifi] [--runtime espruino|kaluma]
// Keys: 1-9 press that table's button, a answers the longest-waiting call by its id (as a tap on the staff board),
// d drops the WiFi link, b restarts the built-in broker, v drains the simulated battery, q quits.
// Without a terminal (piped stdin) the same keys are read from stdin, so scripts and tests drive it too.
import { parseArgs } from 'node:util'
import { relative } from 'node:path'
import { startSession } from './session.mjs'
import { ConfigError } from '../../tools/build/config.mjs'
import { BuildError } from '../../build.mjs'

const BATTERY_STEP_V = 0.1
const tty = process.stdout.isTTY
const paint = (code, text) => tty ? `\x1b[${code}m${text}\x1b[0m` : text
const clock = () => new Date().toISOString().slice(11, 23)
const show = (who, text) => console.log(`${paint(2, clock())}  ${who}  ${text}`)

function options () {
  try {
    return parseArgs({
      options: {
        broker: { type: 'string' },
        config: { type: 'string', default: 'espruino.config.json' },
        'no-wifi': { type: 'boolean', default: false },
        runtime: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false }
      }
    }).values
  } catch (err) {
    throw new Error(`${err.message} (fix: npm start -- --help)`)
  }
}

async function main () {
  const args = options()
  if (args.help) {
    console.log([
      'npm start [-- --broker mqtt://host:port] [--config FILE] [--no-wifi] [--runtime espruino|kaluma]',
      "keys: 1-9 press that table's button, a answers the longest call, d drops the WiFi link,",
      '      b restarts the built-in broker, v drains the simulated battery by 0.1 V, q quits'
    ].join('\n'))
    return
  }
  if (args.runtime !== undefined && !['espruino', 'kaluma'].includes(args.runtime)) throw new Error(`--runtime: "${args.runtime}" is not known (fix: espruino or kaluma)`)
  const session = await startSession({
    runtime: args.runtime,
    configPath: args.config,
    brokerUrl: args.broker,
    wifi: !args['no-wifi'],
    battery: true,
    log: line => show(paint(36, 'device'), line)
  })
  const { config, device, broker } = session
  const tables = config.buttons.map(b => b.table)
  console.log([
    `${paint(1, 'tablecall simulator')}: ${relative(process.cwd(), 'dist/tablecall.js')} running in the ${config.runtime === 'kaluma' ? 'Kaluma 1.2.1' : 'Espruino 2v29'} host runtime`,
    `broker  ${session.url}${broker ? ' (built in)' : ''}; the device's connections to ${config.mqtt.host}:${config.mqtt.port} go there`,
    `topic   ${session.topic}    status: ${session.statusTopic}`,
    `battery ${session.batteryTopic}${session.batteryAdded ? ` (a simulated cell on ${config.battery.pin}: the config sets no battery, see docs/power.md)` : ''}`,
    `keys    ${tables.filter(t => t < 10).join(' ')} press a table's button · a answer the longest call · d drop WiFi · b restart the broker · v drain the battery · q quit`,
    ''
  ].join('\n'))
  session.on('call', c => show(paint(33, 'staff '), `${paint(1, c.payload)}${c.latencyMs === undefined ? '' : `   (${c.latencyMs} ms after the press)`}${c.dup ? '  [duplicate]' : ''}`))
  session.on('table', t => show(paint(33, 'staff '), t.change === 'cleared'
    ? `table ${t.table} call ${t.call} ended`
    : `${paint(1, `table ${t.table} calling`)} since ${t.exact ? '' : 'at least '}${new Date(t.since).toISOString().slice(11, 23)}${t.exact ? ' (press time from the device)' : ''}, call ${t.call}`))
  session.on('status', s => show(paint(33, 'staff '), `status: ${s}`))
  session.on('battery', v => show(paint(33, 'staff '), `battery: ${v} V`))
  session.start()

  let closing = null
  const quit = () => {
    closing = closing || session.close().then(() => process.exit(0))
    return closing
  }
  const actions = {
    d: () => {
      if (!device.wifi) return show('sim   ', 'no Wifi module in this simulation (--no-wifi): nothing to drop')
      show('sim   ', 'WiFi link dropped; the access point comes back in 5 s')
      device.wifi.dropLink()
    },
    b: async () => {
      if (!broker) return show('sim   ', 'only the built-in broker can be restarted (this one is --broker)')
      show('sim   ', 'restarting the broker')
      await broker.restart()
      show('sim   ', 'broker is back')
    },
    a: async () => {
      const answered = await session.answerLongest()
      show('sim   ', answered === null ? 'no call to answer' : `answered table ${answered.table}, call ${answered.call} (its id, retained, on the answer topic)`)
    },
    v: () => {
      const volts = session.drainBattery(BATTERY_STEP_V)
      show('sim   ', `battery drained to ${volts.toFixed(2)} V: the device reports it at its next 10-minute check, or press d (it reports at every connect)`)
    },
    q: quit,
    '\u0003': quit // Ctrl-C in raw mode
  }
  const onKey = key => {
    const table = Number(key)
    if (tables.includes(table)) session.press(table)
    else if (actions[key]) actions[key]()
  }
  if (process.stdin.isTTY) process.stdin.setRawMode(true)
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', data => { for (const key of data) onKey(key) })
  process.stdin.on('end', quit)
  process.on('SIGINT', quit)
  process.on('SIGTERM', quit)
}

main().catch(err => {
  if (err instanceof ConfigError) console.error(`npm start: the configuration has problems:\n${err.message}`)
  else if (err instanceof BuildError) console.error(`npm start: the firmware did not build:\n${err.message}`)
  else if (/^(--|cannot reach|Unknown option)/.test(err.message)) console.error(`npm start: ${err.message}`)
  else throw err
  process.exit(1)
})
