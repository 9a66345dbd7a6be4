// The README's configuration reference is generated from the JSON Schema; this fails when they drift.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
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
