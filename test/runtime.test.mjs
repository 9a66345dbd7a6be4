// The Espruino host runtime: the vm context holds only Espruino's globals and behaves like
// Espruino 2v29 (watch debounce, sockets, Wifi events, uncaught errors, watchdog, teardown).
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createDevice } from '../host/espruino/runtime.mjs'

const ABSENT = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Proxy', 'Reflect', 'TextEncoder', 'TextDecoder',
  'Buffer', 'process.nextTick', 'queueMicrotask', 'setImmediate', 'Array.prototype.includes',
  'String.prototype.padStart', 'String.prototype.padEnd', 'Array.from', 'Number.isInteger', 'Object.fromEntries',
  'BigInt', 'WeakRef', 'Intl', 'WebAssembly', 'RangeError', 'Array.prototype.flat', 'Promise.prototype.finally',
  'Object.freeze', 'Math.trunc', 'module', 'exports', '__dirname', 'fetch', 'structuredClone']
const PRESENT = ['Object', 'Function', 'Array', 'String', 'Number', 'Boolean', 'Math', 'JSON', 'Date', 'Error',
  'TypeError', 'SyntaxError', 'ReferenceError', 'InternalError', 'RegExp', 'Promise', 'parseInt', 'parseFloat',
  'isNaN', 'isFinite', 'ArrayBuffer', 'Uint8Array', 'DataView', 'console.log', 'print', 'setTimeout', 'setInterval',
  'clearTimeout', 'clearInterval', 'getTime', 'getSerial', 'D0', 'D29', 'D16.read', 'pinMode', 'digitalRead',
  'digitalWrite', 'setWatch', 'clearWatch', 'E.on', 'E.emit', 'E.enableWatchdog', 'E.kickWatchdog',
  'E.getErrorFlags', 'E.toString', 'E.toUint8Array', 'E.reboot', 'process.memory', 'process.env', 'require',
  'global', 'globalThis', 'Object.prototype.on', 'Object.prototype.emit']

const devices = []
function device (options) {
  const d = createDevice({ fakeTimers: true, ...options })
  devices.push(d)
  return d
}
after(() => devices.forEach(d => d.stop()))

// Waits (real time, bounded) until the device logs a line matching re.
function waitForLog (d, re, timeoutMs = 3000) {
  const found = d.logs.find(l => re.test(l))
  if (found) return Promise.resolve(found)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      d.off('log', seen)
      reject(new Error(`no log line matching ${re} within ${timeoutMs} ms; got: ${JSON.stringify(d.logs)}`))
    }, timeoutMs)
    function seen (line) {
      if (!re.test(line)) return
      clearTimeout(timer)
      d.off('log', seen)
      resolve(line)
    }
    d.on('log', seen)
  })
}

describe('globals', () => {
  test('what Espruino lacks is absent, what it has is present', () => {
    const d = device({
      wifi: false,
      code: `
        function kind (path) {
          var parts = path.split('.'); var v = global[parts[0]];
          for (var i = 1; i < parts.length && v !== undefined; i++) v = v[parts[i]];
          return typeof v;
        }
        print(JSON.stringify({ absent: ${JSON.stringify(ABSENT)}.map(kind), present: ${JSON.stringify(PRESENT)}.map(kind) }));
      `
    }).start()
    const { absent, present } = JSON.parse(d.logs[0])
    assert.deepEqual(Object.fromEntries(ABSENT.map((n, i) => [n, absent[i]])),
      Object.fromEntries(ABSENT.map(n => [n, 'undefined'])))
    const missing = PRESENT.filter((n, i) => present[i] === 'undefined')
    assert.deepEqual(missing, [])
    assert.deepEqual(d.uncaught, [])
  })

  test('values handed to device code belong to its realm', () => {
    const d = device({
      code: `
        var m = process.memory();
        print(m instanceof Object, Array.isArray(E.getErrorFlags()), m.total, process.env.VERSION,
          typeof setTimeout(function () {}, 1), getSerial());
        try { clearTimeout(undefined) } catch (e) { print(e instanceof Error, e.message) }
      `
    }).start()
    assert.deepEqual(d.logs, ['true true 12000 2v29 number e6614c311b4e6c29',
      'true clearTimeout(undefined) not allowed. Use clearTimeout() instead'])
  })

  test('require of a module the board lacks throws as Espruino does', () => {
    const d = device({
      wifi: false,
      code: `
        ['Wifi', 'http', 'fs'].forEach(function (name) {
          try { require(name); print('loaded', name) } catch (e) { print(e instanceof Error, e.message) }
        });
        print(typeof require('net').connect, typeof require('Storage').read);
      `
    }).start()
    assert.deepEqual(d.logs, ['true Module "Wifi" not found', 'true Module "http" not found',
      'true Module "fs" not found', 'function function'])
  })

  test("E.emit runs listeners later, from the event queue, as Espruino's emit does", async () => {
    const d = device({ code: "E.on('x', function (a) { print('got', a) }); E.emit('x', 1); print('after emit');" }).start()
    await d.clock.tickAsync(0)
    assert.deepEqual(d.logs, ['after emit', 'got 1'])
  })
})

