#!/usr/bin/env node
// Builds the firmware: config -> packets (mqtt-packet, here in Node) -> one Espruino-safe bundle.
//   node build.mjs [--config espruino.config.json] [--out dist/tablecall.js] [--target device|sim] [--quiet] [--help]
import * as esbuild from 'esbuild'
import { renameSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, resolve, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { readConfig, ConfigError } from './tools/build/config.mjs'
import { deviceSettings } from './tools/build/packets.mjs'
import { checkRuntime, RUNTIMES } from './tools/build/espruino-check.mjs'
import { sourceLocator } from './tools/build/sourcemap.mjs'
import { sizeProblem } from './tools/build/size.mjs'
import { writePrivate } from './tools/build/private-file.mjs'

const ROOT = dirname(fileURLToPath(import.meta.url))

// What Espruino 2v29 cannot parse: esbuild lowers what it can and fails the build on the rest.
const ESPRUINO_UNSUPPORTED = [
  'array-spread', 'async-await', 'async-generator', 'class-field', 'class-private-accessor',
  'class-private-brand-check', 'class-private-field', 'class-private-method', 'class-private-static-accessor',
  'class-private-static-field', 'class-private-static-method', 'class-static-blocks', 'class-static-field',
  'default-argument', 'destructuring', 'exponent-operator', 'for-await', 'generator', 'logical-assignment',
  'nested-rest-binding', 'new-target', 'nullish-coalescing', 'object-rest-spread', 'optional-catch-binding',
  'optional-chain', 'rest-argument', 'unicode-escapes'
]

// Settings written in place instead of kept in the settings object (the code names them as
// __TABLECALL__.<name>, not through S): the code that reads them runs from flash on a board, so they
// cost no memory there. Each is a string, number or boolean: esbuild writes those where they are used,
// but makes an array or object a variable of its own, kept for good.
export const IN_PLACE = ['id', 'idMarker', 'ssid', 'pass', 'pins', 'debounceMs', 'powersave', 'topic', 'tls', 'host', 'port', 'ca', 'keepalive', 'qos', 'message', 'ping', 'puback']

export class BuildError extends Error {}

// The core imports './platform'; this bundles the adapter of the config's runtime, and only it.
const platformAdapter = runtime => ({
  name: 'platform',
  setup (b) {
    b.onResolve({ filter: /^\.\.?\/platform$/ }, () => ({ path: resolve(ROOT, 'src', 'platform', `${runtime}.ts`) }))
  }
})

const esbuildOptions = (entry, settings, runtime) => ({
  entryPoints: [entry],
  bundle: true,
  // cjs keeps require('net') a plain call to Espruino's require (iife would wrap it in a shim using
  // Proxy).
  format: 'cjs',
  platform: 'node',
  // On Espruino the program runs at the root scope: a function made inside another keeps a link to its
  // scope (src/jsparse.c jspeiGetScopesAsVar), one memory block for good per function, about 45 in
  // all. Its minified names are one or two characters; the build refuses one Espruino already has
  // there (E, a pin). On Kaluma it keeps its own scope, as before.
  ...(runtime === 'kaluma' && { banner: { js: '(function(){' }, footer: { js: '})();' } }),
  target: 'es2015',
  supported: Object.fromEntries(ESPRUINO_UNSUPPORTED.map(f => [f, false])),
  // The battery settings also on their own, so `if (__TABLECALL__.battery)` folds and esbuild drops
  // the battery code when there is no battery setting. The settings IN_PLACE, too.
  define: {
    __TABLECALL__: JSON.stringify({ ...settings, ...Object.fromEntries(['battery', ...IN_PLACE].map(k => [k, undefined])) }),
    ...Object.fromEntries(['battery', ...IN_PLACE].map(k => [`__TABLECALL__.${k}`, JSON.stringify(settings[k])]))
  },
  charset: 'ascii',
  legalComments: 'none',
  write: false,
  logLevel: 'silent',
  external: ['net', 'tls', 'Wifi', 'Storage', 'wifi', 'wdt'],
  plugins: [platformAdapter(runtime)],
  absWorkingDir: ROOT
})

async function bundle (options) {
  try {
    return await esbuild.build(options)
  } catch (err) {
    if (!err.errors) throw err
    throw new BuildError(err.errors.map(e => {
      const at = e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : ''
      return `${at}${e.text.replace(/ to the configured target environment .*? is not supported yet/, ' is not supported by Espruino 2v29')}`
    }).join('\n'))
  }
}

/**
 * @param {{configPath?: string, overlayPath?: string, outPath?: string, target?: 'device'|'sim', entry?: string, env?: object, adjust?: (config: object) => object}} options
 *   adjust: a tool's own change to the validated config (the simulator adds a battery when none is set)
 * @returns {Promise<{outPath: string, bytes: number, modules: {[file: string]: number}, config: object, code: string, warnings: string[]}>}
 *   warnings: wiring that works only on some boards, for the user to read (they do not fail the build)
 * @throws ConfigError or BuildError; nothing is written then
 */
export async function build ({ configPath = 'espruino.config.json', overlayPath, outPath = 'dist/tablecall.js', target = 'device', entry = 'src/main.ts', env = process.env, adjust = config => config } = {}) {
  const read = readConfig({ configPath: resolve(configPath), overlayPath: overlayPath && resolve(overlayPath), target, env })
  const config = adjust(read.config)
  const { warnings } = read
  const settings = deviceSettings(config)
  const { runtime } = config

  // Readable build first: its source map lets every problem name the TypeScript line.
  const readable = await bundle({ ...esbuildOptions(entry, settings, runtime), sourcemap: 'external', outfile: 'out.js' })
  const js = readable.outputFiles.find(f => f.path.endsWith('.js')).text
  const map = readable.outputFiles.find(f => f.path.endsWith('.map')).text
  const problems = checkRuntime(js, runtime, sourceLocator(map, ROOT))
  if (problems.length) throw new BuildError(problems.join('\n'))

  const minified = await bundle({ ...esbuildOptions(entry, settings, runtime), minify: true, metafile: true, outfile: 'out.js' })
  const code = minified.outputFiles[0].text
  // The minifier rewrites code; check what ships too.
  const late = checkRuntime(code, runtime)
  if (late.length) throw new BuildError(`the minifier produced code ${RUNTIMES[runtime].name} cannot run:\n${late.join('\n')}`)
  const bytes = Buffer.byteLength(code)
  const inputs = Object.values(minified.metafile.outputs)[0].inputs
  const modules = Object.fromEntries(Object.entries(inputs).map(([file, info]) => [file, info.bytesInOutput]))
  const tooBig = sizeProblem({ total: bytes, modules, config })
  if (tooBig) throw new BuildError(tooBig)

  const out = resolve(outPath)
  mkdirSync(dirname(out), { recursive: true })
  const tmp = `${out}.${process.pid}.tmp`
  try {
    // The bundle holds the WiFi and MQTT passwords: 0600, also where it replaces an older copy.
    writePrivate(tmp, code)
    renameSync(tmp, out)
  } finally {
    rmSync(tmp, { force: true })
  }
  return { outPath: out, bytes, modules, config, code, warnings }
}

export function sizeReport ({ outPath, bytes, modules }) {
  const rows = Object.entries(modules).sort((a, b) => b[1] - a[1]).map(([file, n]) => `  ${String(n).padStart(6)}  ${file}`)
  return [`${relative(process.cwd(), outPath)}: ${bytes} bytes minified`, ...rows].join('\n')
}

const HELP = `Usage: npm run build [-- options]
  --config FILE    device config (default espruino.config.json; FILE.local.json beside it is laid over it)
  --out FILE       where the bundle goes (default dist/tablecall.js); nothing is written on a problem
  --target T       device (default: needs wifi.ssid) or sim (the simulator's network)
  --quiet          no size report
  --help           this text
Secrets come from WIFI_SSID, WIFI_PASSWORD, MQTT_USERNAME, MQTT_PASSWORD or the local overlay.`

async function main () {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: 'espruino.config.json' },
      out: { type: 'string', default: 'dist/tablecall.js' },
      target: { type: 'string', default: 'device' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) return console.log(HELP)
  if (!['device', 'sim'].includes(values.target)) throw new BuildError(`--target: "${values.target}" is not known (fix: use device or sim)`)
  const result = await build({ configPath: values.config, outPath: values.out, target: values.target })
  printWarnings(result.warnings)
  if (!values.quiet) console.log(sizeReport(result))
}

const printWarnings = (warnings = []) => { for (const w of warnings) console.error(`build: warning: ${w}`) }

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch(err => {
    if (err instanceof ConfigError) {
      console.error(`build: ${err.problems.length === 1 ? 'a problem' : `${err.problems.length} problems`} in the configuration; nothing was written:\n${err.message}`)
      printWarnings(err.warnings)
    } else if (err instanceof BuildError) console.error(`build: failed; nothing was written:\n${err.message}`)
    else if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') console.error(`build: ${err.message} (fix: see npm run build -- --help)`)
    else throw err
    process.exitCode = 1
  })
}
