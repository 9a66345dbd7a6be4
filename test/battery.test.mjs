// Battery voltage and WiFi power save: the firmware as flashed, in the host runtime (its ESP32 model
// where it matters), against real brokers, with the device's clock faked for the 10-minute checks.
import { describe, test, before, beforeEach, after } from 'node:test'
import assert from 'node:assert/strict'
import mqttPacket from 'mqtt-packet'
import { startBroker } from '../host/broker.mjs'
import { subscribe } from '../host/subscriber.mjs'
import { createDevice } from '../host/espruino/runtime.mjs'
import { startSession } from '../host/sim/session.mjs'
import { execFileSync, spawn } from 'node:child_process'
import { own } from '../host/children.mjs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fillId } from '../host/device-id.mjs'
import { deviceSettings, ID_MARKER } from '../tools/build/packets.mjs'
import { loadConfig } from '../tools/build/config.mjs'
import { importSrc } from './helpers/src-module.mjs'
import { firmware, boot, advance, logged, connected, until, SERIAL, tracker, brokers, noMosquitto, RUNTIME, espruinoOnly } from './helpers/firmware.mjs'

const { withPacketId } = await importSrc('src/codec.ts')
const MINUTE = 60000
// Kaluma reads an ADC on GPIO 26 to 29 only.
const BATTERY = { pin: RUNTIME === 'kaluma' ? 'D28' : 'D35', divider: 2, scale: 1.1 }
// What analogRead must return for `volts` at the cell with BATTERY's divider and scale.
const level = volts => volts / (3.3 * BATTERY.divider * BATTERY.scale)

const { track, running } = tracker()
const batteryTopic = fillId('tablecall/{id}/battery', SERIAL)
const reports = staff => staff.messages.filter(m => m.topic === batteryTopic).map(m => m.payload)

for (const [name, start] of Object.entries(brokers)) {
  describe(`battery against ${name}`, { skip: name === 'mosquitto' && noMosquitto }, () => {
    let broker
    before(async () => { broker = await start() })
    after(async () => broker.close())

    test('at connect: the mean of the readings x 3.3 x divider x scale, two decimals, retained, QoS 1', async () => {
      const fw = await firmware({ board: 'esp32', battery: BATTERY })
      const device = running(boot({ code: fw.code, port: broker.port, board: 'ESP32' }))
      // Readings scattered around 3.87 V: only their mean gives 3.87 (one reading is 0.05 V off).
      let n = 0
      device.setAnalog(BATTERY.pin, () => level(3.87 + (n++ % 2 ? 0.05 : -0.05)))
      await logged(device, /^battery: 3\.87 V$/)
      if (RUNTIME === 'espruino') assert.equal(device.adcAttenuation.get('D35'), 3600, '11 dB, so 2.1 V at the pin is in range')
      // A screen that opens later still gets it: retained, and QoS 1 as a QoS 1 subscriber sees it.
      // (The first screen may see it live, without the retain flag, if it came before the PUBLISH.)
      const staff = track(await subscribe(broker.url, batteryTopic))
      await staff.waitFor(1)
      const late = track(await subscribe(broker.url, batteryTopic))
      await late.waitFor(1)
      assert.deepEqual(late.messages.map(m => [m.payload, m.retain, m.qos]), [['3.87', true, 1]])
    })
  })
}

