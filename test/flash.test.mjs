// npm run flash against a fake Espruino console on 127.0.0.1 (no hardware), plus the pure parts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { crc32 } from 'node:zlib'
import { startFakeRepl } from './fixtures/flash/fake-repl.mjs'
import { BUNDLE, flash, withStandIn } from './helpers/flash-cli.mjs'
import { build } from '../build.mjs'
import { own } from '../host/children.mjs'
import { ESPRUINO_STDIO } from '../bench/espruino.mjs'
import { FlashError } from '../tools/flash/errors.mjs'
import { choosePort } from '../tools/flash/port.mjs'
import { canSendFast, connectionProblem, dryRun, savedBytes, storedBytes, uploadBundle, verifySaved } from '../tools/flash/upload.mjs'
import { pretokenise } from '../tools/build/pretokenise.mjs'

const withRepl = (options, fn) => withStandIn(startFakeRepl, options, fn)

async function withTempDir (fn) {
  const dir = await mkdtemp(join(tmpdir(), 'flash-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const indexOfLine = (lines, re) => lines.findIndex((l) => re.test(l))
const STORAGE_WRITE = /^require\("Storage"\)\.write\("\.bootcde",/

function assertOneLineError (stderr, re) {
  assert.match(stderr, re)
  assert.equal(stderr.trim().split('\n').length, 1, `expected one line, got:\n${stderr}`)
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace')
}

test('saves the bundle pretokenised to .bootcde after probing the board, then load()s and verifies it', () =>
  withRepl({}, async (repl) => {
    const { code, stdout, stderr } = await flash(['--bundle', BUNDLE, '--port', repl.url])
    assert.equal(code, 0, stderr)

    // Byte for byte the bundle pretokenised, each char < 256 one byte (its raw strings keep their
    // quotes, backslashes and tabs; a string beyond 8 bits stays text, UTF-8).
    const plain = await readFile(BUNDLE, 'utf8')
    const saved = repl.storage.get('.bootcde')
    assert.deepEqual(saved, storedBytes(pretokenise(plain)))
    assert.ok(saved.length < Buffer.byteLength(plain) * 0.8, `${saved.length} bytes saved of ${Buffer.byteLength(plain)}`)
    assert.ok(saved.includes('\xD1\x07Storage', 'latin1'), 'string literals are raw strings')

    const { lines } = repl
    const probe = indexOfLine(lines, /TABLECALL_PROBE/)
    const reset = indexOfLine(lines, /^reset\(\);?$/)
    const firstWrite = indexOfLine(lines, STORAGE_WRITE)
    const lastWrite = lines.findLastIndex((l) => STORAGE_WRITE.test(l))
    const load = indexOfLine(lines, /^load\(\)$/)
    const verify = indexOfLine(lines, /TABLECALL_SAVED/)
    assert.ok(probe >= 0 && probe < reset, 'the board is probed before it is reset')
    assert.ok(reset < firstWrite && lastWrite < load && load < verify, `order: ${JSON.stringify(lines.map((l) => l.slice(0, 40)))}`)

    // The saved program ran after load(), and its topic line reached the instructions.
    assert.match(repl.printed, /started with 4 tables/)
    assert.match(stdout, /Saved and verified/)
    assert.match(stdout, /exactly: tablecall\/0a1b2c3d\/calls/)
    assert.match(stdout, /hivemq\.com\/demos\/websocket-client/)
  }))

test('a board whose firmware has no Wifi module is refused before anything is written', () =>
  withRepl({ wifi: false, env: { BOARD: 'RASPBERRYPI_PICO', VERSION: '2v29', CONSOLE: 'USB' } }, async (repl) => {
    const { code, stderr } = await flash(['--bundle', BUNDLE, '--port', repl.url])
    assert.equal(code, 1)
    assertOneLineError(stderr, /RASPBERRYPI_PICO 2v29\) has no Wifi module.*Kaluma 1\.2\.1.*"runtime": "kaluma".*ESP32.*Nothing was uploaded/)
    assert.equal(indexOfLine(repl.lines, /reset\(|Storage/), -1, `sent: ${JSON.stringify(repl.lines)}`)
    assert.equal(repl.storage.size, 0)
  }))

test('a board with an Espruino older than 2v26 (no raw int tokens) is refused before anything is written', () =>
  withRepl({ env: { VERSION: '2v21' } }, async (repl) => {
    const { code, stderr } = await flash(['--bundle', BUNDLE, '--port', repl.url])
    assert.equal(code, 1)
    assertOneLineError(stderr, /ESP32 2v21\) runs an Espruino older than 2v26, which cannot read the program as it is saved: install Espruino 2v29 for ESP32.*Nothing was uploaded/)
    assert.equal(indexOfLine(repl.lines, /reset\(|Storage/), -1, `sent: ${JSON.stringify(repl.lines)}`)
    assert.equal(repl.storage.size, 0)
  }))

test('a connection dropped mid-upload is reported as interrupted, with what to do', () =>
  withRepl({ hangUpOn: STORAGE_WRITE }, async (repl) => {
    const { code, stderr } = await flash(['--bundle', BUNDLE, '--port', repl.url])
    assert.equal(code, 1)
    assertOneLineError(stderr, /was interrupted.*re-run npm run flash/)
  }))

test('an unreachable port gives a one-line error', async () => {
  // A port that was just free: nothing listens there.
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))

  const { code, stderr } = await flash(['--bundle', BUNDLE, '--port', `tcp://127.0.0.1:${port}`])
  assert.equal(code, 1)
  assertOneLineError(stderr, new RegExp(`Cannot connect to tcp://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`))
})

test('--dry-run\'s file is the real firmware pretokenised, byte for byte what is saved and verified', () =>
  withTempDir(async (dir) => {
    const built = await build({ outPath: join(dir, 'tablecall.js'), target: 'device', env: { WIFI_SSID: 'test-net' } })
    const out = join(dir, 'sent.js')
    await dryRun(built.outPath, out)
    const sent = await readFile(out)
    assert.deepEqual(sent, storedBytes(pretokenise(built.code)))
    assert.deepEqual(sent, await savedBytes(built.outPath), 'what verifySaved expects')
    assert.match(built.code, /require\("Wifi"\)/, 'the firmware does require a built-in module')
  }))

test('--dry-run shows the build\'s warnings and still goes on', () =>
  withTempDir(async (dir) => {
    const config = join(dir, 'config.json')
    await writeFile(config, await readFile('espruino.config.json'))
    const { code, stdout, stderr } = await flash(['--dry-run', '--config', config], { cwd: dir, env: { ...process.env, WIFI_SSID: 'test-net', WIFI_PASSWORD: '' } })
    assert.equal(code, 0, stderr)
    assert.match(stderr, /^flash: warning: buttons\[0\]\.pin "D16", buttons\[1\]\.pin "D17": .*PSRAM/m)
    assert.match(stdout, /Wrote what would be sent/)
  }))

test('--dry-run --overlay with WiFi and MQTT passwords: dist/tablecall.js and dist/tablecall.sent.js hold them and are 0600, also over older readable copies', () =>
  withTempDir(async (dir) => {
    const overlay = join(dir, 'device-1.json')
    const secrets = { wifi: 'wifi-pass-4711', mqtt: 'mqtt-pass-0815' }
    await writeFile(overlay, JSON.stringify({ wifi: { ssid: 'test-net', password: secrets.wifi }, mqtt: { username: 'device-1', password: secrets.mqtt } }), { mode: 0o600 })
    const files = ['tablecall.js', 'tablecall.sent.js'].map((f) => join(dir, 'dist', f))
    await mkdir(join(dir, 'dist'))
    for (const file of files) {
      await writeFile(file, 'left by an older version')
      await chmod(file, 0o644)
    }
    const { code, stderr } = await flash(['--dry-run', '--config', join(process.cwd(), 'espruino.config.json'), '--overlay', overlay], { cwd: dir })
    assert.equal(code, 0, stderr)
    for (const file of files) {
      const text = await readFile(file, 'utf8')
      assert.ok(text.includes(secrets.wifi) && text.includes(secrets.mqtt), `${file} holds both passwords`)
      assert.equal((await stat(file)).mode & 0o777, 0o600, file)
    }
  }))

test('a module that is not built in is an error, not a download', () =>
  withTempDir(async (dir) => {
    const bundle = join(dir, 'needs-mqtt.js')
    await writeFile(bundle, 'var m = require("MQTT");\n')
    await assert.rejects(dryRun(bundle, join(dir, 'sent.js')), (e) => e instanceof FlashError && /needs module "MQTT"/.test(e.message))
  }))

// The Linux build's telnet console (--telnet) listens on this fixed port (libs/network/telnet).
const TELNET_PORT = 2323
const portFree = (port) => new Promise((resolve) => {
  const server = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
})
const accepts = (port) => new Promise((resolve) => {
  const socket = net.connect(port, '127.0.0.1').once('connect', () => { socket.destroy(); resolve(true) }).once('error', () => resolve(false))
})

// The upload as npm run flash does it (the CLI itself would refuse this board: no Wifi module), to an
// Espruino 2v29 built for Linux over its telnet console: the saved program must boot from .bootcde.
test('on the real interpreter (ESPRUINO_BIN): the pretokenised program is saved over telnet, verified, and boots from .bootcde', { skip: !process.env.ESPRUINO_BIN && 'ESPRUINO_BIN is not set (an Espruino 2v29 built for Linux)' }, (t) =>
  withTempDir(async (dir) => {
    // Another interpreter there would be flashed instead of ours.
    if (!await portFree(TELNET_PORT)) return t.skip(`port ${TELNET_PORT} is in use (another Espruino --telnet?): stop it and re-run`)
    const long = 'a string kept at rest, longer than a block: '.repeat(8)
    const eightBit = 'quote " apostrophe \' backslash \\ tab \t umlaut \u00fc'
    const bundle = join(dir, 'bundle.js')
    await writeFile(bundle, `(function(){var long=${JSON.stringify(long)},s=${JSON.stringify(eightBit)};print("BOOTED "+long.length+" "+E.CRC32(long+s)+" "+[-1,-300,70000].join())})();\n`)
    // The Linux build keeps its flash in espruino.flash in its working folder: this temporary one.
    const espruino = own(spawn(process.env.ESPRUINO_BIN, ['--telnet'], { cwd: dir, stdio: ESPRUINO_STDIO }))
    try {
      for (let i = 0; i < 50 && !await accepts(TELNET_PORT); i++) await sleep(100)
      const port = `tcp://127.0.0.1:${TELNET_PORT}`
      const out = await uploadBundle(port, bundle, { fast: true, timeoutSeconds: 30 })
      const expected = `BOOTED ${long.length} ${crc32(Buffer.from(long + eightBit, 'latin1'))} -1,-300,70000`
      assert.ok(out.includes(expected), `expected "${expected}" in:\n${out}`)
      await verifySaved(port, bundle)
    } finally {
      // It traps SIGTERM and keeps running with its telnet server: only SIGKILL ends it.
      const exited = once(espruino, 'exit')
      espruino.kill('SIGKILL')
      await exited
    }
  }))

test('port: --port wins, then flash.port, then the only USB serial port', async () => {
  const one = async () => [{ path: '/dev/ttyACM0', description: 'Raspberry Pi' }]
  assert.equal(await choosePort({ cliPort: '/dev/ttyUSB1', configPort: '/dev/ttyUSB2', list: one }), '/dev/ttyUSB1')
  assert.equal(await choosePort({ configPort: '/dev/ttyUSB2', list: one }), '/dev/ttyUSB2')
  assert.equal(await choosePort({ list: one }), '/dev/ttyACM0')
})

test('port: none or several plugged in asks for --port', async () => {
  await assert.rejects(choosePort({ list: async () => [] }), /No board found on USB.*--port/)
  const two = async () => [
    { path: '/dev/ttyACM0', description: 'Raspberry Pi' },
    { path: '/dev/ttyUSB0', description: 'Silicon Labs' },
  ]
  await assert.rejects(choosePort({ list: two }), /\/dev\/ttyACM0 \(Raspberry Pi\), \/dev\/ttyUSB0 \(Silicon Labs\).*--port \/dev\/ttyACM0/)
})

test('serial open failures map to what to do', () => {
  // Texts as printed by @serialport/bindings-cpp (src/serialport_unix.cpp) when the open fails.
  const port = '/dev/ttyACM0'
  assert.match(connectionProblem('Error: Permission denied, cannot open /dev/ttyACM0', port), /dialout/)
  assert.match(connectionProblem('Error Resource temporarily unavailable Cannot lock port', port), /busy: close/)
  assert.match(connectionProblem('serial: Port "/dev/ttyACM0" not found', port), /No device at \/dev\/ttyACM0/)
  assert.equal(connectionProblem('--] >\nUpload Complete', port), null)
})

test('unthrottled sending only for consoles EspruinoTools trusts with it', () => {
  assert.equal(canSendFast({ version: '2v29', console: 'USB' }), true)
  assert.equal(canSendFast({ version: '2v29', console: 'Serial1' }), false)
})
