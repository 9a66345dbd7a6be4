// The firmware on the host model of Kaluma 1.2.1 (host/kaluma/, docs/kaluma.md), in what only Kaluma
// has: a long broker outage (lwIP frees the pcb of every refused connection without telling Kaluma, so
// the firmware must never write to or close such a socket, never need more than Kaluma's 16 socket
// slots, and restarts the board on purpose before it would run out), and the WiFi settings Kaluma's
// own setup stores on the board. Built for Kaluma whatever TABLECALL_RUNTIME says.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from '../build.mjs'
import { createKalumaDevice } from '../host/kaluma/runtime.mjs'
import { startBroker } from '../host/broker.mjs'
import { subscribe } from '../host/subscriber.mjs'
import { fillId } from '../host/device-id.mjs'
import { until, advance, tap, SERIAL, WIFI } from './helpers/firmware.mjs'

const MINUTE = 60000
const base = JSON.parse(readFileSync('espruino.config.json', 'utf8'))

async function kalumaFirmware (wifi = WIFI) {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-kaluma-'))
  const config = { ...base, runtime: 'kaluma', board: 'linux', wifi }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  const { code } = await build({ configPath: join(dir, 'config.json'), outPath: join(dir, 'fw.js'), target: 'sim', env: {} })
  return { code, topic: fillId(config.mqtt.topic, SERIAL) }
}

const cleanup = []
after(async () => { while (cleanup.length) await cleanup.pop()() })

test('kaluma: the broker refuses connections for 30 minutes while guests press, then comes back: no freed socket touched, at most 16 slots, every press delivered once and in order', async t => {
  const fw = await kalumaFirmware()
  const broker = await startBroker()
  cleanup.push(() => broker.close())
  await broker.stop() // its port now refuses: every connection is reset at once, and lwIP frees its pcb
  const d = createKalumaDevice({ code: fw.code, fakeTimers: true, uid: SERIAL.toUpperCase(), wifi: WIFI, connectOverride: () => ({ host: '127.0.0.1', port: broker.port }), resolve: () => '127.0.0.1' })
  cleanup.push(() => d.stop())
  const restartsAt = []
  d.on('reboot', () => restartsAt.push(d.clock.now))
  d.start()

  // A guest presses on tables 1 to 4 in turn; each press is seen by the board (none is made during a
  // restart's WiFi join, when Kaluma reads no pin: README, "Which board?").
  const pins = base.buttons.map(b => b.pin)
  const pressed = [] // { table, boot }
  const press = async () => {
    await until(d, () => !d.blocked && d.logs.some(l => /^wifi: joined/.test(l)), { what: 'a running board' })
    const i = pressed.length % pins.length
    const before = d.logs.filter(l => l.startsWith('btn:')).length
    await tap(d, pins[i])
    assert.equal(d.logs.filter(l => l.startsWith('btn:')).length, before + 1, `press ${pressed.length + 1} seen`)
    pressed.push({ table: base.buttons[i].table, boot: d.reboots })
  }
  const start = d.clock.now
  while (d.clock.now - start < 30 * MINUTE) {
    await press()
    await advance(d, 100000 - 180, 1000) // one every 100 s
  }
  assert.deepEqual(d.net.faults, [], 'no write, end or close on a socket whose pcb lwIP had freed')
  assert.ok(d.reboots >= 1, 'the slots ran out in 30 minutes and the board restarted')

  await broker.start()
  const staff = await subscribe(broker.url, fw.topic)
  cleanup.push(() => staff.close())
  await until(d, () => d.logs.some(l => /^mqtt: connected/.test(l)), { deviceMs: 3 * MINUTE, what: 'the broker back' })
  await press()
  await press()
  await until(d, () => staff.messages.length >= pressed.filter(p => p.boot === d.reboots).length, { what: 'the presses since the last restart' })
  await advance(d, 5000, 500)

  assert.deepEqual(d.net.faults, [], 'no write, end or close on a socket whose pcb lwIP had freed')
  assert.deepEqual(d.uncaught, [])
  assert.equal(d.net.maxSlots, 16, 'all of Kaluma\'s 16 sockets in use before a restart, never more')
  assert.equal(d.logs.filter(l => l === 'main: restarting').length, d.reboots, 'every reboot was a restart on purpose')
  const minutes = restartsAt.map(at => ((at - start) / MINUTE).toFixed(1))
  t.diagnostic(`restarts at minute ${minutes.join(', ')} of the outage; ${pressed.length} presses`)
  const got = staff.messages.map(m => Number(/^button ([0-9]+) is pressed$/.exec(m.payload)[1]))
  const sinceRestart = pressed.filter(p => p.boot === d.reboots).map(p => p.table)
  assert.deepEqual(got.slice(-sinceRestart.length), sinceRestart, 'the presses since the last restart: once, in order')
  // A restart keeps the waiting presses: the core's stop handler saves them, the next start restores them.
  await t.test('every press delivered once and in order across the restarts', () => {
    assert.deepEqual(got, pressed.map(p => p.table))
  })
})

for (const [what, network, storedSecurity, auth] of [
  ['an open network is joined as open', { ssid: 'cafe-guests', password: '' }, 'WPA2_WPA_PSK', 'OPEN'],
  ['a WPA network is joined with WPA', { ssid: 'cafe-staff', password: 'kitchen-door-42' }, 'OPEN', 'WPA2']
]) {
  test(`kaluma: the board holds WIFI_PASSWORD/WIFI_SECURITY from Kaluma's own setup; the config wins: ${what}`, async () => {
    const fw = await kalumaFirmware(network)
    const d = createKalumaDevice({ code: fw.code, fakeTimers: true, uid: SERIAL.toUpperCase(), wifi: network, resolve: () => '127.0.0.1', connectOverride: () => ({ host: '127.0.0.1', port: 9 }) })
    cleanup.push(() => d.stop())
    d.flash.items.set('WIFI_SSID', 'home')
    d.flash.items.set('WIFI_PASSWORD', 'stale-setup-password')
    d.flash.items.set('WIFI_SECURITY', storedSecurity)
    d.start()
    await until(d, () => d.logs.some(l => /^wifi: (joined|cannot join)/.test(l)), { what: 'a join' })
    assert.ok(d.logs.includes(`wifi: joined "${network.ssid}"`), d.logs.join('\n'))
    assert.equal(d.wifi.auth, auth)
    d.stop()
  })
}
