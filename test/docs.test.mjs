// The README's configuration reference is generated from the JSON Schema; this fails when they drift.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { withReference } from '../tools/config-reference.mjs'
import { schema } from '../tools/build/config.mjs'

test('README configuration reference matches espruino.config.schema.json (fix: npm run docs)', () => {
  const readme = readFileSync('README.md', 'utf8')
  assert.equal(readme, withReference(readme))
})

test('the committed config is valid against its own schema and carries no secrets', () => {
  const config = JSON.parse(readFileSync('espruino.config.json', 'utf8'))
  assert.equal(config.$schema, './espruino.config.schema.json')
  assert.equal(config.wifi.password, '')
  assert.equal(config.mqtt.password, undefined)
  assert.deepEqual(Object.keys(config).filter(k => !(k in schema.properties)), [])
})

test('npm run docs says "unchanged" when the README is current, and rewrites it when stale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-docs-'))
  const readme = readFileSync('README.md', 'utf8')
  // spawnSync's timeout kills the child if it hangs.
  const docs = () => spawnSync(process.execPath, [resolve('tools/config-reference.mjs')], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
  writeFileSync(join(dir, 'README.md'), readme)
  assert.match(docs().stdout, /README\.md: configuration reference unchanged/)
  writeFileSync(join(dir, 'README.md'), readme.replace('| `board` |', '| `stale` |'))
  assert.match(docs().stdout, /README\.md: configuration reference regenerated/)
  assert.equal(readFileSync(join(dir, 'README.md'), 'utf8'), readme)
})
