// The build: refuses what Espruino 2v29 cannot run, refuses bad configs without writing anything,
// and embeds exactly the packets mqtt-packet generates.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, existsSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import vm from 'node:vm'
import { spawnSync } from 'node:child_process'
import mqttPacket from 'mqtt-packet'
import { build, IN_PLACE } from '../build.mjs'
import { checkRuntime } from '../tools/build/espruino-check.mjs'
import { deviceSettings, ID_MARKER } from '../tools/build/packets.mjs'
import { readConfig } from '../tools/build/config.mjs'

const tmp = () => mkdtempSync(join(tmpdir(), 'tablecall-build-'))
const fixture = name => `test/fixtures/build/${name}.ts`
const base = JSON.parse(readFileSync('espruino.config.json', 'utf8'))
const env = { WIFI_SSID: 'Restaurant', WIFI_PASSWORD: 'secret-passphrase' }

function configFile (config) {
  const file = join(tmp(), 'config.json')
  writeFileSync(file, JSON.stringify(config))
  return file
}

const forbidden = {
  destructuring: /destructuring is not supported by Espruino/,
  'default-param': /default arguments is not supported by Espruino/,
  spread: /array spread is not supported by Espruino/,
  rest: /rest arguments? is not supported by Espruino|rest parameter/,
  async: /async functions is not supported by Espruino/,
  generator: /generator/,
  map: /Map: Espruino 2v29 has no Map/,
  set: /Set: Espruino 2v29 has no Set/,
  symbol: /Symbol: Espruino 2v29 has no Symbol/,
  includes: /Array.prototype.includes is missing/,
  'used-before-declaration': /function hello is used before its declaration/,
  'called-before-declaration': /run\(\) runs before function hello is declared/,
  'named-class-expression': /class expression Inner extends another class/,
  'extends-function': /class New extends Old, which is not a class declaration/,
  'regex-quantifier': /\/\^\\d\{2\}\$\/ has a \{m,n\} quantifier: Espruino 2v29's regular expressions have none/,
  'regex-optional-group': /\/\^calling \(\\d\+\)\( \\d\+\)\?\$\/ has a group with \?, \* or \+ after it/
}

for (const [name, message] of Object.entries(forbidden)) {
  test(`build refuses ${name}, naming it and its source line`, async () => {
    const outPath = join(tmp(), 'out.js')
    await assert.rejects(build({ entry: fixture(name), outPath, env, target: 'sim' }), err => {
      assert.match(err.message, message)
      assert.match(err.message, new RegExp(`${name}\\.ts:\\d+`))
      return true
    })
    assert.equal(existsSync(outPath), false, 'nothing written')
  })
}

test('a clean fixture builds', async () => {
  const outPath = join(tmp(), 'out.js')
  const result = await build({ entry: fixture('clean'), outPath, env, target: 'sim' })
  assert.equal(readFileSync(outPath, 'utf8'), result.code)
  assert.ok(result.bytes > 0)
})

