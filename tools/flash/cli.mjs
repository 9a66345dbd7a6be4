#!/usr/bin/env node
// npm run flash [-- --port /dev/ttyACM0]: build the firmware, check the board, save the firmware to its
// flash so it starts at every power-up, read it back, and say what to do next.
import { stat } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { build, BuildError } from '../../build.mjs'
import { ConfigError } from '../build/config.mjs'
import { FlashError } from './errors.mjs'
import { checkSerialPath, choosePort } from './port.mjs'
import { canSendFast, dryRun, interruptedMessage, probeBoard, uploadBundle, verifySaved } from './upload.mjs'
import { kalumaUploadSeconds, uploadKaluma } from './kaluma.mjs'

const HIVEMQ_CLIENT = 'https://www.hivemq.com/demos/websocket-client/'

const HELP = `Usage: npm run flash [-- options]
  --port PORT      serial port of the board (/dev/ttyACM0, /dev/ttyUSB0, COM3, tcp://host:port);
                   default: flash.port from the config, else the only USB serial port plugged in
  --config FILE    device config (default espruino.config.json)
  --overlay FILE   one device's settings laid over the config and its local overlay, e.g. the
                   credentials \`npm run broker -- init\` wrote: --overlay broker/devices/device-2.json
  --bundle FILE    upload this already built file instead of building (config and flash.port unused)
  --runtime R      with --bundle: espruino (default) or kaluma; otherwise the config's runtime decides
  --dry-run        build, then write the bytes that would be saved as .bootcde (the bundle
                   pretokenised) to FILE.sent.js; no board needed
  --help`

function parse (argv) {
  try {
    return parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        config: { type: 'string', default: 'espruino.config.json' },
        overlay: { type: 'string' },
        bundle: { type: 'string' },
        runtime: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values
  } catch (e) {
    throw new FlashError(`${e.message}. Try npm run flash -- --help`)
  }
}

/** Builds for a device; config and build problems become one FlashError listing them. */
async function buildFirmware (configPath, overlayPath) {
  try {
    return await build({ configPath, overlayPath, outPath: 'dist/tablecall.js', target: 'device' })
  } catch (e) {
    // build.mjs words each problem as one line naming the field and the fix.
    if (e instanceof ConfigError || e instanceof BuildError) throw new FlashError(`build failed, nothing was uploaded:\n${e.message}`)
    throw e
  }
}

/** The board's port (--port, flash.port, else the only USB serial port), checked before anything is sent. */
async function boardPort (args, built) {
  const port = await choosePort({ cliPort: args.port, configPort: built.config?.flash?.port })
  await checkSerialPath(port)
  return port
}

/** Rough upload time: EspruinoTools pauses 250 ms after each 1 KB Storage.write line (core/serial.js). */
const uploadSeconds = (bytes) => Math.ceil(2 + (bytes / 1024) * 0.5)

// How to watch the board's console: Kaluma has none in its CLI 1.0.0; any serial terminal does.
const CONSOLE = {
  espruino: (port) => `npx espruino -p ${port} -b 115200   (press the board's reset button if nothing shows; Ctrl-C twice to quit)`,
  kaluma: (port) => `screen ${port} 115200   (any serial terminal; type .load at the > prompt to run the program again; Ctrl-A k quits screen)`
}

function nextSteps ({ port, config, deviceOutput, runtime = 'espruino' }) {
  const seen = /mqtt: topic (\S+)/.exec(deviceOutput)?.[1]
  const topic = seen ?? (config?.id ? config.mqtt.topic.replaceAll('{id}', config.id) : config?.mqtt?.topic) ?? 'tablecall/{id}/calls'
  const host = config?.mqtt?.host ?? 'broker.hivemq.com'
  if (config?.mqtt?.username) {
    // The restaurant's own broker (docs/broker.md): the HiveMQ client cannot log in there.
    return `\nNext: open the staff board (npm run board -- --broker-dir <the broker's directory>), press a table button: the call appears there (topic ${topic}).`
  }
  const lines = [
    '',
    'Next:',
    `  1. Open ${HIVEMQ_CLIENT} and press Connect (it uses the public broker ${host === 'broker.hivemq.com' ? host : `broker.hivemq.com; yours is ${host}, enter it there`}).`,
    `  2. "Add New Topic Subscription" with exactly: ${topic}   (case-sensitive)`,
  ]
  if (!seen) {
    lines.push(
      '     {id} is this device\'s id (8 hex digits). It prints it at boot in a line "mqtt: topic ...". To see that console:',
      `     ${CONSOLE[runtime](port)}`
    )
  }
  lines.push(
    '  3. Press a table button: "button 1 is pressed" appears. Staff screen and setup: docs/board.md. Problems: docs/troubleshooting.md.'
  )
  return lines.join('\n')
}

