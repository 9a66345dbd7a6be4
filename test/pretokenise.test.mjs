// tools/build/pretokenise.mjs must produce what EspruinoTools' own pretokeniser (the Web IDE's
// "Pretokenise: Yes") produces: that is the format Espruino 2v29's lexer reads from `.bootcde`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from '../build.mjs'
import { pretokenise } from '../tools/build/pretokenise.mjs'
import { espruinoTools } from './helpers/espruino-tokeniser.mjs'

const env = { WIFI_SSID: 'Restaurant', WIFI_PASSWORD: 'secret-passphrase', MQTT_USERNAME: 'device-1', MQTT_PASSWORD: 'mqtt-secret' }

/** The first differing offset and a few chars around it, so a failure says where. */
function assertSame (actual, expected, what) {
  if (actual === expected) return
  let i = 0
  while (actual[i] === expected[i]) i++
  const around = (s) => JSON.stringify(s.slice(Math.max(0, i - 20), i + 20))
  assert.fail(`${what}: differs at ${i} of ${expected.length}: ours ${around(actual)}, EspruinoTools' ${around(expected)}`)
}

for (const target of ['device', 'sim']) {
  for (const battery of [false, true]) {
    test(`the ${target} bundle${battery ? ' with a battery setting' : ''} comes out byte for byte as EspruinoTools tokenises it`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tablecall-pretok-'))
      try {
        const adjust = (config) => battery ? { ...config, battery: { pin: target === 'device' ? 'D35' : 'D47' } } : config
        const { code } = await build({ outPath: join(dir, 'tablecall.js'), target, env, adjust })
        const ours = pretokenise(code)
        assertSame(ours, espruinoTools.tokenise(code), target)
        assert.ok(ours.length < code.length * 0.9, `tokenised ${ours.length} chars of ${code.length}`)
        assert.match(ours, /\xD1/, 'string literals are raw strings')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }
}

const CASES = {
  'keywords, operators, newlines at depth 0 only, spaces only between names': 'var a = 1\nif (a >= 2) {\n  a += b\n}\nreturn typeof a in b\nfunction f (x) { y = 1\n z = 2.5\n return x === -1 ? -200 : a - 1 }',
  'catch stays text (Espruino issue #1868)': 'try { f() } catch (e) { g(e) } finally { h() }',
  // eslint-disable-next-line no-template-curly-in-string -- JavaScript source text holding a template
  'templates: without ${} a string, with ${} as written': 'a = `plain`; b = `x${c + `y${d}`}z`; e = ``',
  'numbers: 0, 8 and 16 bits, too big, fractions, hex': 'f(0, 5, -5, 300, -300, 70000, -70000, 1.5, 0x10, a-1)',
  'strings: empty, 8-bit escapes, beyond 8 bits': 'f("", \'\', "\\x82\\n", "€ stays text")',
  'a regular expression is untouched': 'var r = /"[a-z]+\\/"/g; x = a / b / c',
}
for (const [name, code] of Object.entries(CASES)) {
  test(`as EspruinoTools: ${name}`, () => assertSame(pretokenise(code), espruinoTools.tokenise(code), name))
}

test('an escape in a string becomes the one raw byte it stands for', () => {
  assert.equal(pretokenise('f("a\\x82b")'), 'f(\xD1\x03a\x82b)')
})

test('a regular expression keeps its quotes and slashes as written', () => {
  assert.equal(pretokenise('x = /"\\/"/g.test(y)'), 'x=/"\\/"/g.test(y)')
})

test('a string longer than 255 chars has a 16-bit length, little-endian', () => {
  const long = 'x'.repeat(300)
  assert.equal(pretokenise(`f("${long}")`), `f(\xD2\x2C\x01${long})`)
})

test('a string too long for a raw string is refused, naming the fix', () => {
  assert.throws(() => pretokenise(`f("${'x'.repeat(0x10000)}")`), /65,535; split it/)
})
