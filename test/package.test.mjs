// What the project declares to a newcomer and to npm audit: what ships is a dependency, the README's
// prerequisites come before its first command and match what CI installs, the description promises
// nothing the README says cannot work.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBoard } from '../board/serve.mjs'
import { TOOLS } from './helpers/tools.mjs'

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const readme = readFileSync('README.md', 'utf8')
const ci = readFileSync('.ci/run', 'utf8')

/** The packages of an `apt-get install` line: its words after `install` that are not options. */
function aptPackages (text) {
  const line = /apt-get install ([^\n>]*)/.exec(text)
  assert.ok(line, `an apt-get install line in:\n${text}`)
  return line[1].trim().split(/\s+/).filter(w => !w.startsWith('-')).sort()
}

test('every npm package bundled into the staff board is a dependency, not a devDependency', async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'tablecall-board-deps-'))
  try {
    await buildBoard({ outDir })
    const { sources } = JSON.parse(await readFile(join(outDir, 'app.js.map'), 'utf8'))
    const bundled = [...new Set(sources.map(s => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1]).filter(Boolean))]
    assert.ok(bundled.includes('mqtt'), `MQTT.js is in the page: ${bundled}`)
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
    for (const name of bundled) {
      const entry = lock.packages[`node_modules/${name}`]
      assert.ok(entry, `${name} is in package-lock.json`)
      assert.notEqual(entry.dev, true, `${name} ships in the board page, so npm audit must see it: move it to "dependencies" (npm install --save ${name})`)
    }
  } finally {
    await rm(outDir, { recursive: true, force: true })
  }
})

test("the README's prerequisites come before its first command and match package.json and .ci/run", () => {
  const prerequisites = readme.indexOf('## Before you start')
  assert.ok(prerequisites >= 0, 'a "Before you start" section')
  assert.ok(prerequisites < readme.indexOf('npm install'), 'before the first npm command')
  const section = readme.slice(prerequisites, readme.indexOf('\n## ', prerequisites + 1))
  const node = /^>=(\d+)$/.exec(pkg.engines.node)
  assert.ok(node, `engines.node is ">=N": ${pkg.engines.node}`)
  assert.match(section, new RegExp(`Node\\.js ${node[1]} or later`))
  assert.deepEqual(aptPackages(section), aptPackages(ci), 'the README asks for what .ci/run installs')
  for (const tool of TOOLS) assert.ok(aptPackages(ci).includes(tool.name), `.ci/run installs ${tool.name}`)
  assert.ok(aptPackages(ci).includes('openssl'), '.ci/run installs openssl')
  assert.match(ci, /^npm test$/m, '.ci/run runs the README\'s test command')
})

test('the package description names no board the README says cannot publish', () => {
  assert.match(readme, /Pico W.*does \*\*not\*\* drive the Pico W's WiFi chip/s)
  assert.doesNotMatch(pkg.description, /pico/i)
})
