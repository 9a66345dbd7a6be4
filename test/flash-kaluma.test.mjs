// npm run flash for Kaluma 1.2.1 (runtime "kaluma"): through @kaluma/cli against a stand-in of the
// board's console on a pseudo-terminal (Debian's socat; .ci/run installs it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFile, mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeKaluma } from './fixtures/flash/fake-kaluma.mjs'
import { BUNDLE, flash, withStandIn } from './helpers/flash-cli.mjs'
import { uploadKaluma } from '../tools/flash/kaluma.mjs'
import { FlashError } from '../tools/flash/errors.mjs'

execFileSync('socat', ['-V'], { stdio: 'ignore' }) // fails here, naming socat, where it is not installed

const withBoard = (options, fn) => withStandIn(startFakeKaluma, options, fn)

test('kaluma flash: the bundle goes byte for byte into the program area by YMODEM, then .load runs it', () =>
  withBoard({}, async (board) => {
    const { code, stdout, stderr } = await flash(['--bundle', BUNDLE, '--runtime', 'kaluma', '--port', board.port])
    assert.equal(code, 0, stderr)
    assert.deepEqual(board.state.program, await readFile(BUNDLE))
    assert.equal(board.state.fileName, 'usercode')
    assert.deepEqual(board.state.commands, ['.flash -w', '.load'])
    assert.match(stdout, /Saved: .*now and at every power-up/)
    assert.match(stdout, /screen .* 115200/)
  }))

test('kaluma flash: a board that never answers (no Kaluma on it) is one line saying what to do', () =>
  withBoard({ answer: false }, async (board) => {
    await assert.rejects(uploadKaluma(board.port, BUNDLE, { timeoutSeconds: 3 }), (e) => {
      assert.ok(e instanceof FlashError)
      assert.match(e.message, /No answer from .* within 3 s: is Kaluma 1\.2\.1 installed .*GP22/)
      return true
    })
    assert.equal(board.state.program, null)
  }))

test('kaluma flash: only a serial port; a missing one is named', async () => {
  const tcp = await flash(['--bundle', BUNDLE, '--runtime', 'kaluma', '--port', 'tcp://127.0.0.1:1'])
  assert.equal(tcp.code, 1)
  assert.match(tcp.stderr, /^flash: --port tcp:\/\/127\.0\.0\.1:1: a Kaluma board is flashed over its USB serial port only/)
  await assert.rejects(uploadKaluma('/dev/ttyNOPE0', BUNDLE), /No device at \/dev\/ttyNOPE0/)
})

test('kaluma flash: the config\'s runtime picks Kaluma: the firmware is built for it and written to the board', () =>
  withBoard({}, async (board) => {
    const dir = await mkdtemp(join(tmpdir(), 'flash-kaluma-'))
    try {
      const config = JSON.parse(await readFile('espruino.config.json', 'utf8'))
      Object.assign(config, { runtime: 'kaluma', board: 'rp2040' })
      config.mqtt.host = '192.168.1.20'
      await writeFile(join(dir, 'config.json'), JSON.stringify(config))
      const { code, stdout, stderr } = await flash(['--config', join(dir, 'config.json'), '--port', board.port], { cwd: dir, env: { ...process.env, WIFI_SSID: 'test-net', WIFI_PASSWORD: '' } })
      assert.equal(code, 0, stderr)
      const built = await readFile(join(dir, 'dist', 'tablecall.js'))
      assert.deepEqual(board.state.program, built)
      assert.match(built.toString(), /getConnection/, 'the Kaluma adapter is in it')
      assert.match(stdout, /exactly: tablecall\/\{id\}\/calls|exactly: tablecall\//)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }))
