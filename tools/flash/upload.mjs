// Talks to the board through the `espruino` CLI (EspruinoTools) run as a child process, and turns
// its output into results or one-line FlashErrors. Option choices are explained in docs/flashing.md.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { tokenizer } from 'acorn'
import { FlashError } from './errors.mjs'
import { writePrivate } from '../build/private-file.mjs'
import { pretokenise } from '../build/pretokenise.mjs'
import { busyMessage, noDeviceMessage, permissionMessage } from './port.mjs'

const ESPRUINO_CLI = createRequire(import.meta.url).resolve('espruino/bin/espruino-cli.js')
export const BOARD_JSON = fileURLToPath(new URL('./board-picow.json', import.meta.url))

/** Console speed of ESP32 Espruino builds; USB consoles (RP2040, Espruino boards) ignore it. */
const BAUD = '115200'

/** Every run: local board JSON (no www.espruino.com/json, no process.env query on connect),
 * no module or compiler downloads, no Bluetooth scanning. */
export const OFFLINE_ARGS = [
  '--no-ble',
  '--board', BOARD_JSON,
  '--config', 'MODULE_URL=',
  '--config', 'COMPILATION=false',
  '-b', BAUD,
]

const PROBE_MARK = 'TABLECALL_PROBE'
const SAVED_MARK = 'TABLECALL_SAVED'
// One ES5 line each, evaluated on the board; -e without a file does not reset it.
const PROBE_EXPR = `print("${PROBE_MARK} "+JSON.stringify({board:process.env.BOARD,version:process.env.VERSION,console:process.env.CONSOLE,wifi:(function(){try{require("Wifi");return true}catch(e){return false}})(),tls:(function(){try{require("tls");return true}catch(e){return false}})()}))`
const SAVED_EXPR = `(function(){var d=require("Storage").read(".bootcde");print("${SAVED_MARK} "+JSON.stringify(d?{length:d.length,crc:E.CRC32(d)}:null))})()`

/**
 * Runs a Node CLI script as a child; resolves with everything it printed (stdout and stderr interleaved).
 * @returns {Promise<{ out: string, timedOut: boolean }>}
 */
export function runNodeCli (script, args, { timeoutMs, cwd }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const collect = (d) => { out += d }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill() }, timeoutMs)
    child.on('error', (e) => { clearTimeout(timer); reject(e) })
    child.on('close', () => { clearTimeout(timer); resolve({ out, timedOut }) })
  })
}

/** Runs the espruino CLI (EspruinoTools). */
export const runEspruino = (args, options) => runNodeCli(ESPRUINO_CLI, args, options)

/** The one-line reason a run could not talk to the board, or null. */
export function connectionProblem (out, port) {
  if (/Permission denied, cannot open|EACCES/.test(out)) return permissionMessage(port)
  if (/Cannot lock port|Resource busy|EBUSY/.test(out)) return busyMessage(port)
  if (/No such file or directory, cannot open|serial: Port ".*" not found/.test(out)) return noDeviceMessage(port)
  const refused = /"code":"(E[A-Z]+)"/.exec(out)
  if (refused) return `Cannot connect to ${port} (${refused[1]}): check the address and that the device is on, then re-run`
  if (/Unable to connect!/.test(out)) return `Cannot open ${port}: unplug and replug the board, then re-run`
  return null
}

export function failIfNoConnection ({ out, timedOut }, port, seconds) {
  const problem = connectionProblem(out, port)
  if (problem) throw new FlashError(problem)
  if (timedOut) {
    throw new FlashError(`No answer from ${port} within ${seconds} s: press the board's reset button or replug it, then re-run`)
  }
}

const BUILTIN_MODULES = JSON.parse(readFileSync(BOARD_JSON, 'utf8')).info.builtin_modules

/**
 * A require("X") of anything not in board-picow.json's builtin_modules: EspruinoTools would download
 * X, but it cannot even see the name in tokenised code (a raw string there), so the plain bundle is
 * checked here, as its core/modules.js checks `require ( string`.
 */
function failIfModuleMissing (code) {
  const tokens = [...tokenizer(code, { ecmaVersion: 2020 })]
  for (let i = 2; i < tokens.length; i++) {
    const [call, paren, name] = tokens.slice(i - 2, i + 1)
    if (call.value === 'require' && paren.type.label === '(' && name.type.label === 'string' && !BUILTIN_MODULES.includes(name.value)) {
      throw new FlashError(`The bundle needs module "${name.value}", which is not built into the firmware: remove that require() (nothing is downloaded during flashing)`)
    }
  }
}

/**
 * The bytes saved as .bootcde: the bundle pretokenised as the Web IDE's "Pretokenise" option does, so
 * its long string literals stay in flash instead of being copied into RAM (docs/flashing.md), each
 * char < 256 one byte. Done here, not by EspruinoTools (its PRETOKENISE stays off), so the bytes
 * sent, those verifySaved expects and --dry-run's file are one value.
 */
export async function savedBytes (bundlePath) {
  const code = await readFile(bundlePath, 'utf8')
  failIfModuleMissing(code)
  return storedBytes(pretokenise(code))
}

/**
 * Runs `fn(dir)` with savedBytes(bundlePath) in `dir`/bootcde.bin and a program `load()` in
 * `dir`/load.js. The bytes go as a Storage file (`--storage`: base64 chunks, atob() on the board),
 * not as code: EspruinoTools writes code to a tcp:// port as UTF-8 (core/serial_node_socket.js), so
 * each byte >= 0x80 of a token would arrive as two. They hold the passwords: 0600 in a private
 * temporary folder, removed afterwards; names relative to it (`--storage` splits at ':').
 */
