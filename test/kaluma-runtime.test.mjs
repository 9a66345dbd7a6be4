// The host model of Kaluma 1.2.1 on a Pico W (host/kaluma/): each behaviour a firmware must design for,
// checked through the API a program sees. The Kaluma file and function behind each is cited in host/kaluma.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { createKalumaDevice } from '../host/kaluma/runtime.mjs'
import { until, advance } from './helpers/firmware.mjs'

const AP = { ssid: 'tablecall-sim', password: 'simulated' }
const JOIN = `const { WiFi } = require('wifi'); const wifi = new WiFi()
wifi.connect({ ssid: 'tablecall-sim', password: 'simulated', enforce: true }, err => console.log('join', err ? 'failed' : 'ok'))\n`

function device (code, options = {}) {
  const d = createKalumaDevice({ code, fakeTimers: true, wifi: AP, ...options })
  d.start()
  return d
}

async function withDevice (code, options, fn) {
  const d = device(code, options)
  try {
    await fn(d)
  } finally {
    d.stop()
  }
}

const lines = (d, re) => d.logs.filter(l => re.test(l))

/** A TCP server on 127.0.0.1; `onSocket` gets each connection. */
async function server (onSocket = () => {}) {
  const sockets = new Set()
  const s = net.createServer(c => {
    sockets.add(c)
    c.received = []
    c.on('data', b => c.received.push(...b))
    c.on('error', () => {})
    onSocket(c)
  })
  await new Promise(resolve => s.listen(0, '127.0.0.1', resolve))
  return {
    port: s.address().port,
    sockets,
    close: () => { for (const c of sockets) c.destroy(); return new Promise(resolve => s.close(resolve)) }
  }
}

test('kaluma: every setWatch stays polled, in C: no JavaScript runs for an idle watch; clearWatch removes one', async () => {
  await withDevice(`
    pinMode(16, INPUT_PULLDOWN); pinMode(17, INPUT_PULLDOWN)
    const a = setWatch(pin => console.log('pressed', pin), 16, RISING, 20)
    setWatch(pin => console.log('pressed', pin), 17, RISING, 20)
    setTimeout(() => clearWatch(a), 1000)
  `, {}, async d => {
    await advance(d, 500)
    assert.equal(d.jsCalls, 0, 'watching costs no JavaScript until a press')
    await d.press(16)
    await advance(d, 100)
    await d.press(17)
    await advance(d, 500)
    assert.deepEqual(lines(d, /pressed/), ['pressed 16', 'pressed 17'], 'both watches fire; the callback gets only the pin number')
    await d.press(16)
    await d.press(17)
    await advance(d, 100)
    assert.deepEqual(lines(d, /pressed/), ['pressed 16', 'pressed 17', 'pressed 17'], 'after clearWatch only the other one')
  })
})

test('kaluma: setWatch debounces by polling: one call per bouncy press; a throwing callback loses its watch', async () => {
  await withDevice(`
    pinMode(16, INPUT_PULLDOWN)
    let n = 0
    setWatch(pin => { n++; console.log('press ' + n); if (n === 2) throw new Error('boom') }, 16, RISING, 20)
  `, {}, async d => {
    await d.press(16)
    await advance(d, 100)
    assert.deepEqual(lines(d, /press/), ['press 1'])
    await d.press(16)
    await advance(d, 100)
    assert.ok(d.logs.includes('Error: boom'), d.logs.join('\n'))
    await d.press(16)
    await advance(d, 100)
    assert.deepEqual(lines(d, /press/), ['press 1', 'press 2'], 'the watch is gone after its callback threw')
  })
})

test('kaluma: a WiFi join blocks the loop: time jumps, due timers run late, a press and release meanwhile is never seen', async () => {
  await withDevice(`
    pinMode(16, INPUT_PULLDOWN)
    setWatch(pin => console.log('pressed', pin), 16, RISING, 20)
    setTimeout(() => { console.log('t0 ' + millis()); ${JOIN.replace(/\n/g, '; ')}; console.log('joined at ' + millis()) }, 10)
    setTimeout(() => console.log('t100 ran at ' + millis()), 100)
  `, {}, async d => {
    d.wifi.setJoinDelay(3000)
    await advance(d, 50, 10)
    assert.deepEqual(lines(d, /^t0|^join|joined/), ['t0 10', 'join ok', 'joined at 3010'], 'the callback runs inside connect(), after the block')
    await d.press(16, { holdMs: 80 }) // during the block
    await advance(d, 3100)
    assert.deepEqual(lines(d, /t100/), ['t100 ran at 3010'])
    assert.deepEqual(lines(d, /pressed/), [], 'the press happened while the loop was stalled')
    await d.press(16)
    await advance(d, 100)
    assert.deepEqual(lines(d, /pressed/), ['pressed 16'])
  })
})