const invalid = {
  'missing ssid for a device': [c => { c.wifi.ssid = '' }, /wifi\.ssid: empty/, {}],
  'duplicate pins': [c => { c.buttons[1].pin = 'D16' }, /buttons\[1\]\.pin: "D16" is already used by buttons\[0\]/],
  'duplicate tables': [c => { c.buttons[2].table = 1 }, /buttons\[2\]\.table: 1 is already used by buttons\[0\]/],
  'pin an ESP32 does not have': [c => { c.buttons[0].pin = 'D29' }, /buttons\[0\]\.pin: "D29" does not exist on the ESP32/],
  'pin a Pico W does not have': [c => { c.board = 'rp2040'; c.buttons[0].pin = 'D30' }, /buttons\[0\]\.pin: "D30" does not exist on the RP2040/],
  'pin name that is not a pin': [c => { c.buttons[0].pin = 'GP16' }, /buttons\[0\]\.pin: "GP16" is not valid/],
  'topic with +': [c => { c.mqtt.topic = 'calls/+/x' }, /mqtt\.topic: .* wildcard/],
  'topic with #': [c => { c.mqtt.topic = 'calls/#' }, /mqtt\.topic: .* wildcard/],
  'empty topic': [c => { c.mqtt.topic = '' }, /mqtt\.topic: must not be empty/],
  'topic over 65,535 bytes': [c => { c.mqtt.topic = 'x'.repeat(65536) }, /mqtt\.topic: longer than MQTT's 65,535 bytes/],
  // A state `calling <call> <ms>` (37 bytes) and an answer (15) must fit a one-byte remaining length.
  'table topic too long for the device': [c => { c.mqtt.tableTopic = `t/{id}/${'x'.repeat(80)}/{n}` }, /mqtt\.tableTopic: 93 bytes for table 1, longer than the 86 bytes the device accepts \(fix: shorten it\)/],
  'answer topic too long for the device': [c => { c.mqtt.answerTopic = `t/{id}/${'x'.repeat(100)}/{n}` }, /mqtt\.answerTopic: 113 bytes for table 1, longer than the 108 bytes the device accepts/],
  'calls topic and message too long for one press packet': [c => { c.mqtt.topic = `t/{id}/${'x'.repeat(100)}` }, /mqtt\.topic and message: 130 bytes together for table 1, more than the 123 bytes a press can hold \(fix: shorten them\)/],
  'port 0': [c => { c.mqtt.port = 0 }, /mqtt\.port: 0 is below 1/],
  'port 65536': [c => { c.mqtt.port = 65536 }, /mqtt\.port: 65536 is above 65535/],
  'keepalive negative': [c => { c.mqtt.keepalive = -1 }, /mqtt\.keepalive: -1 is below 0/],
  'keepalive too large': [c => { c.mqtt.keepalive = 65536 }, /mqtt\.keepalive: 65536 is above 65535/],
  'qos 2': [c => { c.mqtt.qos = 2 }, /mqtt\.qos: 2 is not allowed \(fix: use one of 0, 1\)/],
  'unknown key (typo)': [c => { c.mqtt.keepAlive = 30 }, /mqtt\.keepAlive: unknown setting \(fix: did you mean "keepalive"\?\)/],
  'unknown top-level key': [c => { c.debounce = 30 }, /debounce: unknown setting \(fix: did you mean "debounceMs"\?\)/],
  'message without {n}': [c => { c.message = 'a button is pressed' }, /message: "a button is pressed" has no \{n\}/],
  'bundle over 16 KB': [c => { c.mqtt.username = 'x'.repeat(20000) }, /the bundle is [\d,]+ bytes, over the 16,384 bytes .*mqtt\.username \+[\d,]+ bytes/],
  'port as a string': [c => { c.mqtt.port = '1883' }, /mqtt\.port: expected a whole number/],
  'no buttons': [c => { c.buttons = [] }, /buttons: needs at least 1 entry/]
}

for (const [name, [change, message, useEnv = env]] of Object.entries(invalid)) {
  test(`config: ${name} is refused with its field and nothing is written`, async () => {
    const config = structuredClone(base)
    change(config)
    const outPath = join(tmp(), 'out.js')
    await assert.rejects(build({ configPath: configFile(config), outPath, env: useEnv }), err => {
      assert.match(err.message, message)
      assert.match(err.message, /fix:/)
      return true
    })
    assert.equal(existsSync(outPath), false)
  })
}

test('config: every problem is reported at once', async () => {
  const config = structuredClone(base)
  config.mqtt.port = 0
  config.mqtt.qos = 3
  config.buttons[0].pin = 'X'
  await assert.rejects(build({ configPath: configFile(config), outPath: join(tmp(), 'o.js'), env }), err => err.problems.length === 3)
})

test('config: malformed JSON is named, not thrown as a stack', async () => {
  const file = join(tmp(), 'config.json')
  writeFileSync(file, '{ "mqtt": ')
  await assert.rejects(build({ configPath: file, outPath: join(tmp(), 'o.js'), env }), /config\.json: line 1, column 11: the file ends early .*fix: correct the JSON syntax/)
})

test('config: secrets come from the local overlay, then the environment', async () => {
  const dir = tmp()
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify(base))
  writeFileSync(join(dir, 'cfg.local.json'), JSON.stringify({ wifi: { ssid: 'FromFile', password: 'passphrase-1' } }))
  const fromFile = await build({ configPath: join(dir, 'cfg.json'), outPath: join(dir, 'a.js'), env: {} })
  assert.equal(fromFile.config.wifi.ssid, 'FromFile')
  const fromEnv = await build({ configPath: join(dir, 'cfg.json'), outPath: join(dir, 'b.js'), env: { WIFI_SSID: 'FromEnv', MQTT_USERNAME: 'u', MQTT_PASSWORD: 'pw' } })
  assert.equal(fromEnv.config.wifi.ssid, 'FromEnv')
  assert.equal(fromEnv.config.wifi.password, 'passphrase-1')
  assert.equal(fromEnv.config.mqtt.username, 'u')
})