async function main (argv) {
  const args = parse(argv)
  if (args.help) { console.log(HELP); return }

  if (args.runtime !== undefined && !['espruino', 'kaluma'].includes(args.runtime)) throw new FlashError(`--runtime ${args.runtime}: use espruino or kaluma`)
  const built = args.bundle ? { outPath: args.bundle, bytes: (await statOrFail(args.bundle)).size } : await buildFirmware(args.config, args.overlay)
  const runtime = args.bundle ? args.runtime ?? 'espruino' : built.config.runtime
  console.log(`Firmware: ${built.outPath} (${built.bytes} bytes)`)
  // Wiring that works only on some boards: worth reading before the upload, not a reason to stop.
  for (const w of built.warnings ?? []) console.error(`flash: warning: ${w}`)
  if (runtime === 'kaluma') return flashKaluma(args, built)

  if (args['dry-run']) {
    const out = built.outPath.replace(/\.m?js$/, '') + '.sent.js'
    await dryRun(built.outPath, out)
    console.log(`Wrote what would be sent: the bytes of .bootcde (the bundle pretokenised) in ${out}; no board was contacted.`)
    return
  }

  const port = await boardPort(args, built)
  console.log(`Checking the board on ${port} ...`)
  const info = await probeBoard(port, { tls: built.config?.mqtt?.tls === true })
  const fast = canSendFast(info)
  console.log(`Found ${info.board}, Espruino ${info.version}, Wifi module present.`)
  console.log(`Saving to flash (about ${uploadSeconds(built.bytes)} s; keep it plugged in) ...`)

  // Ctrl-C also stops the espruino child (same process group): say what state the board is in.
  const onInterrupt = () => { console.error(interruptedMessage(port)); process.exit(130) }
  process.once('SIGINT', onInterrupt)
  const uploadOut = await uploadBundle(port, built.outPath, { fast, timeoutSeconds: 30 + 3 * uploadSeconds(built.bytes) })
  process.removeListener('SIGINT', onInterrupt)

  const verifyOut = await verifySaved(port, built.outPath)
  console.log('Saved and verified: the board runs the firmware now and at every power-up.')
  console.log(nextSteps({ port, config: built.config, deviceOutput: uploadOut + verifyOut }))
}

/** Kaluma 1.2.1 (Pico W): the bundle goes as it is into the program area, which runs at every power-up. */
async function flashKaluma (args, built) {
  if (args['dry-run']) {
    console.log(`Kaluma gets ${built.outPath} byte for byte; no board was contacted.`)
    return
  }
  const port = await boardPort(args, built)
  console.log(`Writing to the Kaluma board on ${port} (about ${kalumaUploadSeconds(built.bytes)} s; keep it plugged in) ...`)
  const out = await uploadKaluma(port, built.outPath, { timeoutSeconds: 10 + 3 * kalumaUploadSeconds(built.bytes) })
  console.log('Saved: every block arrived with a correct checksum; the board runs the firmware now and at every power-up.')
  console.log(nextSteps({ port, config: built.config, deviceOutput: out, runtime: 'kaluma' }))
}

async function statOrFail (path) {
  try {
    return await stat(path)
  } catch {
    throw new FlashError(`--bundle ${path}: file not found`)
  }
}

main(process.argv.slice(2)).catch((e) => {
  if (!(e instanceof FlashError)) throw e // a bug: keep the stack trace
  console.error(`flash: ${e.message}`)
  process.exitCode = 1
})