test('kaluma: connect without enforce fails at once when the link is down; a wrong password blocks 30 s', async () => {
  await withDevice(`
    const { WiFi } = require('wifi'); const wifi = new WiFi()
    wifi.connect({ ssid: 'tablecall-sim', password: 'simulated' }, err => console.log('plain ' + (err && err.name) + ' ' + millis()))
    wifi.connect({ ssid: 'tablecall-sim', password: 'wrong-one', enforce: true }, err => console.log('wrong ' + (err && err.name) + ' ' + millis()))
  `, {}, async d => {
    await advance(d, 10)
    assert.deepEqual(lines(d, /plain|wrong/), ['plain SystemError 0', 'wrong SystemError 30000'])
    assert.equal(d.wifi.connected, false)
  })
})

test('kaluma: no link event: a dropped link is only seen by polling getConnection', async () => {
  await withDevice(`${JOIN}
    wifi.on('disconnected', () => console.log('event'))
    setInterval(() => wifi.getConnection(err => console.log(err ? 'down' : 'up')), 1000)
  `, {}, async d => {
    await advance(d, 3600)
    assert.equal(lines(d, /^up$/).length, 1)
    d.wifi.dropLink()
    await advance(d, 1000)
    assert.deepEqual(lines(d, /^down$|^event$/), ['down'])
  })
})

test('kaluma: timers: a delay is required, no arguments reach the callback, clearTimeout(undefined) throws, a throwing interval is cancelled', async () => {
  await withDevice(`
    try { setTimeout(() => {}) } catch (e) { console.log(e.name + ': ' + e.message) }
    try { clearTimeout(undefined) } catch (e) { console.log(e.name + ': ' + e.message) }
    setTimeout(function () { console.log('args ' + arguments.length) }, 5, 'extra')
    let n = 0
    setInterval(() => { n++; console.log('tick ' + n); if (n === 2) throw new Error('bad tick') }, 100)
  `, {}, async d => {
    await advance(d, 1000)
    assert.deepEqual(lines(d, /Error|args|tick/), [
      'TypeError: "delay" argument must be a number',
      'TypeError: "id" argument must be a number',
      'args 0', 'tick 1', 'tick 2', 'Error: bad tick'
    ])
  })
})

test('kaluma: console has log and error only; the program runs in strict mode; a top-level throw ends it, timers and watches too', async () => {
  await withDevice(`
    console.error('to stderr')
    try { console.warn('x') } catch (e) { console.log(e.name) }
    setTimeout(() => console.log('never'), 10)
    pinMode(16, INPUT_PULLDOWN)
    setWatch(() => console.log('never pressed'), 16, RISING, 20)
    undeclared = 1
  `, {}, async d => {
    await advance(d, 100)
    await d.press(16)
    await advance(d, 100)
    assert.deepEqual(d.logs.slice(0, 2), ['to stderr', 'TypeError'])
    assert.match(d.logs[2], /^ReferenceError: undeclared is not defined/)
    assert.equal(lines(d, /never/).length, 0, 'km_runtime_cleanup removed the timer and the watch set before the throw')
  })
})

test('kaluma: board.uid, a clock from 1970 at power-up, only Kaluma\'s modules', async () => {
  await withDevice(`
    console.log(board.uid + ' ' + Date.now() + ' ' + new Date().getFullYear())
    try { require('Storage') } catch (e) { console.log(e.message) }
    console.log(typeof E + ' ' + typeof getSerial + ' ' + typeof Buffer)
  `, { uid: '0123456789ABCDEF' }, async d => {
    assert.deepEqual(d.logs, ['0123456789ABCDEF 0 1970', 'Failed to load module: Storage', 'undefined undefined undefined'])
  })
})

