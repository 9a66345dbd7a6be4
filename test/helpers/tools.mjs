// The system tools some tests need (Debian packages; .ci/run installs them). On a developer's machine a
// missing one skips its tests, with the fix; in CI they run and fail, so a broken CI image cannot pass.
// Node counts no skipped describe block, so test/run.mjs names each missing tool after the summary.
import { existsSync } from 'node:fs'
import { haveMosquitto } from '../../host/mosquitto.mjs'
import { INSTALL_MOSQUITTO } from '../../tools/broker/mosquitto.mjs'

export const CHROMIUM = '/usr/bin/chromium'

export const TOOLS = [
  { name: 'mosquitto', present: haveMosquitto(), install: INSTALL_MOSQUITTO, tests: 'every test against mosquitto (firmware, battery, npm run broker)' },
  { name: 'chromium', present: existsSync(CHROMIUM), install: 'apt-get install -y chromium', tests: 'the tests in headless Chromium (staff board, broker over wss)' }
]

/** CI is on when CI is set to anything but "", "false" or "0" (CI=false is how a developer says no). */
export function isCI (env = process.env) {
  const value = String(env.CI ?? '').trim().toLowerCase()
  return value !== '' && value !== 'false' && value !== '0'
}

/** node:test's skip option for tests needing `name`: the reason and fix when it is missing outside CI, else false. */
export function skipWithout (name, { env = process.env, tools = TOOLS } = {}) {
  const tool = tools.find(t => t.name === name)
  if (!tool) throw new Error(`skipWithout: unknown tool "${name}" (fix: one of ${tools.map(t => t.name).join(', ')})`)
  return tool.present || isCI(env) ? false : `${name} is not installed (fix: ${tool.install})`
}

/** One loud line per missing tool, for the end of npm test. */
export function notRunLines ({ env = process.env, tools = TOOLS } = {}) {
  const outcome = isCI(env) ? 'so they failed (CI must have it)' : 'and the counts above do not show them as skipped'
  return tools.filter(t => !t.present).map(t => `!! NOT RUN: ${t.tests}: ${t.name} is not installed, ${outcome} (fix: ${t.install})`)
}

// Skipped on a developer's machine without mosquitto; CI installs it, so there a missing one fails.
export const noMosquitto = skipWithout('mosquitto')
