// The configuration rules: each bad setting is refused with its field and the fix, every problem at once,
// warnings that do not fail the build, and no secret ever echoed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readConfig, ConfigError } from '../tools/build/config.mjs'
import { messageProblem } from '../board/message-rule.js'

const base = JSON.parse(readFileSync('espruino.config.json', 'utf8'))
const env = { WIFI_SSID: 'Restaurant', WIFI_PASSWORD: 'secret-passphrase' }

function configFile (config, local) {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-config-'))
  writeFileSync(join(dir, 'cfg.json'), typeof config === 'string' ? config : JSON.stringify(config))
  if (local !== undefined) writeFileSync(join(dir, 'cfg.local.json'), typeof local === 'string' ? local : JSON.stringify(local))
  return join(dir, 'cfg.json')
}

function configWith (change) {
  const config = structuredClone(base)
  change(config)
  return config
}

/** The problems of a config (none: []), and its warnings. */
function judge (config, { local, useEnv = env, target = 'device' } = {}) {
  try {
    const { warnings } = readConfig({ configPath: configFile(config, local), env: useEnv, target })
    return { problems: [], warnings }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { problems: err.problems, warnings: err.warnings }
  }
}

function refused (config, re, options) {
  const { problems } = judge(config, options)
  assert.ok(problems.some(p => re.test(p)), `expected a problem matching ${re}, got:\n${problems.join('\n') || '(none)'}`)
  for (const p of problems) assert.match(p, /\(fix: /, `every problem names the fix: ${p}`)
  return problems
}

function accepted (config, options) {
  const { problems, warnings } = judge(config, options)
  assert.deepEqual(problems, [])
  return warnings
}

const pin = (field, value, i = 0) => c => { c.buttons[i][field] = value }
const board = (name, ...changes) => c => { c.board = name; for (const f of changes) f(c) }
const battery = b => c => { c.battery = b }
const kaluma = (...changes) => c => { c.runtime = 'kaluma'; c.board = 'rp2040'; c.mqtt.host = '192.168.1.20'; for (const f of changes) f(c) }

const invalid = {
  // Pins, per board family
  'ESP32: a flash pin': [pin('pin', 'D6'), /buttons\[0\]\.pin: "D6" is wired to the module's SPI flash/],
  'ESP32: GPIO 11 (flash) as a light': [pin('led', 'D11'), /buttons\[0\]\.led: "D11" is wired to the module's SPI flash/],
  'ESP32: a GPIO that does not exist': [pin('pin', 'D20'), /buttons\[0\]\.pin: "D20" does not exist on the ESP32/],
  'ESP32: GPIO 40': [pin('pin', 'D40'), /"D40" does not exist on the ESP32/],
  'ESP32: GPIO 37, not on the module': [pin('pin', 'D37'), /"D37" is not brought out on ESP32-WROOM\/WROVER modules/],
  'ESP32: the console pins': [pin('pin', 'D3'), /"D3" is the serial console/],
  'ESP32: GPIO 0 (boot mode)': [pin('pin', 'D0'), /"D0" selects the boot mode/],
  'ESP32: an input-only pin as a light': [pin('led', 'D34'), /buttons\[0\]\.led: "D34" is input-only .* cannot drive a light/],
  'Pico W: a GPIO the RP2040 does not have': [board('rp2040', pin('pin', 'D30')), /buttons\[0\]\.pin: "D30" does not exist on the RP2040/],
  'Pico W: a pin of the wireless chip': [board('rp2040', pin('pin', 'D23')), /"D23" is wired to the Pico W's wireless chip/],
  'Pico W: GPIO 29 (wireless chip and VSYS)': [board('rp2040', battery({ pin: 'D29' })), /battery\.pin: "D29" is wired to the Pico W's wireless chip/],
  'a light on a button pin': [pin('led', 'D17'), /buttons\[0\]\.led: "D17" is already used by buttons\[1\]\.pin/],
  'two lights on one pin': [c => { c.buttons[0].led = 'D21'; c.buttons[1].led = 'D21' }, /buttons\[1\]\.led: "D21" is already used by buttons\[0\]\.led/],
  'linux: a light on a button pin too': [board('linux', pin('led', 'D16')), /buttons\[0\]\.led: "D16" is already used by buttons\[0\]\.pin/],
  // Battery
  'ESP32: battery on ADC2': [battery({ pin: 'D25' }), /battery\.pin: "D25" is on ADC2, which the WiFi radio uses/],
  'ESP32: battery on a pin with no ADC': [battery({ pin: 'D21' }), /battery\.pin: "D21" has no ADC .*D32/],
  'Pico W: battery off GPIO 26 to 28': [board('rp2040', battery({ pin: 'D16' })), /battery\.pin: "D16" has no ADC .*D26 to D28/],
  'battery on a button pin': [battery({ pin: 'D16' }), /battery\.pin: "D16" is already used by buttons\[0\]\.pin/],
  'battery divider below 1': [battery({ pin: 'D34', divider: 0.5 }), /battery\.divider: 0\.5 is below 1 \(fix: .*cell voltage \/ pin voltage/i],
  'battery divider that puts a full cell on the pin': [battery({ pin: 'D34', divider: 1 }), /battery\.divider: 1 puts 4\.20 V on battery\.pin .* above the 3\.3 V/],
  // WiFi passphrase (WPA)
  'WPA passphrase under 8 characters': [c => {}, /wifi\.password: 5 characters; a WPA passphrase has 8 to 63/, { useEnv: { ...env, WIFI_PASSWORD: 'short' } }],
  'WPA passphrase with a non-ASCII character': [c => {}, /wifi\.password: .*outside printable ASCII/, { useEnv: { ...env, WIFI_PASSWORD: 'Passwört123' } }],
  '64 characters that are not hex': [c => {}, /wifi\.password: 64 characters but not all hex digits/, { useEnv: { ...env, WIFI_PASSWORD: 'g'.repeat(64) } }],
  // message: one rule shared with the staff board
  'message with {n} twice': [c => { c.message = 'table {n} ({n})' }, /message: .*\{n\} 2 times/],
  'message with a trailing space': [c => { c.message = 'button {n} is pressed ' }, /message: .*starts or ends with white space/],
  'message with a leading newline': [c => { c.message = '\nbutton {n}' }, /message: .*starts or ends with white space/],
  'message without {n}': [c => { c.message = 'a button is pressed' }, /message: "a button is pressed" has no \{n\}/],
  // Topics
  'table topic without {n}': [c => { c.mqtt.tableTopic = 'tablecall/{id}/table' }, /mqtt\.tableTopic: .*\{n\} exactly once/],
  'table topic with {n} twice': [c => { c.mqtt.tableTopic = 't/{n}/{n}' }, /mqtt\.tableTopic: .*\{n\} exactly once/],
  'table topic with a wildcard': [c => { c.mqtt.tableTopic = 't/+/{n}' }, /mqtt\.tableTopic: .*wildcard/],
  'battery topic with a wildcard': [c => { c.mqtt.batteryTopic = 't/#' }, /mqtt\.batteryTopic: .*wildcard/],
  'answer topic without {n}': [c => { c.mqtt.answerTopic = 'tablecall/{id}/answer' }, /mqtt\.answerTopic: .*\{n\} exactly once, the table number \(fix: e\.g\. "tablecall\/\{id\}\/table\/\{n\}\/answer"\)/],
  'answer topic with a wildcard': [c => { c.mqtt.answerTopic = 't/#/{n}' }, /mqtt\.answerTopic: .*wildcard/],
  'answer topic = the table topic': [c => { c.mqtt.answerTopic = c.mqtt.tableTopic = 'tablecall/{id}/t/{n}' }, /mqtt\.answerTopic: for table 1 it is "tablecall\/\{id\}\/t\/1", which is also mqtt\.tableTopic/],
  'a topic starting with $': [c => { c.mqtt.topic = '$SYS/calls' }, /mqtt\.topic: .*starts with \$/],
  'status topic = call topic': [c => { c.mqtt.statusTopic = c.mqtt.topic }, /mqtt\.statusTopic: "tablecall\/\{id\}\/calls" is also mqtt\.topic/],
  'a table topic = the status topic': [c => { c.mqtt.tableTopic = 'tablecall/{id}/{n}'; c.mqtt.statusTopic = 'tablecall/{id}/2' }, /mqtt\.tableTopic: for table 2 it is "tablecall\/\{id\}\/2", which is also mqtt\.statusTopic/],
  'battery topic = call topic (battery set)': [c => { c.battery = { pin: 'D34' }; c.mqtt.batteryTopic = c.mqtt.topic }, /mqtt\.batteryTopic: .* is also mqtt\.topic/],
  // Broker
  'host given as an mqtt:// URL': [c => { c.mqtt.host = 'mqtt://broker.example.com:1884' }, /mqtt\.host: a URL .*fix: .*"host": "broker\.example\.com", "port": 1884/],
  'host given as an mqtts:// URL': [c => { c.mqtt.host = 'mqtts://broker.example.com' }, /mqtt\.host: a URL .*"port": 8883, "tls": true/],
  'host given as a websocket URL': [c => { c.mqtt.host = 'wss://broker.example.com:8884/mqtt' }, /mqtt\.host: a URL .*not websockets/],
  'host with the port in it': [c => { c.mqtt.host = 'broker.example.com:1883' }, /mqtt\.host: "broker\.example\.com:1883" is not a host name or IP address .*mqtt\.port/],
  'host with a space': [c => { c.mqtt.host = 'my broker' }, /mqtt\.host: "my broker" is not a host name or IP address/],
  'host with a user name and password': [c => { c.mqtt.host = 'staff:pa55word@broker.example.com' }, /mqtt\.host: contains @/],
  'an IPv4 address out of range': [c => { c.mqtt.host = '192.168.1.300' }, /mqtt\.host: "192\.168\.1\.300" is not a host name or IP address/],
  'a CA certificate without TLS': [c => { c.mqtt.ca = 'ca.pem' }, /mqtt\.ca: set, but mqtt\.tls is off/],
  // Kaluma 1.2.1 (runtime "kaluma")
  'Kaluma on an ESP32': [kaluma(board('esp32')), /board: "esp32" with "runtime": "kaluma", .*Pico W only \(fix: set "board": "rp2040"/],
  'Kaluma on linux for a device': [kaluma(board('linux')), /board: "linux" with "runtime": "kaluma"/],
  'Kaluma with TLS': [kaluma(c => { c.mqtt.tls = true; c.mqtt.port = 8883 }), /mqtt\.tls: Kaluma 1\.2\.1 has no TLS \(fix: set "tls": false/],
  'Kaluma with WiFi power save off': [kaluma(c => { c.wifi.powersave = 'none' }), /wifi\.powersave: "none", but Kaluma 1\.2\.1 cannot switch WiFi power save off/],
  'Kaluma without pings': [kaluma(c => { c.mqtt.keepalive = 0 }), /mqtt\.keepalive: 0 .*only sign of a dead connection/],
  'Kaluma: a button on GPIO 22 (skips the program at boot)': [kaluma(pin('pin', 'D22')), /buttons\[0\]\.pin: "D22" held low at power-up makes Kaluma skip the saved program/],
  'Kaluma: a light on GPIO 22': [kaluma(pin('led', 'D22')), /buttons\[0\]\.led: "D22" .*skip the saved program/],
  'an unknown runtime': [c => { c.runtime = 'micropython' }, /runtime: "micropython" is not allowed \(fix: use one of "espruino", "kaluma"\)/]
}

for (const [name, [change, re, options]] of Object.entries(invalid)) {
  test(`config: ${name} is refused, naming the field and the fix`, () => {
    refused(configWith(change), re, options)
  })
}

const valid = {
  'linux: any D<n> for every role': board('linux', pin('pin', 'D40'), pin('led', 'D6'), battery({ pin: 'D99' })),
  'ESP32: battery on ADC1, light on an output pin': c => { c.battery = { pin: 'D35' }; c.buttons[0].led = 'D21' },
  'Pico W: battery on GPIO 28': board('rp2040', battery({ pin: 'D28' })),
  'a battery topic equal to the call topic without a battery': c => { c.mqtt.batteryTopic = c.mqtt.topic },
  'an IP address as host': c => { c.mqtt.host = '192.168.1.20' },
  'Kaluma on a Pico W, lights and battery on its ADC': kaluma(pin('led', 'D20'), battery({ pin: 'D28', divider: 2 }))
}
for (const [name, change] of Object.entries(valid)) {
  test(`config: ${name} is accepted`, () => { accepted(configWith(change)) })
}

test('config: WPA passphrases of 8 and 63 printable characters, a 64-hex-digit key and an open network are accepted', () => {
  for (const password of ['12345678', ' ~'.repeat(31) + '!', 'a1F0'.repeat(16), '']) {
    accepted(base, { useEnv: { ...env, WIFI_PASSWORD: password } })
  }
  accepted(base, { local: { wifi: { ssid: 'Open', password: '' } }, useEnv: {} })
})

test('config: the message rule is one function, shared with the staff board', () => {
  assert.equal(messageProblem('button {n} is pressed'), null)
  assert.match(messageProblem('button {n} is pressed\t'), /white space/)
  assert.match(messageProblem('{n}{n}'), /2 times/)
  assert.match(messageProblem(''), /no \{n\}/)
})

test('config: a wrong port does not hide a missing ssid (every problem at once)', () => {
  const { problems } = judge(configWith(c => { c.mqtt.port = 'abc'; c.buttons[0].pin = 'D6' }), { useEnv: {} })
  assert.ok(problems.some(p => /^mqtt\.port: expected a whole number/.test(p)), problems.join('\n'))
  assert.ok(problems.some(p => /^wifi\.ssid: empty/.test(p)), problems.join('\n'))
  assert.ok(problems.some(p => /^buttons\[0\]\.pin: "D6"/.test(p)), problems.join('\n'))
})

test('config: settings of the wrong type anywhere give problems, not a crash', () => {
  for (const broken of [
    { mqtt: 5, buttons: 'D16', message: 3, battery: 'D34', board: 7, wifi: [] },
    { mqtt: { topic: 1, statusTopic: null, tableTopic: [], batteryTopic: {}, host: 2, ca: 3, tls: 'yes' }, buttons: [1, null, { pin: 16, led: true, table: '1' }], battery: { pin: 34, divider: '2' } },
    [],
    'text'
  ]) {
    const { problems } = judge(broken)
    assert.ok(problems.length > 0)
    for (const p of problems) assert.match(p, /\(fix: /, p)
  }
})

test('config: a wrong-typed password is never echoed', () => {
  const { problems } = judge(configWith(c => { c.mqtt.username = 'u'; c.mqtt.password = 987654321 }), { local: { wifi: { password: 123456789 } }, useEnv: { WIFI_SSID: 'R' } })
  const text = problems.join('\n')
  assert.match(text, /wifi\.password: expected a string/)
  assert.match(text, /mqtt\.password: expected a string/)
  assert.doesNotMatch(text, /123456789|987654321/)
  for (const config of [configWith(c => { c.wifi = ['hunter2-secret'] }), configWith(c => { c.mqtt.host = 'staff:hunter2-secret@broker' }), ['hunter2-secret']]) {
    const { problems } = judge(config, { useEnv: {} })
    assert.ok(problems.length > 0)
    assert.doesNotMatch(problems.join('\n'), /hunter2/)
  }
})

test('config: a syntax error in the local overlay gives line and column, and never its text', () => {
  const { problems } = judge(base, { local: '{\n  "wifi": {\n    "ssid": "Restaurant",\n    "password": "hunter2-secret"\n    "powersave": "none"\n  }\n}\n' })
  assert.equal(problems.length, 1)
  assert.match(problems[0], /^cfg\.local\.json: line 5, column 5: expected ',' or '}'/)
  assert.doesNotMatch(problems[0], /hunter2/)
})

test('config: a syntax error in the config gives line and column, not a character offset', () => {
  const cases = [
    ['{\n  "mqtt": {},\n}', /line 3, column 1: expected a property name in double quotes \(a trailing comma\?\)/],
    ['{ "mqtt": ', /line 1, column 11: the file ends early/],
    ['{ "a": tru }', /line 1, column 8: expected a value/],
    ['{ "a": "x\ty" }', /line 1, column 10: a control character .* inside a string/],
    ['{} x', /line 1, column 4: unexpected text after the end/]
  ]
  for (const [text, re] of cases) {
    const { problems } = judge(text)
    assert.equal(problems.length, 1, text)
    assert.match(problems[0], re)
    assert.doesNotMatch(problems[0], /position/)
  }
})

test('config: a byte-order mark (as some editors save) is not a syntax error', () => {
  accepted('\uFEFF' + JSON.stringify(base))
})

test('config: warnings do not fail the build', () => {
  const psram = accepted(base)
  assert.equal(psram.length, 1, psram.join('\n'))
  assert.match(psram[0], /buttons\[0\]\.pin "D16", buttons\[1\]\.pin "D17": .*ESP32-WROVER.*PSRAM/)

  const inputOnly = accepted(configWith(pin('pin', 'D34')))
  assert.ok(inputOnly.some(w => /buttons\[0\]\.pin: "D34" is input-only with no internal pull-down: the external 10 kΩ pull-down/.test(w)), inputOnly.join('\n'))

  const strapping = accepted(configWith(pin('pin', 'D12')))
  assert.ok(strapping.some(w => /buttons\[0\]\.pin: "D12" .*1\.8 V/.test(w)), strapping.join('\n'))

  assert.ok(accepted(configWith(c => { c.mqtt.tls = true })).some(w => /mqtt\.port: 1883 .*mqtt\.tls/.test(w)))
  assert.ok(accepted(configWith(c => { c.mqtt.port = 8883 })).some(w => /mqtt\.port: 8883 .*mqtt\.tls/.test(w)))

  assert.deepEqual(accepted(configWith(board('linux'))), [])
  assert.deepEqual(accepted(configWith(board('rp2040'))), [])
})

test('config: Kaluma in the simulator runs on "linux" too, and a broker name costs a DNS stall (a warning)', () => {
  assert.deepEqual(accepted(configWith(kaluma(board('linux'))), { target: 'sim' }), [])
  const named = accepted(configWith(kaluma(c => { c.mqtt.host = 'broker.hivemq.com' })))
  assert.equal(named.length, 1, named.join('\n'))
  assert.match(named[0], /mqtt\.host: "broker\.hivemq\.com" is a name; Kaluma looks it up at every connect, .*up to 3 s/)
  assert.deepEqual(accepted(configWith(c => { c.runtime = 'espruino'; c.board = 'rp2040' })), [])
})

test('config: a refused config carries its warnings too', () => {
  const { problems, warnings } = judge(configWith(c => { c.mqtt.port = 0 }))
  assert.equal(problems.length, 1)
  assert.equal(warnings.length, 1)
})