test('kaluma: GPIO numbers, analogRead as a 12-bit fraction', async () => {
  await withDevice(`
    digitalWrite(20, HIGH)
    try { digitalWrite('D20', 1) } catch (e) { console.log(e.name) }
    setTimeout(() => console.log('adc ' + analogRead(28)), 10)
  `, {}, async d => {
    d.setAnalog(28, 0.5)
    await advance(d, 20)
    assert.equal(d.outputs.get(20), 1)
    assert.deepEqual(d.logs, ['TypeError', 'adc 0.5'])
  })
})

test('kaluma: storage: strings only, null when missing, 253 bytes per item, 64 slots; it survives a reset', async () => {
  await withDevice(`
    console.log('got ' + storage.getItem('n'))
    storage.setItem('n', String(Number(storage.getItem('n') || 0) + 1))
    try { storage.setItem('k', 5) } catch (e) { console.log(e.name) }
    try { storage.setItem('big', 'x'.repeat(251)) } catch (e) { console.log('big ' + e.name) }
    let i = 0
    try { for (; i < 70; i++) storage.setItem('s' + i, '1') } catch (e) { console.log('full after ' + i) }
    new (require('wdt').WDT)(1000)
  `, {}, async d => {
    assert.deepEqual(d.logs, ['got null', 'TypeError', 'big SystemError', 'full after 63'])
    await advance(d, 1100)
    assert.equal(d.reboots, 1)
    assert.equal(d.logs[4], 'got 1')
  })
})

test('kaluma: the watchdog is cut to 8.388 s and counts through a blocking join (a failed join resets the board)', async () => {
  await withDevice(`
    const dog = new (require('wdt').WDT)(20000)
    setInterval(() => dog.feed(), 1000)
    setTimeout(() => { const { WiFi } = require('wifi'); new WiFi().connect({ ssid: 'gone', password: 'x', enforce: true }, () => {}) }, 20000)
  `, {}, async d => {
    assert.equal(d.watchdogMs, 8388)
    await advance(d, 19000, 500)
    assert.equal(d.reboots, 0, 'fed in time')
    await advance(d, 9000, 500)
    assert.equal(d.reboots, 1, 'the 30 s join outlasts the watchdog')
  })
})

test('kaluma: net: connect throws with the link down; data is a Uint8Array; a remote close gives close, not end', async () => {
  const srv = await server(c => c.write(Buffer.from([0x20, 0x02, 0xe9, 0x00])))
  try {
    await withDevice(`
      const net = require('net')
      try { new net.Socket().connect({ host: '10.0.0.1', port: 1883 }) } catch (e) { console.log('down: ' + e.message) }
      ${JOIN}
      const s = new net.Socket()
      s.on('ready', () => console.log('ready'))
      s.on('data', d => console.log('data ' + (d instanceof Uint8Array) + ' ' + Array.from(d).join(',')))
      s.on('end', () => console.log('end'))
      s.on('close', () => console.log('close'))
      s.connect({ host: '10.0.0.1', port: 1883 }, () => { console.log('connect'); s.write('\\xe9\\u0142') })
    `, { connectOverride: () => ({ host: '127.0.0.1', port: srv.port }) }, async d => {
      assert.deepEqual(d.logs.slice(0, 3), ['down: WiFi is not connected.', 'join ok', 'ready'])
      await until(d, () => lines(d, /^data/).length > 0, { what: 'data' })
      assert.deepEqual(lines(d, /^connect|^data/), ['connect', 'data true 32,2,233,0'])
      const [peer] = srv.sockets
      await until(d, () => peer.received.length >= 2, { what: 'the write' })
      assert.deepEqual(peer.received, [0xe9, 0x00], 'a char above U+00FF goes out as byte 0')
      peer.end()
      await until(d, () => lines(d, /^close/).length > 0, { what: 'close' })
      assert.deepEqual(lines(d, /^end|^close/), ['close'])
    })
  } finally {
    await srv.close()
  }
})

