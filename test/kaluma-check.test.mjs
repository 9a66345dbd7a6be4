// The build's gate for Kaluma 1.2.1 (JerryScript 2.4): what parses there and not on Espruino and the
// other way round, strict mode, the globals Kaluma lacks and its native functions' argument checks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkRuntime } from '../tools/build/espruino-check.mjs'
import { build } from '../build.mjs'

const kaluma = code => checkRuntime(code, 'kaluma')
const espruino = code => checkRuntime(code, 'espruino')

const refusedOnKaluma = {
  'setTimeout without a delay': ['setTimeout(function () {})', /setTimeout without a delay: Kaluma throws TypeError/],
  'setInterval passing arguments': ['setInterval(f, 10, 1)', /setInterval with arguments for the callback: Kaluma passes none/],
  'clearTimeout of a maybe-undefined id': ['var t; function stop () { clearTimeout(t) }', /clearTimeout\(t\) may get undefined, which throws on Kaluma \(fix: test it first/],
  'clearTimeout(undefined)': ['clearTimeout(undefined)', /clearTimeout\(undefined\) throws on Kaluma/],
  'clearInterval()': ['clearInterval()', /clearInterval\(\) throws on Kaluma/],
  'a guard in an outer function does not count': ['var t; if (t) { (function () { clearTimeout(t) })() }', /clearTimeout\(t\) may get undefined/],
  'console.warn': ['console.warn("x")', /console\.warn is missing on Kaluma .*use console\.log/],
  'console.info': ['console.info("x")', /console\.info is missing on Kaluma/],
  'process.nextTick': ['process.nextTick(f)', /process\.nextTick is missing on Kaluma/],
  'an undeclared assignment (strict mode)': ['function f () { leaked = 1 }', /leaked is assigned but never declared: Kaluma 1\.2\.1 runs the program in strict mode/],
  'with (strict mode)': ['with (a) {}', /cannot parse \(strict mode\): 'with' in strict mode/],
  'an octal literal (strict mode)': ['var x = 010', /cannot parse \(strict mode\)/],
  'optional chaining': ['a?.b', /optional chaining \(\?\.\): Kaluma 1\.2\.1 cannot parse it/],
  'a class field': ['class A { x = 1 }', /a class field: Kaluma 1\.2\.1 \(JerryScript 2\.4\) cannot parse it/],
  'Espruino\'s E': ['E.kickWatchdog()', /E: Kaluma 1\.2\.1 has no E/],
  'Espruino\'s getSerial': ['getSerial()', /getSerial: Kaluma 1\.2\.1 has no getSerial/],
  'Espruino\'s pin names': ['digitalRead(D16)', /D16: Kaluma 1\.2\.1 has no D16/],
  Buffer: ['Buffer.from("a")', /Buffer: Kaluma 1\.2\.1 has no Buffer/],
  'require of an Espruino module': ['require("Wifi")', /require\('Wifi'\): Kaluma 1\.2\.1 on the Pico W has no such module/],
  'require of Espruino\'s Storage': ['require("Storage")', /require\('Storage'\)/]
}

for (const [name, [code, re]] of Object.entries(refusedOnKaluma)) {
  test(`kaluma gate: ${name} is refused`, () => {
    const problems = kaluma(code)
    assert.ok(problems.some(p => re.test(p)), `expected ${re}, got:\n${problems.join('\n') || '(none)'}`)
  })
}

const fineOnKaluma = {
  'a guarded clearTimeout': 'var t; if (t !== undefined) clearTimeout(t)',
  'clearTimeout after `t && `': 'var t; t && clearTimeout(t)',
  'clearTimeout after an early return (as esbuild minifies it)': 'var t; function f () { if (t === void 0) return; clearTimeout(t), g() } function g () {}',
  'clearTimeout of a number': 'clearTimeout(3)',
  'timers with a delay': 'var t = setTimeout(function () {}, 0); setInterval(function () {}, 10)',
  'Kaluma modules': 'require("net"); require("wifi"); require("storage"); require("wdt")',
  'console.log and console.error': 'console.log(1); console.error(2)',
  'what Espruino cannot parse or lacks': 'const m = new Map(); const { a } = { a: 1 }; async function f () { await 1 }; [1].includes(1)'
}

for (const [name, code] of Object.entries(fineOnKaluma)) {
  test(`kaluma gate: ${name} passes`, () => { assert.deepEqual(kaluma(code), []) })
}

test('gates: each runtime refuses what only the other runs; code passing both is the common ground', () => {
  assert.equal(espruino('console.warn("x")').length, 0)
  assert.ok(kaluma('console.warn("x")').length > 0)
  assert.ok(espruino('new Map()').length > 0)
  assert.equal(kaluma('new Map()').length, 0)
  const common = 'var t; function stop () { if (t !== undefined) clearTimeout(t); t = setTimeout(stop, 10) } stop(); console.log("ok")'
  assert.deepEqual(espruino(common), [])
  assert.deepEqual(kaluma(common), [])
})

const base = JSON.parse(readFileSync('espruino.config.json', 'utf8'))
function configFile (change) {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-kcheck-'))
  const config = structuredClone(base)
  change(config)
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  return { configPath: join(dir, 'config.json'), outPath: join(dir, 'out.js') }
}
const forKaluma = c => { c.runtime = 'kaluma'; c.board = 'linux' }

test('build: runtime "kaluma" gates with Kaluma\'s rules, naming the source line; nothing is written', async () => {
  const { configPath, outPath } = configFile(forKaluma)
  await assert.rejects(build({ configPath, outPath, entry: 'test/fixtures/build/console-warn.ts', target: 'sim', env: {} }), err => {
    assert.match(err.message, /console-warn\.ts:2:.*console\.warn is missing on Kaluma/)
    return true
  })
  assert.equal(existsSync(outPath), false)
  // The same file is fine for Espruino, and what only Espruino refuses is fine for Kaluma.
  const esp = configFile(() => {})
  await build({ ...esp, entry: 'test/fixtures/build/console-warn.ts', target: 'sim', env: {} })
  const map = configFile(forKaluma)
  await build({ ...map, entry: 'test/fixtures/build/map.ts', target: 'sim', env: {} })
  assert.ok(existsSync(map.outPath))
})