describe('string literals are bytes, as Espruino 2v29 on ESP32 and the Pico reads them', () => {
  test('\\xNN is one byte, a non-ASCII character its UTF-8 bytes, \\uNNNN cropped to 8 bits', () => {
    const d = device({
      code: String.raw`
        var bytes = function (s) { return s.length + ':' + E.toUint8Array(s).join(',') };
        print(bytes("Caf\xE9"), bytes('Café'), bytes("Caf\u00e9"));
        print(bytes(` + '`€1\\u20ac`' + String.raw`), bytes("\\u00e9"), bytes('\x41\u0042'), bytes('é'.charAt(0)));
      `
    }).start()
    assert.deepEqual(d.logs, [
      '4:67,97,102,233 5:67,97,102,195,169 4:67,97,102,233',
      '5:226,130,172,49,172 6:92,117,48,48,101,57 2:65,66 1:195'
    ])
  })
})

describe('setWatch', () => {
  const WATCH = `
    pinMode(D16, 'input_pulldown');
    setWatch(function (e) { print(JSON.stringify({ state: e.state, time: e.time, lastTime: e.lastTime, pin: String(e.pin) })) },
      D16, { repeat: true, edge: 'rising', debounce: DEBOUNCE });
  `
  test('debounce collapses a bounce burst into one event; presses 200 ms apart stay two', async () => {
    const d = device({ code: WATCH.replace('DEBOUNCE', '40') }).start()
    await d.clock.tickAsync(100)
    await d.press('D16') // 5 edges in 4 ms, 80 ms held, 5 release edges
    await d.clock.tickAsync(200 - 88)
    await d.press('D16')
    await d.clock.tickAsync(100)
    const events = d.logs.map(l => JSON.parse(l))
    assert.deepEqual(events, [
      // time is the last edge of the burst; lastTime the previous change of the pin (the release)
      { state: true, time: 0.104, pin: 'D16' },
      { state: true, time: 0.304, lastTime: 0.188, pin: 'D16' }
    ])
    assert.deepEqual(d.uncaught, [])
  })

  test('without debounce every bounce edge is an event (what the debounce test would catch)', async () => {
    const d = device({ code: WATCH.replace('DEBOUNCE', '0') }).start()
    await d.press('D16')
    assert.equal(d.logs.length, 3 + 2) // rising edges: 3 in the press burst, 2 in the release burst
  })

  test('simultaneous presses reach each pin, and clearWatch() stops them all', async () => {
    const d = device({
      code: `
        [D16, D17].forEach(function (p) { setWatch(function () { print(String(p)) }, p, { repeat: true, edge: 'rising', debounce: 30 }) });
        setTimeout(function () { clearWatch(); print('cleared') }, 1000);
      `
    }).start()
    await d.pressAll(['D16', 'D17'])
    await d.clock.tickAsync(50)
    assert.deepEqual(d.logs.slice().sort(), ['D16', 'D17'])
    // Pressed 10 ms before clearWatch(): the rising edges are still in their debounce when it runs.
    await d.clock.tickAsync(990 - d.clock.now)
    await d.pressAll(['D16', 'D17'])
    await d.clock.tickAsync(50)
    await d.pressAll(['D16', 'D17'])
    await d.clock.tickAsync(50)
    assert.deepEqual(d.logs.slice(2), ['cleared'])
  })
})

