// The WiFi policy (src/wifi.ts) on its own, runtime-free: the adapter's join and link loss stand in as
// test doubles, the clock is faked. The firmware tests (firmware.test.mjs "wrong WiFi password...",
// kaluma-firmware.test.mjs, calls.test.mjs) run the same policy over each runtime's model.
import { test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import FakeTimers from '@sinonjs/fake-timers'
import { importSrc } from './helpers/src-module.mjs'

const SSID = 'Café Rosa'
const policy = platform => importSrc('src/wifi.ts', { platform, define: { '__TABLECALL__.ssid': JSON.stringify(SSID), '__TABLECALL__.pass': '"secret12"' } })

// An adapter whose join answers as the test says: globalThis.wifiDouble holds the calls and the handler.
const ADAPTER = `
const d = () => globalThis.wifiDouble
export const log = line => d().logs.push(line)
export const joinWifi = (ssid, options, done) => { d().joins.push([ssid, options.password]); d().done = done }
export const onLinkLost = fn => { d().lost = fn }
`
const { startWifi } = await policy(ADAPTER)
const { startWifi: startWired } = await policy('export const log = line => globalThis.wifiDouble.logs.push(line)\nexport const joinWifi = undefined\nexport const onLinkLost = () => { throw new Error("no link to watch") }\n')

let clock
afterEach(() => clock && clock.uninstall())

function start (run = startWifi) {
  clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] })
  const d = { logs: [], joins: [], ups: 0, downs: [] }
  globalThis.wifiDouble = d
  run(() => d.ups++, why => d.downs.push(why))
  return d
}

test('wifi: joins at start with the config\'s network, and says so', () => {
  const d = start()
  assert.deepEqual(d.joins, [[SSID, 'secret12']])
  assert.equal(d.ups, 0, 'not up before the join answers')
  d.done(null)
  assert.equal(d.ups, 1)
  assert.deepEqual(d.logs, [`wifi: joined "${SSID}"`])
})

test('wifi: a failed join is retried with backoff (about 1 s, then 2 s), and the backoff starts over once joined', () => {
  const d = start()
  d.done('WRONG_PASSWORD')
  assert.match(d.logs[0], /^wifi: cannot join "Café Rosa": WRONG_PASSWORD$/)
  assert.match(d.logs[1], /^wifi: joining again in (0\.[89]|1\.[0-2]) s$/)
  clock.tick(1250)
  assert.equal(d.joins.length, 2)
  d.done('WRONG_PASSWORD')
  assert.match(d.logs.at(-1), /^wifi: joining again in (1\.[5-9]|2\.[0-5]) s$/)
  clock.tick(2500)
  assert.equal(d.joins.length, 3)
  d.done(null)
  assert.equal(d.ups, 1)
  // the next loss waits the first delay again
  d.lost(' (200)')
  assert.match(d.logs.at(-1), /^wifi: joining again in (0\.[89]|1\.[0-2]) s$/)
})

test('wifi: a lost link is said once, takes the network down, and is rejoined', () => {
  const d = start()
  d.done(null)
  d.lost(' (200)')
  assert.deepEqual(d.downs, ['WiFi is down'])
  assert.ok(d.logs.includes('wifi: link lost (200)'), d.logs.join('\n'))
  // More reports while down (Espruino 2v29 reports a failed rejoin only so): no second "down", one rejoin pending.
  d.lost(' (201)')
  d.lost(' (201)')
  assert.deepEqual(d.downs, ['WiFi is down'])
  assert.equal(d.logs.filter(l => /^wifi: link lost/.test(l)).length, 1)
  assert.equal(d.logs.filter(l => /^wifi: joining again/.test(l)).length, 1)
  clock.tick(1250)
  assert.equal(d.joins.length, 2)
  d.done(null)
  assert.equal(d.ups, 2)
})

test('wifi: a join that never calls back is retried after the link-loss report', () => {
  const d = start()
  d.lost(' (15)')
  assert.deepEqual(d.downs, [], 'never up, so never down')
  assert.equal(d.logs.some(l => /link lost/.test(l)), false)
  clock.tick(1250)
  assert.equal(d.joins.length, 2)
})

test('wifi: a board with no WiFi to join is up at once, with nothing to watch', () => {
  const d = start(startWired)
  assert.equal(d.ups, 1)
  assert.deepEqual(d.logs, [])
})
