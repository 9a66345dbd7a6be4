// Tear-down for tests that start brokers, subscribers and devices: whatever `track` was given is
// closed after each test, last first; a tracked device must not have let an error escape.
import { afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker } from '../../host/broker.mjs'
import { startMosquitto, haveMosquitto } from '../../host/mosquitto.mjs'

/** Call at the top of a test file: registers the afterEach hook, returns track and running. */
export function cleanupAfterEach () {
  const cleanup = []
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()()
  })
  const track = (thing, close = () => thing.close()) => {
    cleanup.push(async () => close())
    return thing
  }
  const running = device => track(device, () => {
    assert.deepEqual(device.uncaught.map(String), [], 'no error escaped into the event loop')
    device.stop()
  })
  return { track, running }
}

// Skipped on a developer's machine without mosquitto; CI installs it, so there a missing one fails.
export const noMosquitto = !haveMosquitto() && !process.env.CI ? 'mosquitto is not installed (apt-get install -y mosquitto)' : false
export const brokers = {
  aedes: () => startBroker(),
  mosquitto: () => startMosquitto()
}
