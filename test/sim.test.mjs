// `npm start` as a user runs it, driven through stdin: the same code path as the keys.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { own } from '../host/children.mjs'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import net from 'node:net'

// Every simulator still running when a test ends (it failed or timed out) is killed, so a failing test
// cannot leave npm test waiting forever.
const children = new Set()
afterEach(() => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
})

function startSim (args = []) {
  const child = own(spawn(process.execPath, ['host/sim/start.mjs', ...args], { stdio: ['pipe', 'pipe', 'pipe'] }))
  children.add(child)
  child.on('exit', () => children.delete(child))
  const out = { text: '', err: '' }
  child.stdout.on('data', d => { out.text += d })
  child.stderr.on('data', d => { out.err += d })
  const exited = new Promise(resolve => child.on('exit', code => resolve(code)))
  // Resolves when stdout matches, or rejects after timeoutMs with what was printed.
  const waitFor = (pattern, timeoutMs = 15000) => new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(out.text)
      if (!m) return
      clearTimeout(timer)
      child.stdout.off('data', check)
      resolve(m)
    }
    const timer = setTimeout(() => {
      child.stdout.off('data', check)
      reject(new Error(`no ${pattern} within ${timeoutMs} ms; printed:\n${out.text}\n${out.err}`))
    }, timeoutMs)
    child.stdout.on('data', check)
    check()
  })
  return { child, out, exited, waitFor }
}

test('npm start: keys 1-4 press the buttons and the staff see four calls, a answers the longest, q quits', async () => {
  const sim = startSim()
  await sim.waitFor(/mqtt: connected/)
  sim.child.stdin.write('1234')
  for (const n of [1, 2, 3, 4]) {
    await sim.waitFor(new RegExp(`staff +button ${n} is pressed +\\(\\d+ ms after the press\\)`))
    await sim.waitFor(new RegExp(`staff +table ${n} calling since`))
  }
  sim.child.stdin.write('a')
  await sim.waitFor(/answered table 1, call (\d+) \(its id, retained, on the answer topic\)/)
  // the device ends the call: its state turns empty
  await sim.waitFor(/staff +table 1 call \d+ ended/)
  sim.child.stdin.write('q')
  assert.equal(await sim.exited, 0)
  assert.equal(sim.out.err, '')
})

test('npm start -- --runtime kaluma: the Kaluma bundle in the Kaluma host runtime; keys press, the staff see the calls', async () => {
  const sim = startSim(['--runtime', 'kaluma'])
  await sim.waitFor(/running in the Kaluma 1\.2\.1 host runtime/)
  await sim.waitFor(/mqtt: connected/)
  sim.child.stdin.write('12')
  for (const n of [1, 2]) await sim.waitFor(new RegExp(`staff +button ${n} is pressed`))
  sim.child.stdin.write('q')
  assert.equal(await sim.exited, 0)
  assert.equal(sim.out.err, '')
})

test('npm start: d drops the WiFi link and the device comes back', async () => {
  const sim = startSim()
  await sim.waitFor(/mqtt: connected/)
  sim.child.stdin.write('d')
  await sim.waitFor(/mqtt: connection lost/)
  await sim.waitFor(/mqtt: connected[^\n]*\n[\s\S]*mqtt: connected/, 20000)
  sim.child.stdin.end()
  assert.equal(await sim.exited, 0)
})

test('npm start -- --broker to a port nobody listens on: one clear line, no stack trace', async () => {
  const port = await new Promise(resolve => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) }) })
  const sim = startSim(['--broker', `mqtt://127.0.0.1:${port}`])
  const code = await sim.exited
  assert.equal(code, 1)
  assert.match(sim.out.err, /^npm start: cannot reach the broker at mqtt:\/\/127\.0\.0\.1:\d+ .*\(fix: /)
  assert.doesNotMatch(sim.out.err, /\n\s+at /)
})

test('npm start with a bad config: the problems, their fields and fixes, no stack trace', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tablecall-sim-')), 'config.json')
  writeFileSync(file, JSON.stringify({ mqtt: { port: 0 }, buttons: [{ pin: 'D16', table: 1 }] }))
  const sim = startSim(['--config', file])
  assert.equal(await sim.exited, 1)
  assert.match(sim.out.err, /mqtt\.port: 0 is below 1 \(fix: use 1 to 65535\)/)
  assert.doesNotMatch(sim.out.err, /\n\s+at /)
})

// The firmware's retained table state is what makes this work: a fresh broker has neither the staff's
// session nor the event, only what the device publishes after its return.
test('npm start: broker restarted (b), a press within 100 ms of its return: the staff view shows the call', async () => {
  const sim = startSim()
  await sim.waitFor(/mqtt: connected/)
  sim.child.stdin.write('b')
  await sim.waitFor(/broker is back/)
  sim.child.stdin.write('1')
  await sim.waitFor(/staff +table 1 calling since/, 15000)
  sim.child.stdin.write('q')
  assert.equal(await sim.exited, 0)
})