test('kaluma: net: a refused or reset connection is silent; a write or destroy after it is a use after free, and fails', async () => {
  const srv = await server()
  const port = srv.port
  await srv.close() // nothing listens there now: refused
  await withDevice(`${JOIN}
    const s = require('net').createConnection({ host: '10.0.0.1', port: 1883 }, () => console.log('connect'))
    for (const e of ['error', 'close', 'end']) s.on(e, () => console.log(e))
    setTimeout(() => s.write('x'), 5000)
    setTimeout(() => s.destroy(), 5100)
  `, { connectOverride: () => ({ host: '127.0.0.1', port }) }, async d => {
    await until(d, () => d.net.openSockets === 0, { what: 'the refusal' })
    await advance(d, 7400 - d.clock.now, 500)
    assert.deepEqual(d.logs, ['join ok'], 'no connect, no error, no close: JavaScript is not told')
    assert.deepEqual(d.net.faults, [])
    await advance(d, 500, 50)
    assert.deepEqual(d.net.faults, [
      'use after free: write on socket 0, whose pcb lwIP freed (refused: ECONNREFUSED)',
      'use after free: destroy on socket 0, whose pcb lwIP freed (refused: ECONNREFUSED)'
    ])
    assert.equal(d.uncaught.length, 2, 'each fails the test like an error escaping the loop')
    d.uncaught.length = 0
  })
})

test('kaluma: net: 16 slots, the lowest free first; EREMOTEIO when all are taken; a name that does not resolve blocks 3 s and throws, keeping its slot until destroy()', async () => {
  await withDevice(`${JOIN}
    const net = require('net')
    const t = millis()
    const s = new net.Socket()
    try { s.connect({ host: 'broker.invalid', port: 1883 }) } catch (e) { console.log(e.message + ' after ' + (millis() - t) + ', fd ' + s._fd) }
    const more = []
    try { for (let i = 0; i < 16; i++) { const x = new net.Socket(); x.connect({ host: '127.0.0.1', port: 9 }); more.push(x) } } catch (e) { console.log('slots ' + (more.length + 1) + ' ' + e.name + ' ' + e.errno) }
    s.destroy()
    const x = new net.Socket().connect({ host: '127.0.0.1', port: 9 })
    console.log('freed fd ' + x._fd)
  `, {}, async d => {
    assert.deepEqual(d.logs, ['join ok', 'DNS response timeout. after 3000, fd 0', 'slots 16 SystemError -121', 'freed fd 0'])
    assert.equal(d.net.maxSlots, 16)
  })
})

test('kaluma: net: a remote close frees the slot in C; destroy() after it does nothing', async () => {
  const srv = await server(c => c.end())
  try {
    await withDevice(`${JOIN}
      const net = require('net')
      const s = new net.Socket().connect({ host: '10.0.0.1', port: 1883 })
      s.on('close', () => { console.log('close, fd ' + s._fd); s.destroy(); console.log('next fd ' + new net.Socket().connect({ host: '10.0.0.1', port: 1883 })._fd) })
    `, { connectOverride: () => ({ host: '127.0.0.1', port: srv.port }) }, async d => {
      await until(d, () => lines(d, /next fd/).length > 0, { what: 'the close' })
      assert.deepEqual(d.logs.slice(1), ['close, fd 0', 'next fd 0'])
      assert.deepEqual(d.net.faults, [])
    })
  } finally {
    await srv.close()
  }
})

test('kaluma: wifi: an empty password or security is taken from the board\'s stored WIFI_PASSWORD/WIFI_SECURITY; given ones win', async () => {
  const join = options => `new (require('wifi').WiFi)().connect(${options}, err => console.log(err ? 'failed' : 'joined'))`
  const stored = d => { d.flash.items.set('WIFI_PASSWORD', 'kaluma-setup'); d.flash.items.set('WIFI_SECURITY', 'WPA2_WPA_PSK') }
  for (const [options, want] of [
    ["{ ssid: 'cafe-guests', password: '', enforce: true }", ['failed', 'WPA2']],
    ["{ ssid: 'cafe-guests', password: '', security: 'OPEN', enforce: true }", ['joined', 'OPEN']]
  ]) {
    const d = createKalumaDevice({ code: join(options), fakeTimers: true, wifi: { ssid: 'cafe-guests', password: '' } })
    stored(d)
    d.start()
    try {
      await advance(d, 100)
      assert.deepEqual([d.logs.at(-1), d.wifi.auth], want, options)
    } finally {
      d.stop()
    }
  }
})