async function withSavedProgram (bundlePath, fn) {
  const bytes = await savedBytes(bundlePath)
  const dir = await mkdtemp(join(tmpdir(), 'tablecall-flash-'))
  try {
    writePrivate(join(dir, 'bootcde.bin'), bytes)
    writePrivate(join(dir, 'load.js'), 'load()\n')
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function markedJson (out, mark) {
  const m = new RegExp(`${mark} (\\{.*\\}|null)`).exec(out)
  return m ? JSON.parse(m[1]) : undefined
}

/** Asks the board who it is; refuses boards without a Wifi module, or without tls when `tls` (nothing is written to them). */
export async function probeBoard (port, { timeoutSeconds = 20, tls = false } = {}) {
  const run = await runEspruino([...OFFLINE_ARGS, '-e', PROBE_EXPR, '-p', port], { timeoutMs: timeoutSeconds * 1000 })
  failIfNoConnection(run, port, timeoutSeconds)
  const info = markedJson(run.out, PROBE_MARK)
  if (!info) {
    throw new FlashError(`${port} did not answer like an Espruino board: install Espruino firmware first (docs/flashing.md), or pick another --port`)
  }
  if (!info.wifi) {
    throw new FlashError(`The board on ${port} (${info.board} ${info.version}) has no Wifi module in its Espruino firmware, so it cannot reach MQTT: on a Pico W install Kaluma 1.2.1 and set "runtime": "kaluma", "board": "rp2040"; or use an ESP32 board with Espruino for ESP32 (same pins D16-D19). See docs/flashing.md. Nothing was uploaded.`)
  }
  // The program is saved pretokenised (docs/flashing.md): raw integer tokens came with 2v26
  // (EspruinoTools' plugins/pretokenise.js tokenises ints from there), and the firmware is built and
  // tested for 2v29.
  if (!(espruinoVersion(info.version) >= 2.26)) {
    throw new FlashError(`The board on ${port} (${info.board} ${info.version}) runs an Espruino older than 2v26, which cannot read the program as it is saved: install Espruino 2v29 for ESP32 (docs/flashing.md). Nothing was uploaded.`)
  }
  if (tls && !info.tls) {
    throw new FlashError(`The board on ${port} (${info.board} ${info.version}) has no tls module in its Espruino firmware, but mqtt.tls is on: use Espruino for ESP32, which has it, or a broker without --tls (docs/broker.md). Nothing was uploaded.`)
  }
  return info
}

/** "2v29" (or "2v29.12", a build after it) as 2.29, as EspruinoTools compares versions; NaN if not a version. */
const espruinoVersion = (version) => parseFloat(String(version).replace('v', '.'))

/** EspruinoTools' own rule (plugins/versionChecker.js): only these consoles keep up without throttling. */
export const canSendFast = (info) =>
  espruinoVersion(info.version) > 1.43 && ['USB', 'Bluetooth', 'Telnet'].includes(info.console)

/**
 * Resets the board (EspruinoTools' RESET_BEFORE_SEND, on since a program file is sent), writes the
 * saved bytes to Storage file .bootcde (run at every power-up), then runs load.js: load() boots it.
 */
export async function uploadBundle (port, bundlePath, { fast, timeoutSeconds }) {
  const args = [...OFFLINE_ARGS, '--storage', '.bootcde:bootcde.bin']
  if (fast) args.push('--config', 'SERIAL_THROTTLE_SEND=2')
  const run = await withSavedProgram(bundlePath, (dir) => runEspruino([...args, 'load.js', '-p', port], { timeoutMs: timeoutSeconds * 1000, cwd: dir }))
  failIfNoConnection(run, port, timeoutSeconds)
  if (!/Upload Complete/.test(run.out) || /Disconnected\./.test(run.out)) {
    throw new FlashError(interruptedMessage(port))
  }
  return run.out
}

export const interruptedMessage = (port) =>
  `Upload to ${port} was interrupted: the board may hold an incomplete program, which will not start. Reconnect it and re-run npm run flash`

/** Code as Espruino stores it (as EspruinoTools' core/utils.js asUTF8Bytes): chars < 256 one byte, others UTF-8. */
export function storedBytes (code) {
  return Buffer.concat(Array.from(code, (ch) => {
    const cp = ch.codePointAt(0)
    return cp < 256 ? Buffer.of(cp) : Buffer.from(ch, 'utf8')
  }))
}

/** Reads back length and CRC32 of .bootcde, so a line lost on the serial link can't pass as success. */
export async function verifySaved (port, bundlePath, { timeoutSeconds = 20 } = {}) {
  const expected = await savedBytes(bundlePath)
  const run = await runEspruino([...OFFLINE_ARGS, '-e', SAVED_EXPR, '-p', port], { timeoutMs: timeoutSeconds * 1000 })
  failIfNoConnection(run, port, timeoutSeconds)
  const saved = markedJson(run.out, SAVED_MARK)
  if (!saved || saved.length !== expected.length || saved.crc >>> 0 !== crc32(expected)) {
    throw new FlashError(`The program saved on ${port} does not match ${bundlePath} (data was lost on the way): re-run npm run flash`)
  }
  return run.out
}

/** --dry-run: the bytes that would be saved as .bootcde, in `outPath` (0600: it holds the passwords). */
export async function dryRun (bundlePath, outPath) {
  writePrivate(outPath, await savedBytes(bundlePath))
}
