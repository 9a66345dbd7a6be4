// Staff board (board/): pure model in Node, then the built page in real headless Chromium against a real
// aedes broker with a WebSocket listener on 127.0.0.1.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import mqtt from 'mqtt'
import { chromium } from 'playwright-core'
import { startBroker } from '../host/broker.mjs'
import {
  CallBoard, DEFAULT_BROKER, deriveStatusTopic, formatWait, parseCall, parseTable, resolveSettings, templateToRegExp,
  tileLabel, validateSettings
} from '../board/model.js'
import { buildBoard, serveStatic } from '../board/serve.mjs'
import { CHROMIUM, skipWithout } from './helpers/tools.mjs'

const TOPIC = 'tablecall/1a2b3c4d/calls'
const STATUS = 'tablecall/1a2b3c4d/status'
const ACK = `${TOPIC}/ack`
// The README's picture is refreshed on request (UPDATE_SCREENSHOT=1 npm test), so test runs leave the tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT ? new URL('../docs/board.png', import.meta.url).pathname : join(mkdtempSync(join(tmpdir(), 'tablecall-board-')), 'board.png')

describe('board model', () => {
  test('the call regexp comes from the message template and ignores anything else', () => {
    const re = templateToRegExp('button {n} is pressed')
    assert.equal(parseCall('button 3 is pressed', re), 3)
    assert.equal(parseCall(' button 12 is pressed\n', re), 12)
    for (const other of ['button x is pressed', 'button 3 is pressed!', 'hello', '', 'button 0 is pressed',
      'button 10000 is pressed', 'button  3 is pressed']) {
      assert.equal(parseCall(other, re), null, other)
    }
    // Template text is literal, not regexp syntax.
    const custom = templateToRegExp('Table {n} (call)?')
    assert.equal(parseCall('Table 4 (call)?', custom), 4)
    assert.equal(parseCall('Table 4 call', custom), null)
    assert.throws(() => templateToRegExp('no placeholder'), /must contain \{n\} exactly once/)
  })

  test('ack payloads, waiting time format and the derived status topic', () => {
    assert.equal(parseTable('3'), 3)
    assert.equal(parseTable('3.5'), null)
    assert.equal(parseTable('0'), null)
    assert.equal(formatWait(0), '00:00')
    assert.equal(formatWait(83_999), '01:23')
    assert.equal(formatWait(75 * 60_000), '75:00')
    assert.equal(deriveStatusTopic(TOPIC), STATUS)
    assert.equal(deriveStatusTopic('calls'), '')
    assert.equal(deriveStatusTopic('tablecall/x/presses'), '')
  })

  test('settings: URL parameters win over remembered ones, then defaults; bad fields name the fix', () => {
    const stored = { broker: 'ws://stored:1', topic: 'a/calls' }
    assert.deepEqual(resolveSettings(new URLSearchParams('topic=b/calls'), stored),
      { broker: 'ws://stored:1', topic: 'b/calls', statusTopic: 'b/status' })
    assert.deepEqual(resolveSettings(new URLSearchParams(), {}), { broker: DEFAULT_BROKER, topic: '', statusTopic: '' })
    assert.equal(resolveSettings(new URLSearchParams('status=s/t'), stored).statusTopic, 's/t')
    assert.deepEqual(validateSettings({ broker: DEFAULT_BROKER, topic: TOPIC, statusTopic: STATUS }), {})
    const errors = validateSettings({ broker: 'http://x', topic: 'tablecall/+/calls', statusTopic: 'tablecall/+/status' })
    assert.match(errors.broker, /^Broker URL must start with ws:\/\/ or wss:\/\//)
    assert.match(errors.topic, /^Call topic must be one exact topic: remove \+ and #/)
    assert.equal(errors.statusTopic, undefined, 'one error for one mistake')
    assert.match(validateSettings({ broker: DEFAULT_BROKER, topic: TOPIC, statusTopic: 'a/#' }).statusTopic, /^Status topic/)
    assert.match(validateSettings({ broker: DEFAULT_BROKER, topic: '', statusTopic: '' }).topic, /^Call topic is required/)
  })

  test('a repeated press keeps the first press time; markers need two calls; ack clears', () => {
    const board = new CallBoard()
    assert.equal(board.press(3, 1000), 'new')
    assert.equal(board.view(61_000).find((t) => t.table === 3).longest, false)
    assert.equal(board.press(3, 50_000), 'repeat')
    assert.equal(board.press(2, 60_000), 'new')
    const view = board.view(61_000)
    assert.deepEqual(view.map((t) => t.table), [1, 2, 3, 4])
    assert.deepEqual(view[2], { table: 3, state: 'calling', waitMs: 60_000, count: 2, longest: true, newest: false })
    assert.equal(view[1].newest, true)
    assert.equal(tileLabel(view[2]),
      'Table 3, calling, waiting 01:00, pressed 2 times, longest waiting. Tap to acknowledge.')
    assert.equal(tileLabel(view[0]), 'Table 1, idle')
    assert.deepEqual(board.queue(61_000).map((t) => t.table), [3, 2])
    assert.equal(board.ack(3), true)
    assert.equal(board.ack(3), false)
    board.press(9, 62_000)
    assert.deepEqual(board.view(62_000).map((t) => t.table), [1, 2, 3, 4, 9])
  })
})

// Skipping is only for a developer machine without the browser; CI must have it (see .ci/run).
const skip = skipWithout('chromium')

/** Resolves with the first message on `topic` at `client`, or rejects after `ms`. */
function nextMessage (client, topic, ms = 3000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`no message on ${topic} within ${ms} ms`))
    }, ms)
    function onMessage (t, payload, packet) {
      if (t !== topic) return
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve({ payload: payload.toString(), packet })
    }
    client.on('message', onMessage)
  })
}

