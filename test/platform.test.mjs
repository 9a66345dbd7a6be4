// The device code is a runtime-free core plus one adapter per runtime (src/platform/): only the adapters
// may touch what Espruino or Kaluma provide, and each bundle holds its runtime's adapter only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as esbuild from 'esbuild'
import * as acorn from 'acorn'
import { ancestor } from 'acorn-walk'
import { build } from '../build.mjs'

const CORE = readdirSync('src').filter(f => f.endsWith('.ts') && !f.endsWith('.d.ts')).map(f => `src/${f}`)

// What the core may use: the language, the timers both runtimes have (with a delay, ids tested before
// clearing: the Kaluma gate checks that), and the settings the build inlines. atob: both have it; it
// only decodes the CA, which only TLS uses, which only the Espruino adapter offers (config.mjs).
const ALLOWED = new Set(['Object', 'Array', 'String', 'Number', 'Boolean', 'Math', 'JSON', 'Date', 'RegExp', 'Error',
  'Uint8Array', 'parseInt', 'isNaN', 'undefined', 'NaN', 'Infinity',
  'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', '__TABLECALL__', 'atob'])

/** The names a module uses without declaring them: the globals it reaches for. */
function globalsUsed (js) {
  const ast = acorn.parse(js, { ecmaVersion: 'latest', sourceType: 'module' })
  const declared = new Set()
  const used = new Set()
  const bind = p => {
    if (!p) return
    if (p.type === 'Identifier') declared.add(p.name)
    else if (p.type === 'AssignmentPattern') bind(p.left)
    else if (p.type === 'RestElement') bind(p.argument)
    else if (p.type === 'ArrayPattern') p.elements.forEach(bind)
    else if (p.type === 'ObjectPattern') p.properties.forEach(q => bind(q.value || q.argument))
  }
  ancestor(ast, {
    VariableDeclarator: n => bind(n.id),
    Function: n => { if (n.id) declared.add(n.id.name); n.params.forEach(bind) },
    CatchClause: n => bind(n.param),
    ImportSpecifier: n => declared.add(n.local.name),
    ImportDefaultSpecifier: n => declared.add(n.local.name),
    ImportNamespaceSpecifier: n => declared.add(n.local.name),
    Identifier (n, _state, ancestors) {
      const parent = ancestors[ancestors.length - 2]
      if (parent.type === 'MemberExpression' && parent.property === n && !parent.computed) return
      if (parent.type === 'Property' && parent.key === n && !parent.computed && parent.value !== n) return
      used.add(n.name)
    }
  })
  return [...used].filter(name => !declared.has(name))
}

async function coreGlobals (file) {
  const { code } = await esbuild.transform(readFileSync(file, 'utf8'), { loader: 'ts', format: 'esm' })
  return globalsUsed(code).filter(name => !ALLOWED.has(name))
}

test('platform: the core modules reach no runtime global; only src/platform/ does', async () => {
  assert.ok(CORE.includes('src/mqtt.ts') && CORE.includes('src/main.ts'), CORE.join(', '))
  for (const file of CORE) assert.deepEqual(await coreGlobals(file), [], `${file} uses a runtime's global directly: move it into src/platform/`)
})

test('platform: the scan catches a runtime global in core code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-core-'))
  const file = join(dir, 'bad.ts')
  writeFileSync(file, 'const S = __TABLECALL__\nexport function f (): void { E.kickWatchdog(); if (S.id) digitalWrite(S.id, 1); const x = Math.max(1, 2); console.log(x) }\n')
  assert.deepEqual((await coreGlobals(file)).sort(), ['E', 'console', 'digitalWrite'])
})

const base = JSON.parse(readFileSync('espruino.config.json', 'utf8'))
async function bundleFor (runtime) {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-platform-'))
  const config = runtime === 'kaluma' ? { ...base, runtime, board: 'rp2040', mqtt: { ...base.mqtt, host: '192.168.1.20' } } : base
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  return build({ configPath: join(dir, 'config.json'), outPath: join(dir, 'out.js'), env: { WIFI_SSID: 'Restaurant' } })
}

test('platform: each bundle holds its runtime\'s adapter and not the other', async () => {
  const espruino = await bundleFor('espruino')
  const kaluma = await bundleFor('kaluma')
  assert.ok(espruino.modules['src/platform/espruino.ts'] > 0)
  assert.equal(espruino.modules['src/platform/kaluma.ts'], undefined)
  assert.ok(kaluma.modules['src/platform/kaluma.ts'] > 0)
  assert.equal(kaluma.modules['src/platform/espruino.ts'], undefined)
  // What only one adapter calls appears only in its bundle.
  assert.match(espruino.code, /setWatch/)
  assert.doesNotMatch(espruino.code, /getConnection|INPUT_PULLDOWN|board\.uid/)
  assert.match(kaluma.code, /getConnection/)
  assert.doesNotMatch(kaluma.code, /getSerial|E\.on|require\("Wifi"\)/)
})