test('build: the bundle (it holds the WiFi password) is 0600, also where it replaces an older readable copy', async () => {
  const outPath = join(tmp(), 'tablecall.js')
  writeFileSync(outPath, 'an older build', { mode: 0o644 })
  const built = await build({ outPath, env })
  assert.ok(readFileSync(outPath, 'utf8').includes(env.WIFI_PASSWORD) && built.code.includes(env.WIFI_PASSWORD))
  assert.equal(statSync(outPath).mode & 0o777, 0o600)
})

test('build: a bundle over 16 KB names its size and the setting that made it big (60 KB user name, 16 buttons)', async () => {
  const config = structuredClone(base)
  config.mqtt.username = 'x'.repeat(60_000)
  config.buttons = [25, 26, 27, 32, 33, 21, 22, 23, 18, 19, 13, 14, 4, 5, 2, 15].map((pin, i) => ({ pin: `D${pin}`, table: i + 1 }))
  const outPath = join(tmp(), 'out.js')
  await assert.rejects(build({ configPath: configFile(config), outPath, env }), err => {
    assert.match(err.message, /the bundle is 6\d,\d{3} bytes, over the 16,384 bytes/)
    assert.match(err.message, /fix: shorten the largest settings: mqtt\.username \+60,\d{3} bytes, buttons \(16 of them\)/)
    assert.match(err.message, /largest code: src\/\w+\.ts [\d,]+ bytes/)
    return true
  })
  assert.equal(existsSync(outPath), false)
})

/** npm run build's script, bounded so a hang fails the test; spawnSync kills it on timeout. */
function buildCli (args, cliEnv = {}) {
  const run = spawnSync(process.execPath, ['build.mjs', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, WIFI_SSID: '', WIFI_PASSWORD: '', ...cliEnv } })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

test('build CLI: --help prints the usage', () => {
  const { code, stdout } = buildCli(['--help'])
  assert.equal(code, 0)
  assert.match(stdout, /^Usage: npm run build/)
  assert.match(stdout, /--config FILE/)
  const unknown = buildCli(['--hlep'])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /Unknown option '--hlep' \(fix: see npm run build -- --help\)/)
})

test('build CLI: warnings are shown and the build still succeeds', () => {
  const outPath = join(tmp(), 'out.js')
  const { code, stderr } = buildCli(['--config', configFile(base), '--out', outPath, '--quiet'], env)
  assert.equal(code, 0, stderr)
  assert.match(stderr, /^build: warning: buttons\[0\]\.pin "D16", buttons\[1\]\.pin "D17": .*PSRAM/m)
  assert.ok(existsSync(outPath))
})

test('build CLI: a refused config lists every problem, then the warnings, and writes nothing', () => {
  const config = structuredClone(base)
  config.mqtt.port = 'abc'
  const outPath = join(tmp(), 'out.js')
  const { code, stderr } = buildCli(['--config', configFile(config), '--out', outPath])
  assert.equal(code, 1)
  assert.match(stderr, /^build: 2 problems in the configuration; nothing was written:\n {2}mqtt\.port: .*\n {2}wifi\.ssid: empty.*\nbuild: warning: .*PSRAM/)
  assert.equal(existsSync(outPath), false)
})

const SERIAL_ID = 'abcdef01'
// the device puts its id where the build marked its place (src/id.ts withId)
const joinId = packet => packet.replaceAll(ID_MARKER, SERIAL_ID)