describe('battery over time (fake clock, aedes)', () => {
  // A broker per test: a retained voltage must not reach the next test.
  let broker
  beforeEach(async () => { broker = track(await startBroker()) })

  test('every 10 minutes only when it moved by 0.02 V or more, and at least hourly', async () => {
    const fw = await firmware({ board: 'esp32', battery: BATTERY })
    const staff = track(await subscribe(broker.url, batteryTopic))
    const device = running(boot({ code: fw.code, port: broker.port, board: 'ESP32', fakeTimers: true }))
    let volts = 3.9
    device.setAnalog(BATTERY.pin, () => level(volts))
    await logged(device, /^battery: 3\.90 V$/)
    // The device's clock moves while waiting: the socket write goes out on a timer (Kaluma's stream.js).
    const reported = n => until(device, () => staff.messages.length >= n, { what: `${n} battery report(s)` })
    await reported(1)
    const at = device.clock.now
    const to = async minutes => advance(device, at + minutes * MINUTE - device.clock.now, 5000)
    volts = 3.89 // 0.01 V: not worth a message
    await to(10.5)
    volts = 3.87 // 0.03 V from what the board shows
    await to(19.5)
    assert.deepEqual(reports(staff), ['3.90'], 'nothing between the checks, nothing for 0.01 V')
    await to(20.5)
    await reported(2)
    // Still for an hour after that report: the hourly one comes at 80 minutes, not before.
    await to(79.5)
    assert.deepEqual(reports(staff), ['3.90', '3.87'])
    await to(80.5)
    await reported(3)
    assert.deepEqual(reports(staff), ['3.90', '3.87', '3.87'])
    assert.ok(staff.messages.every(m => m.qos === 1))
  })

  test('no battery setting: no battery topic, no analogRead, and no battery code in the bundle', async () => {
    const fw = await firmware({ board: 'esp32' })
    const withBattery = await firmware({ board: 'esp32', battery: BATTERY })
    assert.match(withBattery.code, /analogRead/)
    assert.doesNotMatch(fw.code, /analogRead|setAtten|battery/)
    const staff = track(await subscribe(broker.url, 'tablecall/+/battery'))
    const device = running(boot({ code: fw.code, port: broker.port, board: 'ESP32', fakeTimers: true }))
    device.setAnalog(BATTERY.pin, level(3.9))
    await logged(device, connected)
    await advance(device, 70 * MINUTE, 5000)
    assert.equal(device.analogReads, 0)
    if (RUNTIME === 'espruino') assert.equal(device.adcAttenuation.size, 0)
    assert.deepEqual(staff.messages, [])
  })

  test('board "linux": any D<n> is read, and no ESP32.setAtten is needed', { skip: espruinoOnly('Kaluma reads an ADC on GPIO 26 to 29 only') }, async () => {
    const fw = await firmware({ board: 'linux', battery: { pin: 'D47' } })
    const device = running(boot({ code: fw.code, port: broker.port, board: 'LINUX' }))
    device.setAnalog('D47', 3.71 / 6.6)
    await logged(device, /^battery: 3\.71 V$/)
  })

  test('a pin without an ADC (ESP32 gives NaN): one log line, nothing published', { skip: espruinoOnly('ESP32 answers NaN for a pin without an ADC') }, async () => {
    const fw = await firmware({ board: 'esp32', battery: BATTERY })
    const staff = track(await subscribe(broker.url, batteryTopic))
    const device = running(boot({ code: fw.code, port: broker.port, board: 'ESP32', fakeTimers: true }))
    device.setAnalog(BATTERY.pin, () => NaN)
    await logged(device, connected)
    await advance(device, 25 * MINUTE, 5000)
    assert.equal(device.logs.filter(l => l.startsWith('battery:')).length, 1)
    assert.match(device.logs.find(l => l.startsWith('battery:')), /no reading on D35 \(fix: /)
    assert.deepEqual(reports(staff), [])
  })
})

describe('the battery packet', () => {
  test('made at build time, filled in on the device: the bytes mqtt-packet makes for the voltage', () => {
    // The project's config, as the build reads it, with a battery.
    const config = { ...loadConfig({ configPath: 'espruino.config.json', target: 'sim', env: {} }), battery: BATTERY }
    const { battery } = deviceSettings(config)
    const packet = battery.packet.replaceAll(ID_MARKER, '0a1b2c3d') + '3.87'
    const expected = mqttPacket.generate({ cmd: 'publish', topic: 'tablecall/0a1b2c3d/battery', payload: Buffer.from('3.87'), qos: 1, retain: true, dup: false, messageId: 513 })
    assert.equal(withPacketId(packet, battery.idAt, 513, false), expected.toString('latin1'))
    assert.equal(battery.volts, 3.3 * 2 * 1.1)
  })
})

describe('WiFi power save', { skip: espruinoOnly('ESP32\'s Wifi.setConfig; Kaluma cannot switch power save') }, () => {
  let broker
  before(async () => { broker = await startBroker() })
  after(async () => broker.close())

  test('wifi.powersave reaches the Wifi module (ESP32 model): "none" turns modem sleep off', async () => {
    const fw = await firmware({ board: 'esp32', wifi: { powersave: 'none' } })
    const device = running(boot({ code: fw.code, port: broker.port, board: 'ESP32', ble: false }))
    await logged(device, connected)
    assert.equal(device.wifi.powersave, 'none')
    assert.ok(!device.logs.some(l => /power save/.test(l)))
  })

  test('"none" while Bluetooth is on (ESP-IDF needs modem sleep then): not applied, one line says why', async () => {
    const fw = await firmware({ board: 'esp32', wifi: { powersave: 'none' } })
    const device = running(boot({ code: fw.code, port: broker.port, board: 'ESP32' }))
    await logged(device, connected)
    assert.equal(device.wifi.powersave, 'modem')
    assert.deepEqual(device.logs.filter(l => /power save/.test(l)), ['wifi: power save "none" not applied (Error: Bluetooth is on); see docs/power.md'])
  })

  test('the default "ps-poll" is accepted by the ESP32 model: modem sleep, no complaint', async () => {
    const fw = await firmware({ board: 'esp32' })
    const device = running(boot({ code: fw.code, port: broker.port, board: 'ESP32' }))
    await logged(device, connected)
    assert.equal(device.wifi.powersave, 'modem')
    assert.ok(!device.logs.some(l => /power save/.test(l)))
  })

  test('a Wifi module without setConfig: one log line, and the device connects', async () => {
    const fw = await firmware({ board: 'esp32' })
    const device = running(boot({ code: fw.code, port: broker.port, board: 'RPI_PICO_W' }))
    await logged(device, connected)
    assert.deepEqual(device.logs.filter(l => /power save/.test(l)).length, 1)
    assert.match(device.logs.find(l => /power save/.test(l)), /^wifi: power save "ps-poll" not applied \(TypeError: .*setConfig.*\); see docs\/power\.md$/)
  })
})

describe('host runtime models', () => {
  const run = (options, code) => {
    const device = createDevice({ fakeTimers: true, ...options, code })
    track(device, () => device.stop())
    device.start()
    return device
  }

  test('analogRead: any D<n> by name, number or Pin; 0 unless set; a bad pin throws as on Espruino', () => {
    const d = run({}, "try { analogRead('X1') } catch (e) { print(e.message) }")
    assert.deepEqual(d.logs, ['Invalid pin'])
    const e = createDevice({ fakeTimers: true, code: "print(analogRead('D47'), analogRead(D5), analogRead(5), analogRead('D3'))" })
    track(e, () => e.stop())
    e.setAnalog('D47', 0.25)
    e.setAnalog(5, () => 0.5)
    e.start()
    assert.deepEqual(e.logs, ['0.25 0.5 0.5 0'])
    assert.equal(e.analogReads, 4)
    assert.throws(() => e.setAnalog('D1', 1.5), /not 0\.\.1/)
  })

  test('ESP32 board: ESP32.setAtten and Wifi.setConfig as in 2v29; other boards have neither', () => {
    const wifi = { ssid: 'x', password: 'y' }
    const code = `
      var w = require('Wifi');
      print(typeof ESP32, typeof w.setConfig, w.getStatus().powersave);
      if (typeof ESP32 !== 'undefined') ESP32.setAtten('D35', 3600);
      if (w.setConfig) {
        w.setConfig({ powersave: 'none' }); print(w.getStatus().powersave);
        w.setConfig({ powersave: 'ps-poll' }); print(w.getStatus().powersave);
        try { w.setConfig({ powersave: 'deep' }) } catch (e) { print(e.message) }
      }
    `
    const esp32 = run({ board: 'ESP32', wifi }, code)
    assert.deepEqual(esp32.logs, ['object function modem', 'none', 'modem', 'Unknown powersave mode'])
    assert.deepEqual([...esp32.adcAttenuation], [['D35', 3600]])
    const pico = run({ wifi }, code)
    assert.deepEqual(pico.logs, ['undefined undefined none'])
  })
})

describe('simulator', () => {
  test('a simulated cell when the config has none; draining it shows at the next 10-minute check', async () => {
    const session = await startSession({ outPath: join(mkdtempSync(join(tmpdir(), 'tablecall-sim-')), 'fw.js'), fakeTimers: true, battery: true })
    track(session)
    const seen = []
    session.on('battery', v => seen.push(v))
    assert.equal(session.batteryAdded, true)
    session.start()
    await logged(session.device, /^battery: 4\.20 V$/)
    assert.equal(session.drainBattery(0.1).toFixed(2), '4.10')
    await advance(session.device, 10 * MINUTE, 5000)
    // The staff view (the board's state) reports each valid voltage it receives.
    await until(session.device, () => seen.length === 2, { what: 'the second report at the staff view' })
    assert.deepEqual(seen, ['4.20', '4.10'])
  })

  test('npm start: the staff see the battery, v drains it, and the help names the key', async () => {
    const help = execFileSync(process.execPath, ['host/sim/start.mjs', '--help'], { encoding: 'utf8' })
    assert.match(help, /v drains the simulated battery/)
    const child = own(spawn(process.execPath, ['host/sim/start.mjs'], { stdio: ['pipe', 'pipe', 'pipe'] }))
    const exited = new Promise(resolve => child.on('exit', resolve))
    track(child, async () => { child.kill(); await exited })
    let out = ''
    const printed = pattern => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} within 15 s; printed:\n${out}`)), 15000)
      const check = () => {
        if (!pattern.test(out)) return
        clearTimeout(timer)
        child.stdout.off('data', check)
        resolve()
      }
      child.stdout.on('data', check)
    })
    child.stdout.on('data', d => { out += d })
    await printed(/staff +battery: 4\.20 V/)
    child.stdin.write('v')
    await printed(/sim +battery drained to 4\.10 V/)
    child.stdin.write('q')
    assert.equal(await exited, 0)
  })
})