describe('staff board in headless Chromium', { skip }, () => {
  let broker
  let site
  let outDir
  let browser
  let tester // a plain MQTT.js client playing the device and a staff member's other tools
  const pageErrors = []
  const contexts = [] // closed after each test: idle pages still animate and hold connections

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: .ci/run must "apt-get install -y chromium"`)
    broker = await startBroker({ port: 0, host: '127.0.0.1', ws: true })
    assert.ok(broker.wsUrl, 'startBroker({ws: true}) must return wsUrl')
    outDir = await mkdtemp(join(tmpdir(), 'board-'))
    await buildBoard({ outDir })
    site = await serveStatic(outDir, { port: 0 })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    tester = await mqtt.connectAsync(broker.url, { reconnectPeriod: 200 })
    await tester.subscribeAsync(ACK, { qos: 1 })
  })

  after(async () => {
    await browser?.close()
    await tester?.endAsync(true)
    await site?.close()
    await broker?.close()
    if (outDir) await rm(outDir, { recursive: true, force: true })
  })

  const boardUrl = () => `${site.url}?broker=${encodeURIComponent(broker.wsUrl)}&topic=${encodeURIComponent(TOPIC)}`

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()))
    assert.deepEqual(pageErrors.splice(0), [], 'uncaught errors in the page')
  })

  async function newContext () {
    const context = await browser.newContext({ viewport: { width: 1024, height: 600 } })
    contexts.push(context)
    return context
  }
  const watch = (page) => page.on('pageerror', (err) => pageErrors.push(err.message))

  /** Opens the board and waits until it has subscribed, so a publish after this reaches it. */
  async function openBoard (context, url = boardUrl()) {
    const page = await context.newPage()
    watch(page)
    await page.goto(url)
    await page.waitForSelector('body[data-mqtt="subscribed"]', { state: 'attached', timeout: 5000 })
    return page
  }

  const tile = (page, table) => page.locator(`.tile[data-table="${table}"]`)
  const waitTile = (page, table, state, timeout = 1000) =>
    page.waitForSelector(`.tile[data-table="${table}"][data-state="${state}"]`, { timeout })
  const call = (table) => tester.publishAsync(TOPIC, `button ${table} is pressed`, { qos: 1 })

  test('a call turns tile 3 to calling within 1 s; acknowledging publishes <topic>/ack and clears every screen', async () => {
    const context = await newContext()
    const [first, second] = [await openBoard(context), await openBoard(context)]
    assert.deepEqual(await first.locator('.tile').evaluateAll((els) => els.map((e) => e.dataset.table)),
      ['1', '2', '3', '4'], 'tables 1-4 are shown before any call')

    await call(3)
    await Promise.all([waitTile(first, 3, 'calling'), waitTile(second, 3, 'calling')])
    assert.match(await tile(first, 3).getAttribute('aria-label'), /^Table 3, calling, waiting 00:0\d\. Tap to acknowledge\.$/)
    assert.equal(await tile(first, 3).evaluate((el) => el.tagName), 'BUTTON')
    assert.match(await tile(first, 3).innerText(), /Calling/, 'state is written, not only coloured')
    assert.match(await first.textContent('#summary'), /^1 calling · longest: table 3/)

    const published = new Promise((resolve) => broker.aedes.on('publish', function seen (packet) {
      if (packet.topic !== ACK) return
      broker.aedes.off('publish', seen)
      resolve(packet)
    }))
    const received = nextMessage(tester, ACK)
    await tile(first, 3).click()
    const [packet, message] = await Promise.all([published, received])
    assert.equal(message.payload, '3')
    assert.equal(packet.qos, 1)
    assert.equal(packet.retain, false, 'an ack must not be retained')
    assert.equal(message.packet.qos, 1)
    assert.equal(await tile(first, 3).getAttribute('data-state'), 'idle', 'cleared locally at once')
    await waitTile(second, 3, 'idle')
    assert.equal(await tile(second, 3).getAttribute('aria-label'), 'Table 3, idle')
  })

  test('other payloads are ignored; a table never seen before gets its own tile, in order', async () => {
    const page = await openBoard(await newContext())
    for (const junk of ['hello', 'button x is pressed', 'button 3 is pressed twice']) {
      await tester.publishAsync(TOPIC, junk, { qos: 1 })
    }
    // Same connection and topic, so messages arrive in order: once table 7 shows, the junk was handled.
    await call(7)
    await waitTile(page, 7, 'calling')
    assert.deepEqual(await page.locator('.tile').evaluateAll((els) => els.map((e) => `${e.dataset.table}:${e.dataset.state}`)),
      ['1:idle', '2:idle', '3:idle', '4:idle', '7:calling'])
    await call(5)
    await waitTile(page, 5, 'calling')
    assert.deepEqual(await page.locator('.tile').evaluateAll((els) => els.map((e) => e.dataset.table)),
      ['1', '2', '3', '4', '5', '7'])
    // Another screen acknowledging (any MQTT client) clears it here too.
    await tester.publishAsync(ACK, '7', { qos: 1 })
    await waitTile(page, 7, 'idle')
    assert.equal(await tile(page, 5).getAttribute('data-state'), 'calling')
  })

  test('device status from the retained status topic is shown as text', async () => {
    await tester.publishAsync(STATUS, 'offline', { qos: 1, retain: true })
    const page = await openBoard(await newContext())
    const device = page.locator('#device')
    await page.waitForSelector('#device[data-status="offline"]', { timeout: 1000 })
    assert.match(await device.innerText(), /OFFLINE/)
    await tester.publishAsync(STATUS, 'online', { qos: 1, retain: true })
    await page.waitForSelector('#device[data-status="online"]', { timeout: 1000 })
    assert.match(await device.innerText(), /Buttons online/)
  })

  test('waiting time counts up, a repeated press keeps it, longest and newest are marked; layouts; screenshot', async () => {
    // Playwright's clock makes the times (and so the saved screenshot) exact.
    await tester.publishAsync(STATUS, 'online', { qos: 1, retain: true })
    const context = await newContext()
    await context.clock.install({ time: new Date('2025-06-01T19:30:00Z') })
    const page = await openBoard(context)
    await page.waitForSelector('#device[data-status="online"]', { timeout: 1000 })
    // Paused after connecting: MQTT.js needs running timers to connect, not to receive.
    await context.clock.pauseAt(new Date('2025-06-01T19:30:10Z'))

    await call(3)
    await waitTile(page, 3, 'calling')
    await context.clock.runFor(40_000)
    await call(3) // repeated press: counted, waiting time not reset
    await call(2)
    await waitTile(page, 2, 'calling')
    await context.clock.runFor(25_000)

    assert.equal(await tile(page, 3).locator('.wait').innerText(), '01:05')
    assert.equal(await tile(page, 2).locator('.wait').innerText(), '00:25')
    assert.match(await tile(page, 3).innerText(), /pressed 2×/)
    assert.match(await tile(page, 3).innerText(), /LONGEST WAIT/i)
    assert.match(await tile(page, 2).innerText(), /NEWEST/i)
    assert.equal(await tile(page, 3).getAttribute('aria-label'),
      'Table 3, calling, waiting 01:05, pressed 2 times, longest waiting. Tap to acknowledge.')
    assert.equal(await page.textContent('#summary'), '2 calling · longest: table 3 (01:05)')
    assert.equal(await page.title(), '(2) Table calls')

    const boxes = async () => Promise.all([1, 2, 3, 4].map((t) => tile(page, t).boundingBox()))
    const tablet = await boxes()
    assert.ok(tablet.every((b) => b.y === tablet[0].y), 'tablet landscape: the four tables in one row')
    const fontPx = async (selector) => parseFloat(await tile(page, 3).locator(selector)
      .evaluate((el) => getComputedStyle(el).fontSize))
    assert.ok(await fontPx('.num') >= 96, 'table number readable from two metres on a tablet')

    await page.screenshot({ path: SCREENSHOT, animations: 'disabled' })

    await page.setViewportSize({ width: 390, height: 844 })
    const phone = await boxes()
    assert.ok(phone[0].y === phone[1].y && phone[2].y > phone[0].y && phone[2].y === phone[3].y,
      'phone portrait: two tables per row')
    assert.ok(phone.every((b) => b.width >= 150 && b.height >= 150), 'big tap targets on a phone')
    assert.ok(await fontPx('.num') >= 64 && await fontPx('.wait') >= 36, 'big type on a phone')
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling')
  })

  test('sound: one tap enables a WebAudio beep for new calls; without it the button asks for a tap', async () => {
    const page = await (await newContext()).newPage()
    watch(page)
    // Count tones: a real oscillator start is what makes the speaker beep.
    await page.addInitScript(() => {
      const start = AudioScheduledSourceNode.prototype.start
      window.tones = 0
      OscillatorNode.prototype.start = function (...args) {
        window.tones += 1
        return start.apply(this, args)
      }
    })
    await page.goto(boardUrl())
    await page.waitForSelector('body[data-mqtt="subscribed"]', { state: 'attached', timeout: 5000 })
    const sound = page.locator('#sound')

    await call(1)
    await waitTile(page, 1, 'calling')
    assert.equal(await page.evaluate(() => window.tones), 0, 'no sound before the tap (autoplay rules)')
    assert.match(await sound.getAttribute('class'), /nudge/)
    assert.match(await page.textContent('#live'), /Table 1 is calling/)

    await sound.click()
    await page.waitForSelector('#sound[aria-pressed="true"]', { timeout: 1000 })
    assert.equal(await sound.innerText(), 'Sound on')
    assert.equal(await page.evaluate(() => window.tones), 2, 'a test beep on enabling')
    await call(4)
    await page.waitForFunction(() => window.tones === 4, null, { timeout: 1000 })
    await call(4) // repeated press of a calling table: no new alert
    await call(2)
    await page.waitForFunction(() => window.tones === 6, null, { timeout: 1000 })
    assert.equal(await page.evaluate(() => window.tones), 6)
  })

  test('settings form: checks fields, remembers them, and URL parameters preset them', async () => {
    const page = await (await newContext()).newPage()
    watch(page)
    await page.goto(site.url)
    await page.waitForSelector('#settings[open]', { timeout: 1000 })
    assert.equal(await page.inputValue('#f-broker'), DEFAULT_BROKER)
    assert.equal(await page.getAttribute('body', 'data-mqtt'), 'unconfigured')
    assert.match(await page.textContent('#e-topic'), /^Call topic is required/)

    await page.fill('#f-broker', 'http://127.0.0.1:1')
    await page.fill('#f-topic', 'tablecall/+/calls')
    await page.click('#settings-form [type=submit]')
    assert.match(await page.textContent('#e-broker'), /^Broker URL must start with ws:\/\/ or wss:\/\//)
    assert.match(await page.textContent('#e-topic'), /remove \+ and #/)

    const other = 'tablecall/99aabbcc/calls'
    await page.fill('#f-broker', broker.wsUrl)
    await page.fill('#f-topic', other)
    assert.equal(await page.getAttribute('#f-status', 'placeholder'), 'tablecall/99aabbcc/status')
    await page.click('#settings-form [type=submit]')
    await page.waitForSelector('body[data-mqtt="subscribed"]', { state: 'attached', timeout: 5000 })
    assert.equal(await page.locator('#settings').evaluate((d) => d.open), false)

    await page.reload() // remembered in localStorage
    await page.waitForSelector('body[data-mqtt="subscribed"]', { state: 'attached', timeout: 5000 })
    await tester.publishAsync(other, 'button 2 is pressed', { qos: 1 })
    await waitTile(page, 2, 'calling')

    // A staff link's parameters win and are remembered too.
    await page.goto(boardUrl())
    await page.waitForSelector('body[data-mqtt="subscribed"]', { state: 'attached', timeout: 5000 })
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('tablecall.board.settings')))
    assert.equal(stored.topic, TOPIC)
  })

  test('broker gone: a clear banner; broker back: automatic reconnect clears it and calls arrive again', async () => {
    const page = await openBoard(await newContext())
    const banner = page.locator('#banner')
    assert.equal(await banner.isHidden(), true)

    await broker.stop()
    await page.waitForSelector('body[data-mqtt="disconnected"]', { state: 'attached', timeout: 5000 })
    assert.equal(await banner.isVisible(), true)
    assert.match(await banner.innerText(), /^No connection to the broker .*Reconnecting/)
    assert.equal(await banner.getAttribute('role'), 'alert')

    await broker.start()
    await page.waitForSelector('body[data-mqtt="subscribed"]', { state: 'attached', timeout: 10_000 })
    assert.equal(await banner.isHidden(), true)
    // The restarted broker forgot every subscription: the board must have subscribed again.
    await call(4)
    await waitTile(page, 4, 'calling', 3000)
  })
})