test('embedded packets are byte-identical to mqtt-packet.generate()', async () => {
  const config = structuredClone(base)
  config.mqtt.username = 'user'
  config.mqtt.password = 'pass'
  const s = await embeddedSettingsFromBundle(config)
  const fill = t => t.replaceAll('{id}', SERIAL_ID)
  const gen = p => mqttPacket.generate(p).toString('latin1')
  assert.equal(joinId(s.connect), gen({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: false,
    clientId: fill(config.mqtt.clientId),
    keepalive: 60,
    username: 'user',
    password: Buffer.from('pass'),
    will: { topic: fill(config.mqtt.statusTopic), payload: Buffer.from('offline 2'), qos: 1, retain: true }
  }))
  assert.equal(joinId(s.online), gen({ cmd: 'publish', topic: fill(config.mqtt.statusTopic), payload: 'online 2', qos: 0, retain: true }))
  // the schema's defaults
  const tableTopic = n => fill(`tablecall/{id}/table/${n}`)
  const answerTopic = n => fill(`tablecall/{id}/table/${n}/answer`)
  assert.equal(joinId(s.subscribe), gen({ cmd: 'subscribe', messageId: 65535, subscriptions: config.buttons.flatMap(b => [tableTopic(b.table), answerTopic(b.table)]).map(topic => ({ topic, qos: 1 })) }))
  // (the device makes its table states from the SUBSCRIBE's entries: brokers parse them in test/calls.test.mjs)
  assert.equal(s.state, undefined)
  assert.equal(s.ping, gen({ cmd: 'pingreq' }))
  // A press's PUBLISH after its fixed header: the topic and the packet id's place; the device adds the
  // header and the message (its bytes on the wire: test/firmware.test.mjs)
  assert.equal(joinId(s.call), gen({ cmd: 'publish', topic: fill(config.mqtt.topic), payload: '', qos: 1, messageId: 0, retain: false }).slice(2))
  assert.equal(s.message, 'button {n} is pressed')
  assert.equal(s.press, undefined)
})

test('QoS 0 packets need no id and match mqtt-packet; non-ASCII text survives the bundle', async () => {
  const config = structuredClone(base)
  config.mqtt.qos = 0
  config.mqtt.topic = 'café/{id}/tische'
  config.message = 'Tisch {n} ruft ☎'
  const s = await embeddedSettingsFromBundle(config)
  const press = mqttPacket.generate({ cmd: 'publish', topic: `café/${SERIAL_ID}/tische`, payload: 'Tisch 3 ruft ☎', qos: 0, retain: false }).toString('latin1')
  // the fixed header, then no packet id: the topic, then the message
  assert.equal('\x30' + String.fromCharCode(press.length - 2) + joinId(s.call) + s.message.replace('{n}', '3'), press)
})

// The settings as the bundle carries them: built with a probe entry that prints them.
async function embeddedSettingsFromBundle (config) {
  const dir = tmp()
  const result = await build({ configPath: configFile(config), outPath: join(dir, 'probe.js'), env, entry: 'test/fixtures/build/print-settings.ts' })
  let seen
  vm.runInNewContext(result.code, { print: s => { seen = JSON.parse(s) } })
  return seen
}

test('Espruino runs the bundle at its root scope, where no minified name replaces E or a pin; Kaluma keeps its function scope', async () => {
  const espruino = await build({ outPath: join(tmp(), 'e.js'), env, target: 'sim' })
  assert.match(espruino.code, /^"use strict";var /)
  // no top-level function wraps the program (each function made inside one would keep a link to its scope)
  assert.doesNotMatch(espruino.code, /^\(function\(\)\{/)
  assert.deepEqual(checkRuntime(espruino.code, 'espruino'), [])
  const kaluma = structuredClone(base)
  Object.assign(kaluma, { runtime: 'kaluma', board: 'rp2040' })
  assert.match((await build({ configPath: configFile(kaluma), outPath: join(tmp(), 'k.js'), env, target: 'sim' })).code, /^\(function\(\)\{/)
  // what the check refuses: names Espruino has at its root (E, pins such as D16 and P1)
  const clashes = checkRuntime('var E=1,ab=2,D16=3;let x=4;function P1(){}class Ce{}', 'espruino')
  assert.equal(clashes.length, 3)
  assert.match(clashes[0], /top-level variable E, which Espruino already has at its root scope/)
  assert.match(clashes[1], /D16/)
  assert.match(clashes[2], /P1/)
})

test('the settings written in place are strings, numbers or booleans (esbuild keeps an array or object as a variable for good)', () => {
  const raw = structuredClone(base)
  raw.buttons[0].led = 'D25'
  raw.battery = { pin: 'D35', divider: 2, scale: 1 }
  const settings = deviceSettings(readConfig({ configPath: configFile(raw), env }).config)
  for (const name of IN_PLACE) assert.ok(settings[name] === null || typeof settings[name] !== 'object', `${name}: ${JSON.stringify(settings[name])}`)
})
