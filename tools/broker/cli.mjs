#!/usr/bin/env node
// npm run broker -- init|start|retire --dir D [options]: the restaurant's own broker (docs/broker.md).
import { parseArgs } from 'node:util'
import { isAbsolute, join, relative } from 'node:path'
import { ConfigError } from '../build/config.mjs'
import { BrokerError } from './files.mjs'
import { init, UNIT } from './init.mjs'
import { retire } from './retire.mjs'
import { hintFor, spawnBroker } from './start.mjs'
import { NO_MOSQUITTO } from './mosquitto.mjs'

const HELP = `Usage: npm run broker -- <command> --dir D [options]
  init             write (or update) the broker's files in D: mosquitto.conf, passwords, access rules,
                   one overlay per device in D/devices/, board.json, a systemd unit; keeps the
                   passwords of an earlier init; never changes or drops a device
    --devices N    number of call devices: adds devices up to N (default: as many as D has, else 1)
    --host H       the address the devices and staff screens reach this machine by
                   (default: as before, else this machine's first LAN address)
    --tls          encrypt both listeners (makes a CA and a server certificate for --host); --no-tls undoes it
    --mqtt-port P  devices' port (default 1883, 8883 with --tls)
    --ws-port P    staff screens' WebSocket port (default 9001, 9443 with --tls)
    --bind A       listen on this local address only (default: all)
    --rotate       new passwords for every device and the staff (reflash the devices afterwards)
    --config FILE  device config whose topics the access rules follow (default espruino.config.json)
  start            run the broker in the foreground, its log on screen (Ctrl-C stops it)
  retire ID|FILE   take a device out of service for good (lost, broken, replaced), while the broker
                   runs: removes its login and file, disconnects it, and clears what it left on the
                   broker (status, table states, answers, battery); the other devices are untouched`

function parse (argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      devices: { type: 'string' },
      host: { type: 'string' },
      tls: { type: 'boolean' },
      'no-tls': { type: 'boolean' },
      'mqtt-port': { type: 'string' },
      'ws-port': { type: 'string' },
      bind: { type: 'string' },
      rotate: { type: 'boolean', default: false },
      config: { type: 'string', default: 'espruino.config.json' },
      help: { type: 'boolean', default: false }
    }
  })
  const number = v => v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v
  return {
    command: positionals[0],
    device: positionals[1],
    help: values.help,
    dir: values.dir,
    devices: number(values.devices),
    host: values.host,
    tls: values['no-tls'] ? false : values.tls,
    mqttPort: number(values['mqtt-port']),
    wsPort: number(values['ws-port']),
    bind: values.bind,
    rotate: values.rotate,
    configPath: values.config
  }
}

const MASK = '********'

// Paths as the user would type them: relative below the working directory, else absolute.
function shown (path) {
  const rel = relative(process.cwd(), path)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

function report (r) {
  const at = file => shown(join(r.dir, file))
  const lines = [
    `Broker files in ${at('')} (git ignores them; they hold passwords: keep them private)`,
    `  mosquitto.conf  devices: MQTT${r.tls ? ' over TLS' : ''} on ${r.host}:${r.mqttPort}; staff screens: ${r.board.url}`,
    ...r.devices.map(d => d.password === undefined
      ? `  ${d.file ?? 'devices/(no file)'}  id ${d.id}: ${d.state} — it works as before; to take it out of service: npm run broker -- retire ${d.id} --dir ${at('')}`
      : `  ${d.file}  id ${d.id}, password ${MASK} (${d.state})`),
    `  staff.json  user ${r.staff.username}, password ${MASK} (${r.staff.state}) — the staff type it in on each screen`
  ]
  if (r.certs.length) lines.push(`  made ${r.certs.join(', ')} (server certificate for ${r.host})`)
  if (!r.mosquitto) lines.push('', NO_MOSQUITTO)
  lines.push('', 'Next:',
    `  1. npm run broker -- start --dir ${at('')}    (at boot instead: see ${at(UNIT)} and docs/broker.md)`,
    `  2. for each device: npm run flash -- --overlay ${at('devices/device-1.json')}`,
    `  3. staff screens: npm run board -- --broker-dir ${at('')}   (password: cat ${at('staff.json')})`)
  if (r.devices.some(d => d.state === 'new password')) lines.push('  New passwords: reflash every device (step 2) and enter the new staff password on each screen.')
  return lines.join('\n')
}

function start (dir) {
  if (!dir) throw new BrokerError('--dir: missing (fix: --dir <the directory init wrote>)')
  const child = spawnBroker(dir)
  let hinted = false
  const show = chunk => {
    process.stdout.write(chunk)
    const hint = !hinted && hintFor(String(chunk))
    if (hint) {
      hinted = true
      console.error(`broker: ${hint}`)
    }
  }
  child.stdout.on('data', show)
  child.stderr.on('data', show)
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill('SIGTERM'))
  child.on('exit', (code, signal) => { process.exitCode = code ?? (signal === 'SIGTERM' ? 0 : 1) })
}

function retired (r) {
  const what = `device ${r.id}${r.file ? ` (${shown(r.file)})` : ''}`
  return [
    r.again ? `${what} was retired before; its topics are cleared again:` : `Retired ${what}:`,
    '  its login is removed and the running broker reloaded: the device is disconnected and refused from now on',
    ...(r.file && !r.again ? [`  ${shown(r.file)} is deleted (it held the device's password)`] : []),
    `  cleared on the broker: ${r.cleared.join(', ')}`,
    'A board flashed with that file no longer logs in: give it a new device file (npm run broker -- init --devices N adds one) and flash it again.'
  ].join('\n')
}

async function main (argv) {
  const args = parse(argv)
  if (args.help || !args.command) return console.log(HELP)
  if (args.command === 'init') return console.log(report(init(args)))
  if (args.command === 'start') return start(args.dir)
  if (args.command === 'retire') return console.log(retired(await retire({ dir: args.dir, device: args.device, configPath: args.configPath })))
  throw new BrokerError(`"${args.command}" is not a command (fix: init, start or retire; npm run broker -- --help)`)
}

try {
  await main(process.argv.slice(2))
} catch (e) {
  if (e instanceof ConfigError) console.error(`broker: a problem in the configuration:\n${e.message}`)
  else if (e instanceof BrokerError) console.error(`broker: ${e.message}`)
  else if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') console.error(`broker: ${e.message} (fix: npm run broker -- --help)`)
  else throw e
  process.exitCode = 1
}
