// How npm test runs: CI detection and skips for missing tools, the loud lines for them, the timeout that
// ends a hanging test file, and the processes tests spawn dying on every path.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isCI, skipWithout, notRunLines } from './helpers/tools.mjs'
import { haveMosquitto, startMosquitto } from '../host/mosquitto.mjs'

const TOOLS = [
  { name: 'mosquitto', present: false, install: 'apt-get install -y mosquitto', tests: 'the firmware tests against mosquitto' },
  { name: 'chromium', present: true, install: 'apt-get install -y chromium', tests: 'the staff board tests' }
]

test('CI is on for CI=true or 1, off when unset, empty, "false" or "0"', () => {
  for (const value of ['true', '1', 'yes', 'TRUE']) assert.equal(isCI({ CI: value }), true, value)
  for (const value of [undefined, '', 'false', 'False', '0', ' false ']) assert.equal(isCI({ CI: value }), false, String(value))
})

test('a missing tool skips its tests with the fix outside CI, and fails them in CI', () => {
  assert.match(skipWithout('mosquitto', { env: {}, tools: TOOLS }), /^mosquitto is not installed \(fix: apt-get install -y mosquitto\)$/)
  assert.match(skipWithout('mosquitto', { env: { CI: 'false' }, tools: TOOLS }), /not installed/)
  assert.equal(skipWithout('mosquitto', { env: { CI: 'true' }, tools: TOOLS }), false)
  assert.equal(skipWithout('chromium', { env: {}, tools: TOOLS }), false)
  assert.throws(() => skipWithout('openssl', { tools: TOOLS }), /unknown tool "openssl".*mosquitto, chromium/)
})

test('each missing tool gets one loud line naming the tests not run and the fix', () => {
  assert.deepEqual(notRunLines({ env: {}, tools: TOOLS }), [
    '!! NOT RUN: the firmware tests against mosquitto: mosquitto is not installed, and the counts above do not show them as skipped (fix: apt-get install -y mosquitto)'
  ])
  assert.match(notRunLines({ env: { CI: 'true' }, tools: TOOLS })[0], /mosquitto is not installed, so they failed \(CI must have it\)/)
  assert.deepEqual(notRunLines({ env: {}, tools: TOOLS.map(t => ({ ...t, present: true })) }), [])
})

test('npm test bounds every test file with a timeout, and ends with test/run.mjs', () => {
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8'))
  assert.match(scripts.test, /node test\/run\.mjs [^&]*test\/\*\.test\.mjs$/, 'the missing-tool lines come last')
  const runs = Object.values(scripts).flatMap(s => s.split('&&')).filter(s => /node --test|test\/run\.mjs/.test(s))
  assert.ok(runs.length >= 2, `the test runs: ${runs}`)
  for (const run of runs) {
    const timeout = /--test-timeout=(\d+)/.exec(run)
    assert.ok(timeout, `no --test-timeout in: ${run}`)
    // Generous: the slowest files (board, firmware) take ~20 s each on the shared 2-core machine.
    assert.ok(Number(timeout[1]) >= 60_000, `timeout ${timeout[1]} ms in: ${run}`)
  }
})

/** Alive and not a zombie waiting for its new parent to reap it (Linux /proc). */
function alive (pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

async function gone (pid, ms = 5000) {
  const deadline = Date.now() + ms
  while (alive(pid) && Date.now() < deadline) await sleep(50)
  return !alive(pid)
}

// This environment without NODE_TEST_CONTEXT, or node --test inside a test file would skip its files.
const { NODE_TEST_CONTEXT, ...outsideTests } = process.env

test('a hanging test file is ended at its timeout, and the processes it spawned die with it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-hang-'))
  const pidsFile = join(dir, 'pids.json')
  try {
    const started = Date.now()
    const result = await new Promise(resolve => {
      execFile(process.execPath, ['test/run.mjs', '--test-timeout=3000', 'test/fixtures/hang/hangs.mjs'],
        { env: { ...outsideTests, PIDS_FILE: pidsFile }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }))
    })
    assert.notEqual(result.code, 0, 'a timed-out file fails npm test')
    assert.ok(Date.now() - started < 30_000, 'ended by the timeout')
    assert.match(result.stdout, /timed out after 3000ms/)
    const pids = JSON.parse(readFileSync(pidsFile, 'utf8'))
    assert.equal(pids.length, haveMosquitto() ? 2 : 1)
    for (const pid of pids) assert.ok(await gone(pid), `process ${pid} outlived its test file`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a mosquitto that died from outside still stops and closes', { skip: skipWithout('mosquitto') }, async () => {
  const broker = await startMosquitto()
  const { pid } = broker
  process.kill(pid, 'SIGKILL')
  assert.ok(await gone(pid))
  await sleep(100) // its 'exit' has been seen
  const closed = await Promise.race([broker.close().then(() => true), sleep(5000).then(() => false)])
  assert.ok(closed, 'close() returned')
})