describe('net', () => {
  test('binary strings cross the socket byte-exactly both ways for all 256 byte values', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    let received = Buffer.alloc(0)
    const server = net.createServer(socket => {
      socket.on('data', chunk => {
        received = Buffer.concat([received, chunk])
        if (received.length === 256) socket.end(all)
      })
    })
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const d = createDevice({
        connectOverride: (host, port) => ({ host: '127.0.0.1', port: server.address().port }),
        code: `
          var all = ''; for (var i = 0; i < 256; i++) all += String.fromCharCode(i);
          var got = '';
          var s = require('net').connect({ host: 'broker.example', port: 1883 }, function (sock) { sock.write(all) });
          s.on('data', function (d) { got += d });
          s.on('close', function (hadError) {
            var codes = []; for (var i = 0; i < got.length; i++) codes.push(got.charCodeAt(i));
            print('closed', hadError, got === all, codes.join(','));
          });
        `
      })
      devices.push(d)
      d.start()
      const line = await waitForLog(d, /^closed/)
      assert.deepEqual(received, all)
      assert.equal(line, `closed false true ${[...all].join(',')}`)
      assert.equal(d.net.openSockets, 0)
    } finally {
      server.close()
    }
  })

  test('a reset reaches the device as error {code, message} then end then close(true)', async () => {
    const server = net.createServer(socket => socket.on('error', () => {}))
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const d = createDevice({
        code: `
          var s = require('net').connect({ host: '127.0.0.1', port: ${server.address().port} }, function () { print('connect') });
          s.on('error', function (e) { print('error', JSON.stringify(e)) });
          s.on('end', function () { print('end') });
          s.on('close', function (hadError) { print('close', hadError) });
        `
      })
      devices.push(d)
      d.start()
      await waitForLog(d, /^connect$/)
      d.net.dropAll()
      await waitForLog(d, /^close/)
      assert.deepEqual(d.logs, ['connect', 'error {"code":-9,"message":"connection reset"}', 'end', 'close true'])
      assert.equal(d.net.openSockets, 0)
    } finally {
      server.close()
    }
  })
})

describe('Wifi', () => {
  const WIFI = `
    var wifi = require('Wifi');
    ['associated', 'connected', 'disconnected'].forEach(function (ev) {
      wifi.on(ev, function (d) { print(ev, JSON.stringify(d)) });
    });
    function join (ssid, password) {
      wifi.connect(ssid, { password: password }, function (err) { print('callback', err) });
    }
  `
  test('connect: associated, then the callback with null, then connected with the IP', async () => {
    const d = device({ wifi: { ssid: 'cafe', password: 'secret' }, code: WIFI + "join('cafe', 'secret');" }).start()
    await d.clock.tickAsync(1000)
    assert.deepEqual(d.logs, [
      'associated {"ssid":"cafe","mac":"4c:ed:fb:a1:b2:c3","channel":"6"}',
      'callback null',
      'connected {"ip":"192.168.1.50","netmask":"255.255.255.0","gw":"192.168.1.1"}'
    ])
    assert.equal(d.wifi.connected, true)
  })

  test('a dropped link is seen as disconnected with ESP32 details once the silent retry fails', async () => {
    const d = device({ wifi: { ssid: 'cafe', password: 'secret' }, code: WIFI + "join('cafe', 'secret');" }).start()
    await d.clock.tickAsync(1000)
    d.logs.length = 0
    d.wifi.dropAfter(2)
    await d.clock.tickAsync(2000)
    assert.deepEqual(d.logs, [])
    await d.clock.tickAsync(1000)
    assert.deepEqual(d.logs, ['disconnected {"ssid":"cafe","mac":"00:00:00:00:00:00","reason":"201","msg":"NO_AP_FOUND"}'])
    assert.equal(d.wifi.connected, false)
  })

  test('wrong password and absent AP give the ESP-IDF reasons, to the callback and the event', async () => {
    const d = device({ wifi: { ssid: 'cafe', password: 'secret' }, code: WIFI + "join('cafe', 'wrong');" }).start()
    await d.clock.tickAsync(3000)
    assert.deepEqual(d.logs, [
      'disconnected {"ssid":"cafe","mac":"4c:ed:fb:a1:b2:c3","reason":"15","msg":"4WAY_HANDSHAKE_TIMEOUT"}',
      'callback 4WAY_HANDSHAKE_TIMEOUT'
    ])
    const gone = device({ wifi: { ssid: 'cafe', password: 'secret' }, code: WIFI + "join('cafe', 'secret');" })
    gone.wifi.setAccessPoint(null)
    gone.start()
    await gone.clock.tickAsync(3000)
    assert.deepEqual(gone.logs.slice(-1), ['callback NO_AP_FOUND'])
  })

  test('callbackOnFailure:false reproduces 2v29 on ESP32: only the event reports the failure', async () => {
    const d = device({ wifi: { ssid: 'cafe', password: 'secret', callbackOnFailure: false }, code: WIFI + "join('cafe', 'x');" }).start()
    await d.clock.tickAsync(3000)
    assert.equal(d.logs.length, 1)
    assert.match(d.logs[0], /^disconnected .*"msg":"4WAY_HANDSHAKE_TIMEOUT"/)
  })

  test('the network name and password are compared as bytes with the access point\'s UTF-8', async () => {
    const ap = { ssid: 'Café Müller', password: 'pässwörd€' }
    const utf8 = device({ wifi: ap, code: WIFI + String.raw`join("Caf\xC3\xA9 M\xC3\xBCller", "p\xC3\xA4ssw\xC3\xB6rd\xE2\x82\xAC");` }).start()
    await utf8.clock.tickAsync(1000)
    assert.equal(utf8.wifi.connected, true)
    assert.equal(utf8.logs[0], 'associated {"ssid":"Caf\xC3\xA9 M\xC3\xBCller","mac":"4c:ed:fb:a1:b2:c3","channel":"6"}')
    // One byte per character, as an unconverted string reaches the device: not the same network.
    const latin1 = device({ wifi: ap, code: WIFI + String.raw`join("Caf\xE9 M\xFCller", "p\xC3\xA4ssw\xC3\xB6rd\xE2\x82\xAC");` }).start()
    await latin1.clock.tickAsync(3000)
    assert.match(latin1.logs[0], /^disconnected .*"msg":"NO_AP_FOUND"/)
    const password = device({ wifi: ap, code: WIFI + String.raw`join("Caf\xC3\xA9 M\xC3\xBCller", "p\xE4ssw\xF6rd\x80");` }).start()
    await password.clock.tickAsync(3000)
    assert.match(password.logs[0], /^disconnected .*"msg":"4WAY_HANDSHAKE_TIMEOUT"/)
  })

  test('setSNTP sets the clock from the network\'s time once the station has an IP; absent where the board has none', async () => {
    const code = WIFI + "wifi.setSNTP('pool.ntp.org', 0); join('cafe', 'secret'); setInterval(function () { print('now', Date.now()) }, 400);"
    const d = device({ wifi: { ssid: 'cafe', password: 'secret' }, code })
    d.wifi.setNetworkTime(1795675200000)
    d.start()
    await d.clock.tickAsync(1000)
    const times = d.logs.filter(l => l.startsWith('now ')).map(l => Number(l.slice(4)))
    // 400 ms: not joined yet (association 300 ms, DHCP 50 ms, SNTP 100 ms), the clock of a board just
    // powered up; 800 ms: set, and running on.
    assert.deepEqual(times, [400, 1795675200000 + 800])
    const none = device({ wifi: { ssid: 'cafe', password: 'secret', sntp: false }, code: "print(typeof require('Wifi').setSNTP)" }).start()
    assert.deepEqual(none.logs, ['undefined'])
  })

  test('without an IP, net.connect throws InternalError', () => {
    const d = device({
      wifi: { ssid: 'cafe', password: 'secret' },
      code: "try { require('net').connect({ host: 'h', port: 1 }) } catch (e) { print(e instanceof InternalError, e.message) }"
    }).start()
    assert.deepEqual(d.logs, ['true Unable to create socket'])
  })
})

test('output pins: the level the program drives, and each change with its time', async () => {
  const d = device({ code: "digitalWrite('D5', 1); setTimeout(function () { digitalWrite(D5, 0); digitalWrite(D5, 0) }, 250)" })
  const changes = []
  d.on('output', (pin, level, at) => changes.push([pin, level, at]))
  d.start()
  assert.equal(d.output('D5'), 1)
  assert.equal(d.output('D6'), undefined, 'not an output')
  await d.clock.tickAsync(300)
  assert.equal(d.output('D5'), 0)
  assert.deepEqual(changes, [['D5', 1, 0], ['D5', 0, 250]])
})

describe('errors, watchdog, reboot, stop', () => {
  test('an error thrown in a callback is printed as Uncaught and the device carries on', async () => {
    const d = device({
      code: `
        var n = 0;
        setInterval(function () { n++; if (n === 2) throw new Error('boom'); print('tick', n) }, 100);
        setWatch(function () { null.x }, D16, { edge: 'rising' });
      `
    }).start()
    d.setPin('D16', 1)
    await d.clock.tickAsync(300)
    assert.deepEqual(d.logs, ["Uncaught TypeError: Cannot read properties of null (reading 'x')",
      'tick 1', 'Uncaught Error: boom', 'tick 3'])
    assert.equal(d.uncaught.length, 2)
    assert.ok(d.uncaught[1] instanceof d.uncaught[1].constructor)
  })

  test('a missed watchdog kick reboots: code runs again with E init; Storage survives', async () => {
    const d = device({
      code: `
        var boots = (require('Storage').readJSON('boots', true) || 0) + 1;
        require('Storage').writeJSON('boots', boots);
        E.on('init', function () { print('init', boots) });
        E.on('kill', function () { print('kill') });
        E.enableWatchdog(1, false);
        if (boots === 1) setInterval(function () { E.kickWatchdog() }, 500);
        else setTimeout(function () { print('no kicks') }, 10);
      `
    })
    const reasons = []
    d.on('reboot', r => reasons.push(r))
    d.start({ boot: 'upload' })
    await d.clock.tickAsync(5000)
    assert.equal(d.reboots, 0, 'kicked in time: no reboot')
    d.stop() // emits kill
    d.start({ boot: 'power' })
    await d.clock.tickAsync(1100)
    assert.equal(d.reboots, 1)
    assert.deepEqual(reasons, ['watchdog'])
    assert.deepEqual(d.logs, ['kill', 'init 2', 'no kicks', 'init 3', 'no kicks'])
    assert.equal(d.storage.get('boots'), '3')
  })

  test('E.reboot() runs E kill handlers, then boots again', async () => {
    const d = device({ code: "E.on('kill', function () { print('kill') }); E.on('init', function () { print('init') }); setTimeout(E.reboot, 10);" }).start()
    await d.clock.tickAsync(15)
    assert.deepEqual(d.logs, ['kill', 'init'])
    assert.equal(d.reboots, 1)
  })

  test('stop() leaves nothing behind: the process exits, no socket stays open', async () => {
    const script = fileURLToPath(new URL('./fixtures/runtime/stop-exits.mjs', import.meta.url))
    const { stdout } = await new Promise((resolve, reject) => {
      execFile(process.execPath, [script], { timeout: 5000 }, (err, out, errOut) => {
        if (err) reject(new Error(`fixture did not exit cleanly (${err.killed ? 'killed after 5 s: something kept it alive' : err.message}): ${errOut}`))
        else resolve({ stdout: out })
      })
    })
    assert.deepEqual(JSON.parse(stdout), { openSockets: 0 })
  })
})
