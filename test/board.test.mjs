// Staff board (board/): the pure state in Node; the staff session on mosquitto; then the built page in
// real headless Chromium against a real aedes broker with a WebSocket listener on 127.0.0.1, with an
// MQTT.js client playing the devices exactly per the topic contract (BRIEF.md).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import mqtt from 'mqtt'
import { chromium } from 'playwright-core'
import { startBroker } from '../host/broker.mjs'
import { deviceId } from '../host/device-id.mjs'
import { freePort, startMosquitto, supervise } from '../host/mosquitto.mjs'
import { CHROMIUM, skipWithout } from './helpers/tools.mjs'
import { init } from '../tools/broker/init.mjs'
import { spawnBroker } from '../tools/broker/start.mjs'
import { startStaffView } from '../host/sim/staff.mjs'
import { batteryLevel, parseVolts, percent } from '../board/battery.js'
import { CallBoard, formatWait, parseState, tileLabel } from '../board/model.js'
import { checkSettings, DEFAULT_BROKER, linkedBroker, loginFor, parseDevices, parseTables, resolveRaw } from '../board/settings.js'
import { callMatcher, Staff } from '../board/staff.js'
import { subscriptions, topicMatcher, topicTemplates } from '../board/topics.js'
import { brokerDefaults, buildBoard, serveStatic } from '../board/serve.mjs'
import { boot, connected, firmware, logged, tap, until } from './helpers/firmware.mjs'
import { own } from '../host/children.mjs'

const MQTT = { topic: 'tablecall/{id}/calls', statusTopic: 'tablecall/{id}/status', tableTopic: 'tablecall/{id}/table/{n}', batteryTopic: 'tablecall/{id}/battery', answerTopic: 'tablecall/{id}/table/{n}/answer' }
const TEMPLATES = topicTemplates(MQTT)
const NOW = Date.UTC(2025, 5, 1, 19, 30)
// How long a wait for something the page or broker will do may take before the test fails: it ends as soon as
// that happens, so the margin costs nothing when it passes; on a loaded 2-core CI machine a browser's first
// page load, a reconnect or a delivery was seen to take over 5 s (issue #18).
const MARGIN = 10_000
// The README's picture is refreshed on request (UPDATE_SCREENSHOT=1 npm test), so test runs leave the tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT ? new URL('../docs/board.png', import.meta.url).pathname : join(mkdtempSync(join(tmpdir(), 'tablecall-board-')), 'board.png')
const newId = () => randomBytes(4).toString('hex') // a fresh device per test: retained state never leaks
const topicsOf = (id) => ({
  event: `tablecall/${id}/calls`,
  status: `tablecall/${id}/status`,
  battery: `tablecall/${id}/battery`,
  table: (n) => `tablecall/${id}/table/${n}`,
  answer: (n) => `tablecall/${id}/table/${n}/answer`
})

describe('board model', () => {
  test('battery: only a number 2.50-4.50 with two decimals; percentage from the 18650 curve; low and critical', () => {
    assert.equal(parseVolts('3.87'), 3.87)
    for (const bad of ['3.8', '3.870', '4.51', '2.49', ' 3.87', '3,87', 'NaN', '<b>3.87</b>', '']) assert.equal(parseVolts(bad), null, bad)
    assert.equal(percent(4.19), 100)
    assert.equal(percent(3.87), 64)
    assert.equal(percent(3.5), 21)
    assert.equal(percent(3.3), 8)
    assert.equal(percent(2.6), 0)
    assert.equal(batteryLevel(3.5), 'ok')
    assert.equal(batteryLevel(3.49), 'low')
    assert.equal(batteryLevel(3.6, 3.7), 'low', 'the low threshold is a setting')
    assert.equal(batteryLevel(3.29), 'critical')
  })

  test('topics: filters per device or + for all (never the answer topics); received topics name kind, device and table', () => {
    assert.deepEqual(subscriptions(TEMPLATES, ['1a2b3c4d']),
      ['tablecall/1a2b3c4d/calls', 'tablecall/1a2b3c4d/status', 'tablecall/1a2b3c4d/table/+', 'tablecall/1a2b3c4d/battery'])
    assert.equal(subscriptions(TEMPLATES, ['+'])[2], 'tablecall/+/table/+')
    const match = topicMatcher(TEMPLATES)
    assert.deepEqual(match('tablecall/1a2b3c4d/table/12'), { kind: 'table', device: '1a2b3c4d', table: 12 })
    assert.deepEqual(match('tablecall/1a2b3c4d/battery'), { kind: 'battery', device: '1a2b3c4d' })
    for (const other of ['tablecall/1A2B3C4D/calls', 'tablecall/1a2b3c4/calls', 'tablecall/1a2b3c4d/table/0',
      'tablecall/1a2b3c4d/table/10000', 'tablecall/1a2b3c4d/table/x', 'tablecall/1a2b3c4d/table/3/ack', 'tablecall/1a2b3c4d/table/3/answer']) {
      assert.equal(match(other), null, other)
    }
  })

  test('settings: tables, devices, precedence (link > remembered > board server > built-in), fixes named', () => {
    assert.deepEqual(parseTables('1-4, 9 7'), [1, 2, 3, 4, 7, 9])
    for (const bad of ['', '0', '4-1', 'x', '1-300', '10000']) assert.equal(parseTables(bad), null, bad)
    const idOf = (t) => topicMatcher(TEMPLATES)(t)?.device || null
    assert.deepEqual(parseDevices('1A2B3C4D, tablecall/5e6f7a8b/calls 1a2b3c4d', idOf), ['1a2b3c4d', '5e6f7a8b'])
    assert.equal(parseDevices('1a2b3c4 x', idOf), null)
    const raw = resolveRaw(new URLSearchParams('topic=tablecall/5e6f7a8b/calls&tables=1-12'), { broker: 'ws://stored:1', tables: '1-4' }, { broker: 'ws://lan:9001', devices: '+' })
    assert.deepEqual(raw, { broker: 'ws://stored:1', devices: 'tablecall/5e6f7a8b/calls', tables: '1-12', reminder: '2', batteryLow: '3.50' })
    assert.deepEqual(checkSettings(raw, idOf).settings,
      { broker: 'ws://stored:1', devices: ['5e6f7a8b'], tables: [...Array(12)].map((_, i) => i + 1), reminderMs: 120_000, batteryLow: 3.5 })
    assert.equal(resolveRaw(new URLSearchParams(), {}, {}).broker, DEFAULT_BROKER)
    const { errors } = checkSettings({ broker: 'http://x', devices: '+', tables: '0', reminder: '0', batteryLow: '5' }, idOf)
    assert.match(errors.broker, /^Broker URL must start with ws:\/\/ or wss:\/\//)
    assert.match(errors.tables, /^Tables: enter table numbers/)
    assert.match(errors.reminder, /^Reminder: minutes/)
    assert.match(errors.batteryLow, /^Battery low: volts/)
    assert.match(checkSettings({ ...raw, broker: DEFAULT_BROKER, devices: '+' }, idOf).errors.devices, /strangers' devices on the public broker/)
    assert.deepEqual(checkSettings({ ...raw, broker: 'ws://192.168.1.2:9001', devices: '+' }, idOf).settings.devices, ['+'])
    assert.match(checkSettings({ ...raw, devices: '' }, idOf).errors.devices, /^Devices: enter the id/)
  })

  test('settings: a saved login is for its broker only; a link naming another broker needs a confirmation', () => {
    const login = { broker: 'ws://lan:9001', username: 'staff', password: 'pw' }
    assert.equal(loginFor(login, 'ws://lan:9001'), login)
    assert.deepEqual(loginFor(login, 'ws://stranger:9001'), {})
    assert.deepEqual(loginFor({ username: 'staff', password: 'pw' }, 'ws://lan:9001'), {}, 'a login without its broker goes nowhere')
    const link = (q) => new URLSearchParams(q)
    assert.equal(linkedBroker(link('broker=ws://stranger:9001'), { broker: 'ws://lan:9001' }), 'ws://stranger:9001')
    assert.equal(linkedBroker(link('broker=ws://stranger:9001'), {}, { broker: 'ws://lan:9001' }), 'ws://stranger:9001', 'the board server\'s broker')
    assert.equal(linkedBroker(link('broker=ws://lan:9001&devices=%2B'), { broker: 'ws://lan:9001' }), null, 'the same broker')
    assert.equal(linkedBroker(link('devices=1a2b3c4d'), { broker: 'ws://lan:9001' }), null, 'no broker in the link')
    assert.equal(linkedBroker(link('broker=ws://lan:9001'), {}, {}), null, 'a new screen on a static host')
  })

  test('table state: `calling <call>` with a plausible press time counts, else "at least" from when it was seen', () => {
    assert.deepEqual(parseState('', NOW), { idle: true })
    assert.deepEqual(parseState('calling 7', NOW), { call: 7, pressedAt: null })
    assert.deepEqual(parseState(`calling 7 ${NOW - 5000}`, NOW), { call: 7, pressedAt: NOW - 5000 })
    assert.deepEqual(parseState(`calling 999999999999999 ${NOW + 30_000}`, NOW), { call: 999999999999999, pressedAt: NOW }, 'a little clock skew; 15 digits')
    assert.deepEqual(parseState(`calling 7 ${NOW + 3_600_000}`, NOW), { call: 7, pressedAt: null }, 'the future')
    assert.deepEqual(parseState('calling 7 1600000000000', NOW), { call: 7, pressedAt: null }, 'before 2024: no real clock')
    for (const bad of ['calling', 'calling ', 'calling 07', 'calling 0', 'calling 1000000000000000', 'calling 7 12', 'Calling 7',
      'calling 7 1795675200000 x', 'calling -7', 'calling 7  1795675200000', '<img>']) assert.equal(parseState(bad, NOW), null, bad)

    const board = new CallBoard({ tables: [1, 2, 3] })
    assert.equal(board.state('a', 2, 'calling 4', NOW), 'new')
    assert.equal(board.tile(2, NOW + 5000, 120_000).atLeast, true)
    assert.equal(board.state('a', 2, `calling 4 ${NOW - 60_000}`, NOW + 5000), 'update', 'the device\'s time replaces "at least"')
    assert.deepEqual(board.tile(2, NOW + 5000, 120_000),
      { table: 2, state: 'calling', waitMs: 65_000, atLeast: false, count: 1, overdue: false, longest: false, newest: false, conflict: null })
    assert.equal(board.state('a', 2, '', NOW), 'cleared')
    assert.equal(board.state('a', 2, '', NOW), null, 'an idle state of an idle table changes nothing')
    assert.equal(board.event('a', 2, NOW + 1000), null, 'a late copy of the ended call\'s event (a resend) does not bring it back')
    assert.equal(board.state('a', 2, 'calling 3', NOW), null, 'nor does a stale copy of an older call\'s state: ids only grow')
    assert.equal(board.event('b', 2, NOW), 'new', 'a device never seen with table states: its events are the calls')
    assert.equal(board.state('a', 3, `calling 9 ${NOW}`, NOW), 'new')
    assert.equal(board.event('a', 3, NOW), null, 'the event of the same press')
    assert.equal(board.event('a', 3, NOW), 'repeat')
  })

  test('a call has an identity: the answer names it, the tile waits for the device; older ids change nothing, a newer one is a new call', () => {
    const board = new CallBoard({ tables: [1, 2] })
    assert.deepEqual(board.answer(1), [], 'an idle table: nothing to answer')
    board.state('a', 1, `calling 5 ${NOW}`, NOW)
    assert.deepEqual(board.answer(1), [{ device: 'a', call: 5 }])
    assert.deepEqual(board.tile(1, NOW, 120_000), { table: 1, state: 'answered', conflict: null })
    assert.equal(tileLabel(board.tile(1, NOW, 120_000)), 'Table 1, answered, waiting for the table')
    assert.deepEqual(board.answer(1), [], 'answered once')
    assert.deepEqual(board.queue(NOW), [], 'not waiting for staff any more')
    assert.equal(board.state('a', 1, `calling 5 ${NOW}`, NOW + 1000), 'resend', 'the device republishing its state (a reconnect): still answered, the answer goes again')
    assert.equal(board.event('a', 1, NOW + 1000), null, 'a press the device joins to the answered call')
    assert.equal(board.state('a', 1, `calling 3 ${NOW}`, NOW + 1000), null, 'an older call\'s state')
    assert.equal(board.tile(1, NOW, 120_000).state, 'answered')
    assert.equal(board.state('a', 1, `calling 6 ${NOW + 2000}`, NOW + 2000), 'new', 'the guest called again before the device took the answer')
    assert.equal(board.tile(1, NOW + 2000, 120_000).state, 'calling')
    assert.deepEqual(board.answer(1), [{ device: 'a', call: 6 }])
    assert.equal(board.state('a', 1, '', NOW + 3000), 'cleared')
    assert.equal(board.tile(1, NOW + 3000, 120_000).state, 'idle')
    assert.equal(board.state('a', 1, `calling 5 ${NOW}`, NOW + 4000), null, 'a broker that restored an old save: an older call stays ended')
    assert.equal(board.state('a', 1, `calling 7 ${NOW + 5000}`, NOW + 5000), 'new')

    // Two devices set to the same table: each call answered by its own id; the table waits for both.
    board.state('a', 2, `calling 8 ${NOW}`, NOW)
    board.state('b', 2, `calling 30 ${NOW + 1000}`, NOW + 1000)
    assert.deepEqual(board.answer(2), [{ device: 'a', call: 8 }, { device: 'b', call: 30 }])
    board.state('a', 2, '', NOW + 2000)
    assert.equal(board.tile(2, NOW + 2000, 120_000).state, 'answered')
    board.state('b', 2, '', NOW + 2000)
    assert.equal(board.tile(2, NOW + 2000, 120_000).state, 'idle')

    // A device without table states (old firmware): its call is the event's and ends on this screen.
    board.event('c', 2, NOW)
    assert.deepEqual(board.answer(2), [])
    assert.equal(board.tile(2, NOW, 120_000).state, 'idle')
  })

  test('a stale idle state (a killed broker replaying an old queued copy) ends a live call: the device\'s next state of that call shows it again (schedules seeds 4, 6, 12)', () => {
    const board = new CallBoard({ tables: [1] })
    assert.equal(board.state('a', 1, `calling 5 ${NOW}`, NOW), 'new')
    assert.equal(board.state('a', 1, '', NOW + 1000), 'cleared', 'the screen cannot tell a stale idle state from a live one')
    assert.equal(board.state('a', 1, `calling 5 ${NOW}`, NOW + 2000), 'new', 'the device republishes the call at its next CONNACK')
    assert.equal(board.tile(1, NOW + 2000, 120_000).waitMs, 2000)
    assert.equal(board.state('a', 1, `calling 4 ${NOW}`, NOW + 2000), null, 'an older call stays ended')
  })

  test('an answer goes again when the state of the call it answered still says calling (a broker crash may have lost it), never just because the screen connects: another screen may have answered a newer call meanwhile (schedules seeds 10, 14, 15)', () => {
    const staff = new Staff({ templates: TEMPLATES, settings: { devices: ['1a2b3c4d'], tables: [1, 2] }, message: 'button {n} is pressed' })
    const got = (n, text) => staff.receive(`tablecall/1a2b3c4d/table/${n}`, Buffer.from(text), false, NOW)
    assert.equal(got(1, 'calling 5').answers, undefined, 'not answered: nothing to send')
    got(2, 'calling 6')
    const answer = staff.answer(1)
    assert.deepEqual(got(1, 'calling 5').answers, answer, 'the device still calls: the same answer, retained, again')
    assert.equal(staff.board.tile(1, NOW, 120_000).state, 'answered', 'still answered, waiting for the device')
    // The screen is away; the device takes the answer, the guest calls again, another screen answers
    // call 7 (the broker's retained answer is 7). Back with its session, this screen gets the queued states.
    staff.board.connected(true)
    for (const text of ['', 'calling 7', '']) assert.equal(got(1, text).answers, undefined, `${JSON.stringify(text)}: no answer again, 5 would replace 7`)
    // Without a session: the answered call is away until its retained state brings it back, answered.
    got(2, 'calling 8')
    const eight = staff.answer(2)
    staff.board.connected(false)
    assert.deepEqual(got(2, 'calling 8').answers, eight)
    assert.equal(got(2, '').answers, undefined)
  })

  test('a connection without a session forgets the calls: one that ended meanwhile (its idle state lost with the session) is gone, the retained states bring back the others as they were (bench schedules seed 1009)', () => {
    const seen = {}
    const board = new CallBoard({ tables: [1, 2, 3], seen })
    board.state('a', 1, 'calling 5', NOW)
    board.state('a', 2, 'calling 7', NOW)
    board.state('a', 3, `calling 9 ${NOW}`, NOW)
    board.answer(3)
    board.event('old', 1, NOW) // old firmware: no state brings its call back
    board.connected(true) // a session: everything kept
    board.connected(false)
    assert.equal(board.tile(2, NOW, 120_000).state, 'idle', 'table 2 ended while the screen was away: nothing brings it back')
    assert.deepEqual(board.calls.get(1).get('old').id, null, 'the call of an event stays')
    assert.equal(board.state('a', 1, 'calling 4', NOW + 60_000), null, 'an older call than one the screen knew')
    assert.equal(board.state('a', 1, 'calling 5', NOW + 60_000), null, 'table 1\'s retained state: the same call')
    assert.equal(board.tile(1, NOW + 60_000, 120_000).waitMs, 60_000, 'with its wait')
    assert.equal(board.state('a', 3, `calling 9 ${NOW}`, NOW + 60_000), 'resend', 'its answer goes again')
    assert.equal(board.tile(3, NOW + 60_000, 120_000).state, 'answered', 'answered still')
    board.prune()
    assert.equal(board.tile(2, NOW + 60_000, 120_000).state, 'idle')
    assert.deepEqual(seen, { 'a/1/5': NOW }, 'the first-seen time of the call that ended is gone')
    assert.equal(board.state('a', 2, 'calling 6', NOW + 60_000), null, 'and it stays ended: an older id is stale')
  })

  test('devices with table states: status `online 2`/`offline 2` or a state; their events never open a call, also after a reload', () => {
    const board = new CallBoard({ tables: [1, 2, 3] })
    assert.equal(board.status('a', 'online 2'), 'update')
    assert.equal(board.devices.get('a').status, 'online')
    assert.equal(board.event('a', 1, NOW), null, 'a resent event of an answered call')
    assert.equal(board.status('b', 'offline 2'), 'update')
    assert.equal(board.devices.get('b').status, 'offline')
    assert.equal(board.event('b', 1, NOW), null)
    board.state('c', 3, '', NOW)
    assert.equal(board.event('c', 3, NOW), null, 'an idle state says so too')
    assert.deepEqual([...board.stateful].sort(), ['a', 'b', 'c'])
    const reloaded = new CallBoard({ tables: [1, 2, 3], stateful: [...board.stateful] })
    assert.equal(reloaded.event('a', 1, NOW), null, 'before the retained status arrives: the page kept the list')
    board.status('a', 'online')
    assert.equal(board.event('a', 1, NOW), 'new', 'a device back on old firmware: its events are its calls')
    for (const bad of ['online 3', 'Online', 'online  2', 'online 2 ', '']) assert.equal(board.status('d', bad), null, bad)
  })

  test('first-seen times belong to one call id: a new call gets its own, an ended call\'s goes, a reload prunes what ended meanwhile', () => {
    const seen = {}
    const board = new CallBoard({ tables: [2, 3], seen })
    board.state('a', 2, 'calling 7', NOW)
    assert.deepEqual(seen, { 'a/2/7': NOW }, 'kept by the page across reloads')
    const reloaded = new CallBoard({ tables: [2, 3], seen: { ...seen } })
    reloaded.state('a', 2, 'calling 7', NOW + 90_000)
    assert.equal(reloaded.tile(2, NOW + 90_000, 120_000).waitMs, 90_000, 'a reload keeps "at least" from the first sight')
    board.answer(2)
    assert.deepEqual(seen, { 'a/2/7': NOW }, 'answered is not ended')
    board.state('a', 2, '', NOW + 1000)
    assert.deepEqual(seen, {}, 'gone with the call')

    // The call ended while the screen was closed; hours later a new call on the table.
    const later = NOW + 3 * 3_600_000
    const stale = { 'a/2/7': NOW, 'a/3/2': NOW - 5000, 3: NOW, 'x/3/1': 'soon' } // also entries of older pages and hand edits
    const restored = new CallBoard({ tables: [2, 3], seen: stale })
    assert.equal(restored.state('a', 2, 'calling 8', later), 'new')
    assert.equal(restored.tile(2, later + 2000, 120_000).waitMs, 2000, 'its own wait, not the old call\'s')
    assert.equal(restored.tile(2, later + 2000, 120_000).overdue, false)
    restored.state('a', 3, 'calling 2', later)
    restored.prune()
    assert.deepEqual(stale, { 'a/2/8': later, 'a/3/2': NOW - 5000 }, 'only calls still calling keep theirs')
    restored.state('a', 2, 'calling 9', later + 1000)
    assert.deepEqual(Object.keys(stale).sort(), ['a/2/9', 'a/3/2'], 'a newer call replaces the older one\'s')
    const edited = new CallBoard({ tables: [1], seen: { 'a/1/1': 'x', 'a/1/2': later + 3_600_000 } })
    edited.state('a', 1, 'calling 1', later)
    edited.state('a', 1, 'calling 2', later)
    assert.equal(edited.tile(1, later, 120_000).waitMs, 0, 'a hand-edited or future time is not believed')
    for (const junk of [5, 'x', null, ['a/1/1']]) assert.equal(new CallBoard({ tables: [1], seen: junk }).state('a', 1, 'calling 1', later), 'new')
  })

  test('three tables at once: newest and longest come from the press times, not the arrival order', () => {
    const board = new CallBoard({ tables: [2, 5, 7] })
    board.state('a', 5, `calling 1 ${NOW}`, NOW + 3000)
    board.state('a', 2, `calling 2 ${NOW + 2000}`, NOW + 3000)
    board.state('a', 7, `calling 3 ${NOW + 1000}`, NOW + 3000)
    assert.deepEqual(board.markers(), { newest: 2, longest: 5 })
    board.event('a', 7, NOW + 4000) // a repeated press changes nothing
    assert.deepEqual(board.markers(), { newest: 2, longest: 5 })
    board.answer(5)
    assert.deepEqual(board.markers(), { newest: 2, longest: 7 }, 'an answered call is not waiting')
    // Equal times: arrival order decides.
    const same = new CallBoard({ tables: [1, 2, 3] })
    for (const t of [3, 1, 2]) same.event('a', t, NOW)
    assert.deepEqual(same.markers(), { newest: 2, longest: 3 })
    same.answer(2)
    same.answer(1)
    assert.deepEqual(same.markers(), { newest: null, longest: null }, 'markers need two calls')
  })

  test('events, repeats, unknown tables counted, two devices on one table flagged, reminders', () => {
    const board = new CallBoard({ tables: [1, 2, 3, 4], devices: ['a', 'b'] })
    assert.equal(board.event('a', 3, NOW), 'new')
    assert.equal(board.event('a', 3, NOW + 50_000), 'repeat')
    assert.equal(board.event('a', 99, NOW), null)
    assert.equal(board.state('a', 99, 'calling 1', NOW), null)
    assert.deepEqual(board.ignored, { unknownTable: 2, invalid: 0 })

    board.event('b', 3, NOW + 1000)
    assert.deepEqual(board.tile(3, NOW, 120_000).conflict, ['a', 'b'])
    assert.equal(tileLabel(board.tile(3, NOW + 61_000, 120_000)),
      'Table 3, calling, waiting at least 01:01, pressed 2 times, warning: set on 2 devices. Tap to answer.')
    assert.deepEqual(board.answer(3), [], 'calls of events end here, no answer to publish')
    assert.equal(board.tile(3, NOW, 120_000).state, 'idle')

    board.state('a', 1, `calling 1 ${NOW}`, NOW)
    assert.deepEqual(board.dueReminders(NOW + 119_000, 120_000), [])
    assert.equal(board.tile(1, NOW + 119_000, 120_000).overdue, false)
    assert.deepEqual(board.dueReminders(NOW + 120_000, 120_000), [1])
    assert.equal(board.tile(1, NOW + 120_000, 120_000).overdue, true)
    assert.deepEqual(board.dueReminders(NOW + 200_000, 120_000), [], 'once per interval')
    assert.deepEqual(board.dueReminders(NOW + 240_000, 120_000), [1])
    board.answer(1)
    assert.deepEqual(board.dueReminders(NOW + 360_000, 120_000), [], 'silent once answered')
    assert.equal(formatWait(75 * 60_000), '75:00')
  })

  test('received messages are a stranger\'s until checked: retained events, big payloads, other devices', () => {
    const staff = new Staff({ templates: TEMPLATES, settings: { devices: ['1a2b3c4d'], tables: [1, 2] }, message: 'button {n} is pressed' })
    const got = (topic, text, retain = false) => staff.receive(topic, Buffer.from(text), retain, NOW)
    assert.equal(got('tablecall/1a2b3c4d/calls', 'button 1 is pressed', true), null, 'a retained event')
    assert.equal(got('tablecall/1a2b3c4d/table/1', `calling 1 ${NOW}${' '.repeat(100)}`), null, 'too long')
    assert.equal(got('tablecall/99999999/table/1', 'calling 1'), null, 'not our device')
    assert.equal(got('tablecall/1a2b3c4d/calls', '<img src=x onerror=alert(1)>'), null)
    assert.equal(got('tablecall/1a2b3c4d/battery', '9.99'), null)
    assert.equal(got('tablecall/1a2b3c4d/table/1/answer', '1'), null, 'answers are not read')
    assert.equal(got('tablecall/1a2b3c4d/status', 'online 2 <b>'), null)
    assert.deepEqual(staff.board.ignored, { unknownTable: 0, invalid: 7 })
    assert.deepEqual(got('tablecall/1a2b3c4d/calls', 'button 2 is pressed'), { kind: 'event', device: '1a2b3c4d', table: 2, change: 'new' })
    assert.deepEqual(staff.answer(2), [], 'a call of an event: nothing to tell the device')
    assert.deepEqual(got('tablecall/1a2b3c4d/table/1', `calling 123456789012345 ${NOW}`), { kind: 'table', device: '1a2b3c4d', table: 1, change: 'new' })
    assert.deepEqual(staff.answer(1), [{ topic: 'tablecall/1a2b3c4d/table/1/answer', payload: '123456789012345', options: { qos: 1, retain: true } }])
    assert.deepEqual(staff.answer(1), [])
    assert.equal(callMatcher('Table {n} (call)?')('Table 4 (call)?'), 4, 'template text is literal')
    assert.equal(callMatcher('button {n} is pressed')(' button 12 is pressed\n'), 12, 'white space at the ends is trimmed')
    for (const other of ['button x is pressed', 'button 3 is pressed!', 'button 0 is pressed', 'button 10000 is pressed', 'button  3 is pressed']) {
      assert.equal(callMatcher('button {n} is pressed')(other), null, other)
    }
    assert.throws(() => callMatcher('no placeholder'), /^Error: message "no placeholder" has no \{n\}/)
  })
})

describe('staff session on mosquitto (the broker keeps it)', { skip: skipWithout('mosquitto') }, () => {
  test('a staff view away during a press gets it on return, with the press time; its answer (the call id, retained) reaches the device, whose idle state clears it for everyone', async () => {
    const broker = await startMosquitto()
    const views = []
    const device = await mqtt.connectAsync(broker.url)
    try {
      const [id, old] = [newId(), newId()] // old: firmware without table states, only events
      const t = topicsOf(id)
      const config = { mqtt: MQTT, buttons: [{ table: 1 }, { table: 2 }], message: 'button {n} is pressed' }
      const open = async (clientId) => {
        const changes = []
        const view = await startStaffView({ url: broker.url, config, devices: [id, old], clientId, onChange: (c) => changes.push(c) })
        views.push(view)
        return Object.assign(view, { changes })
      }
      const first = await open()
      await first.close()
      const pressedAt = Date.now() - 30_000
      await device.publishAsync(t.table(2), `calling 41 ${pressedAt}`, { qos: 1, retain: true })
      await device.publishAsync(t.event, 'button 2 is pressed', { qos: 1 })
      await device.publishAsync(topicsOf(old).event, 'button 1 is pressed', { qos: 1 }) // never retained: only the session keeps it
      const back = await open(first.clientId)
      await waitUntil(() => back.staff.board.lead(2) && back.staff.board.lead(1), 'both calls after the return')
      assert.equal(back.staff.board.lead(2).since, pressedAt)
      await device.subscribeAsync(t.answer(2), { qos: 1 })
      const answered = nextMessage(device, t.answer(2), MARGIN)
      await back.answer(2)
      const { payload, packet } = await answered
      assert.equal(payload, '41')
      assert.equal(packet.qos, 1)
      assert.equal(back.staff.board.tile(2, Date.now(), 120_000).state, 'answered')
      await device.publishAsync(t.table(2), '', { qos: 1, retain: true }) // the device took it: idle
      await waitUntil(() => back.staff.board.tile(2, Date.now(), 120_000).state === 'idle', 'the device\'s idle state')
      const later = await open()
      await device.publishAsync(t.status, 'online 2', { qos: 1 })
      await waitUntil(() => later.changes.some((c) => c.kind === 'status'), 'the later view to be subscribed')
      assert.equal(later.staff.board.calls.has(2), false, 'nothing retained for table 2')
    } finally {
      for (const view of views) await view.close().catch(() => {})
      await device.endAsync(true)
      await broker.close()
    }
  })
})

describe('the simulator\'s staff view (host/sim/staff.mjs)', () => {
  test('as the page does: a broker restart lost its answer, the device still calls that call: the view sends the answer again', async () => {
    const broker = await startBroker()
    let view
    const device = await mqtt.connectAsync(broker.url, { reconnectPeriod: 100 })
    try {
      const id = newId()
      const t = topicsOf(id)
      const config = { mqtt: MQTT, buttons: [{ table: 1 }], message: 'button {n} is pressed' }
      view = await startStaffView({ url: broker.url, config, devices: [id], onChange: () => {} })
      await device.publishAsync(t.table(1), 'calling 5', { qos: 1, retain: true })
      await waitUntil(() => view.staff.board.lead(1), 'the call on the view')
      await view.answer(1)
      assert.equal(view.staff.board.tile(1, Date.now(), 120_000).state, 'answered')
      // The broker restarts before the device got the answer: no session, nothing retained.
      const back = new Promise((resolve) => device.once('connect', resolve))
      await broker.restart()
      await back
      await device.subscribeAsync(t.answer(1), { qos: 1 })
      const again = nextMessage(device, t.answer(1), MARGIN)
      // as the device does at every CONNACK: its state (the view has subscribed again by then or gets it retained)
      await device.publishAsync(t.table(1), 'calling 5', { qos: 1, retain: true })
      assert.equal((await again).payload, '5')
    } finally {
      await view?.close()
      await device.endAsync(true)
      await broker.close()
    }
  })
})

/** Resolves with the first message on `topic` at `client` ({ payload, packet }), or rejects after `ms`. */
function nextMessage (client, topic, ms) {
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

/** Resolves once done() is true, checking every 20 ms; rejects after ms. */
async function waitUntil (done, what, ms = MARGIN) {
  const end = Date.now() + ms
  while (!done()) {
    if (Date.now() > end) throw new Error(`waited ${ms} ms for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * A TCP relay to the broker that a test can cut (a screen losing WiFi) and resume, or hold (a link gone
 * silent while both ends still count it as up: bytes wait in the relay) and release.
 */
async function relay (port) {
  const sockets = new Set()
  let open = true
  let held = null // bytes waiting while held: [socket, data] in order
  let onConnect = () => {}
  const forward = (from, to) => from.on('data', (data) => held ? held.push([to, data]) : to.write(data))
  const server = net.createServer((socket) => {
    if (!open) return socket.destroy()
    const upstream = net.connect(port, '127.0.0.1')
    for (const s of [socket, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    forward(socket, upstream)
    forward(upstream, socket)
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
    onConnect()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    cut () {
      open = false
      for (const s of sockets) s.destroy()
    },
    hold () {
      held = []
    },
    release () {
      const waiting = held
      held = null
      for (const [to, data] of waiting) to.write(data)
    },
    /** Accepts again; resolves with the time of the next connection. */
    resume () {
      open = true
      return new Promise((resolve) => { onConnect = () => resolve(Date.now()) })
    },
    close () {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    }
  }
}

/** Raw HTTP request (no URL normalisation on the way): resolves with { status, body }. */
function request (url, path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const req = http.request({ hostname, port, path, method }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }))
    })
    // A server that died on the request never answers: fail within a bound instead of hanging.
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${method} ${path} within 5 s`)))
    req.on('error', reject).end()
  })
}

describe('board server', () => {
  let outDir
  let site
  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'board-'))
    await buildBoard({ outDir })
    site = await serveStatic(outDir, { port: 0, defaults: { broker: 'ws://10.0.0.2:9001', devices: '+', username: 'staff' } })
  })
  after(async () => {
    await site?.close()
    if (outDir) await rm(outDir, { recursive: true, force: true })
  })

  test('only the board\'s own files: any other path 404 (malformed and escaping ones too), other methods 405, no listing; the page is served after each', async () => {
    assert.equal((await request(site.url, 'http://[')).status, 400, 'not a path')
    for (const path of ['/%2e%2e/%2e%2e/etc/passwd', '/%', '/%zz', '/..%2f..%2fetc/passwd', '/.hidden', '/a%00b', '/app.js/', '/board?x=1']) {
      assert.equal((await request(site.url, path)).status, 404, path)
      const page = await request(site.url, '/')
      assert.equal(page.status, 200, `still serving after ${path}`)
      assert.match(page.body, /<title>Table calls<\/title>/)
    }
    const post = await request(site.url, '/', 'POST')
    assert.equal(post.status, 405)
    assert.equal(post.headers.allow, 'GET, HEAD')
    assert.equal((await request(site.url, '/', 'HEAD')).body, '')
    assert.equal((await request(site.url, '/nothing/')).status, 404, 'a folder is never listed')
    assert.deepEqual(JSON.parse((await request(site.url, '/defaults.json')).body), { broker: 'ws://10.0.0.2:9001', devices: '+', username: 'staff' })
  })

  test('npm run board -- --out a folder holding secrets (a broker folder): it serves the board\'s files and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tablecall-out-'))
    const secrets = { 'staff.json': '{"password":"staff-secret"}', 'devices.passwd': 'device-1:$7$x', 'mosquitto.conf': 'listener 1883', 'board.json': '{"url":"ws://127.0.0.1:9001"}', 'defaults.json': '{"password":"x"}' }
    for (const [name, text] of Object.entries(secrets)) writeFileSync(join(dir, name), text)
    mkdirSync(join(dir, 'devices'))
    writeFileSync(join(dir, 'devices', 'device-1.json'), '{"mqtt":{"password":"device-secret"}}')
    const child = own(spawn(process.execPath, ['board/serve.mjs', '--port', '0', '--host', '127.0.0.1', '--out', dir], { stdio: ['ignore', 'pipe', 'pipe'] }))
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    try {
      await waitUntil(() => /staff board: (\S+)/.test(out), 'the server to listen', 20_000)
      const url = /staff board: (\S+)/.exec(out)[1]
      for (const path of ['/', '/index.html', '/app.js', '/app.js.map', '/board.css']) assert.equal((await request(url, path)).status, 200, path)
      for (const path of [...Object.keys(secrets), 'devices/device-1.json', 'devices/', '%2e%2e/package.json'].map((p) => `/${p}`)) {
        const { status, body } = await request(url, path)
        assert.equal(status, 404, path)
        assert.doesNotMatch(body, /secret|password/, path)
      }
    } finally {
      child.kill()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('--broker-dir: board.json of the broker tool becomes the defaults; a bad one names the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tablecall-brokerdir-'))
    writeFileSync(join(dir, 'board.json'), JSON.stringify({ url: 'wss://192.168.1.5:8884', username: 'staff' }))
    assert.deepEqual(brokerDefaults(dir), { broker: 'wss://192.168.1.5:8884', devices: '+', username: 'staff' })
    writeFileSync(join(dir, 'board.json'), JSON.stringify({ url: 'http://x' }))
    assert.throws(() => brokerDefaults(dir), /"url" must be ws:\/\/HOST:PORT .*\(fix: run npm run broker -- init --dir/)
    assert.throws(() => brokerDefaults(join(dir, 'none')), /cannot read .*board\.json \(ENOENT\) \(fix: run npm run broker -- init/)
  })

  test('npm run board -- --broker-dir D serves D/board.json as the page\'s defaults; a missing one stops it with the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tablecall-brokerdir-'))
    writeFileSync(join(dir, 'board.json'), JSON.stringify({ url: 'ws://127.0.0.1:9001', username: 'staff' }))
    const run = (args) => {
      const child = spawn(process.execPath, ['board/serve.mjs', '--port', '0', '--host', '127.0.0.1', '--out', outDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      const out = { text: '', err: '' }
      child.stdout.on('data', (d) => { out.text += d })
      child.stderr.on('data', (d) => { out.err += d })
      return { child, out, exited: new Promise((resolve) => child.on('exit', resolve)) }
    }
    const good = run(['--broker-dir', dir])
    try {
      await waitUntil(() => /staff board: (\S+)/.test(good.out.text), 'the server to listen', 10_000)
      const url = /staff board: (\S+)/.exec(good.out.text)[1]
      assert.match(good.out.text, /settings prefilled: broker ws:\/\/127\.0\.0\.1:9001, username staff/)
      assert.deepEqual(JSON.parse((await request(url, '/defaults.json')).body), { broker: 'ws://127.0.0.1:9001', devices: '+', username: 'staff' })
    } finally {
      good.child.kill()
    }
    const bad = run(['--broker-dir', join(dir, 'none')])
    try {
      assert.equal(await bad.exited, 1)
      assert.match(bad.out.err, /^board: --broker-dir: cannot read .*board\.json \(ENOENT\) \(fix: run npm run broker -- init --dir /)
    } finally {
      bad.child.kill()
    }
  })

  test('npm run board on a busy port: one line suggesting --port, no stack trace', async () => {
    const busy = net.createServer()
    await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const child = spawn(process.execPath, ['board/serve.mjs', '--port', String(busy.address().port), '--out', outDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      let err = ''
      child.stderr.on('data', (d) => { err += d })
      const code = await new Promise((resolve) => child.on('exit', resolve))
      assert.equal(code, 1)
      assert.match(err, /^board: port \d+ on 127\.0\.0\.1 is already in use .*\(fix: npm run board -- --port \d+/)
      assert.doesNotMatch(err, /\n\s+at /)
    } finally {
      child.kill()
      busy.close()
    }
  })
})

// Skipping is only for a developer machine without the browser; CI must have it (see .ci/run).
const skip = skipWithout('chromium')

describe('staff board in headless Chromium', { skip }, () => {
  let broker
  let site
  let outDir
  let browser
  let tester // a plain MQTT.js client playing the devices per the contract (CONTRACT.md)
  const openCalls = new Map() // `device/table` -> its open call's id
  const byHand = new Set() // devices whose answers a test handles itself
  let lastCall = 0 // call ids only grow
  const pageErrors = []
  const contexts = [] // closed after each test: idle pages still animate and hold connections

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: .ci/run must "apt-get install -y chromium"`)
    broker = await startBroker({ port: 0, host: '127.0.0.1', ws: true })
    outDir = await mkdtemp(join(tmpdir(), 'board-'))
    await buildBoard({ outDir })
    site = await serveStatic(outDir, { port: 0 })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    tester = await mqtt.connectAsync(broker.url, { reconnectPeriod: 200 })
    tester.on('message', (topic, payload) => {
      const m = /^tablecall\/([0-9a-f]{8})\/table\/(\d+)\/answer$/.exec(topic)
      const key = m && `${m[1]}/${m[2]}`
      // The device ends its open call only on an answer with that call's id or a later one.
      if (!m || !openCalls.has(key) || byHand.has(m[1]) || Number(String(payload)) < openCalls.get(key)) return
      openCalls.delete(key)
      tester.publish(topicsOf(m[1]).table(m[2]), '', { qos: 1, retain: true })
    })
    await tester.subscribeAsync('tablecall/+/table/+/answer', { qos: 1 })
  })

  after(async () => {
    await browser?.close()
    await tester?.endAsync(true)
    await site?.close()
    await broker?.close()
    if (outDir) await rm(outDir, { recursive: true, force: true })
  })

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()))
    assert.deepEqual(pageErrors.splice(0), [], 'uncaught errors in the page')
  })

  const boardUrl = (devices, extra = '', brokerUrl = broker.wsUrl) =>
    `${site.url}?broker=${encodeURIComponent(brokerUrl)}&devices=${devices.join('+')}&tables=1-12${extra}`

  async function newContext (options = {}) {
    const context = await browser.newContext({ viewport: { width: 1024, height: 600 }, ...options })
    contexts.push(context)
    return context
  }
  const watch = (page) => page.on('pageerror', (err) => pageErrors.push(err.message))
  const subscribed = (page, timeout = MARGIN) => page.waitForSelector('body[data-mqtt="subscribed"]', { state: 'attached', timeout })

  /** Opens the board and waits until it has subscribed, so a publish after this reaches it. */
  async function openBoard (context, url) {
    const page = await context.newPage()
    watch(page)
    await page.goto(url)
    await subscribed(page)
    return page
  }

  /**
   * Fixes the page's wall clock (Date.now) at `time`; set(page, t) moves it. Timers, performance.now and
   * Web Workers keep real time, so the page runs its 1 s tick and its MQTT connection as in use.
   * Not Playwright's context.clock: that also fakes performance.timeOrigin (= the installed time) and
   * performance.now, and MQTT.js runs its keepalive in a Web Worker (worker-timers) that the clock does
   * not reach: the page hands the worker each deadline as performance.timeOrigin + performance.now(),
   * and the worker measures it on its own real clock. A faked time more than keepalive/2 (15 s) behind
   * the real one makes every keepalive tick due at once (ping, then "keepalive timeout"): the board
   * drops the connection and reconnects every second; one ahead of it stops the pings (issue #21).
   * The board reads the time only through Date.now(), so fixing that is all a test of times needs.
   */
  async function wallClock (context, time) {
    await context.addInitScript((t) => {
      let now = t
      Date.now = () => now
      globalThis.setWallClock = (t) => { now = t }
    }, time)
    return { set: (page, t) => page.evaluate((t) => globalThis.setWallClock(t), t) }
  }

  /** Waits until the board's 1 s tick has drawn `table`'s waiting time as `text` (so it ran at the clock's time). */
  const ticked = (page, table, text) => page.waitForFunction(([sel, text]) => document.querySelector(sel)?.textContent === text,
    [`.tile[data-table="${table}"] .wait`, text], { timeout: MARGIN })

  /** Counts tones in window.tones: a real oscillator start is what makes the speaker beep. */
  const countTones = (page) => page.addInitScript(() => {
    const start = AudioScheduledSourceNode.prototype.start
    window.tones = 0
    OscillatorNode.prototype.start = function (...args) {
      window.tones += 1
      return start.apply(this, args)
    }
  })

  const tile = (page, table) => page.locator(`.tile[data-table="${table}"]`)
  const waitTile = (page, table, state, timeout = MARGIN) =>
    page.waitForSelector(`.tile[data-table="${table}"][data-state="${state}"]`, { timeout })
  /**
   * A device's press, per the contract: on an idle table a new call, its retained state (with the
   * press time when known), then the event; on a calling table the event only (it joins the call).
   * Resolves with the call's id.
   */
  async function press (id, table, pressedAt = Date.now()) {
    const t = topicsOf(id)
    const key = `${id}/${table}`
    if (!openCalls.has(key)) {
      openCalls.set(key, ++lastCall)
      await tester.publishAsync(t.table(table), `calling ${lastCall}${pressedAt === null ? '' : ` ${pressedAt}`}`, { qos: 1, retain: true })
    }
    const call = openCalls.get(key)
    await tester.publishAsync(t.event, `button ${table} is pressed`, { qos: 1 })
    return call
  }
  /** Resolves with the next answer a staff screen publishes on `topic`: { payload, retain, qos, client }. */
  const answerOn = (topic) => new Promise((resolve) => broker.aedes.on('publish', function seen (packet, client) {
    if (packet.topic !== topic || !client || client.id === tester.options.clientId) return
    broker.aedes.off('publish', seen)
    resolve({ payload: String(packet.payload), retain: packet.retain, qos: packet.qos, client: client.id })
  }))

  test('answering on screen A publishes the call id, retained, on the answer topic; "answered" until the device\'s idle state clears it on every screen', async () => {
    const id = newId()
    byHand.add(id)
    const url = boardUrl([id])
    const [a, b] = [await openBoard(await newContext(), url), await openBoard(await newContext(), url)]
    assert.equal(await a.locator('.tile').count(), 12, 'one tile per configured table')
    const call = await press(id, 3)
    await Promise.all([waitTile(a, 3, 'calling'), waitTile(b, 3, 'calling')])
    assert.match(await tile(a, 3).getAttribute('aria-label'), /^Table 3, calling, waiting 00:0\d\. Tap to answer\.$/)
    assert.match(await tile(a, 3).innerText(), /Calling/, 'state is written, not only coloured')

    const answered = answerOn(topicsOf(id).answer(3))
    await tile(a, 3).click()
    const { payload, retain, qos } = await answered
    assert.deepEqual({ payload, retain, qos }, { payload: String(call), retain: true, qos: 1 })
    assert.equal(await tile(a, 3).getAttribute('data-state'), 'answered', 'at once on this screen')
    assert.match(await tile(a, 3).innerText(), /Answered, waiting for the table/)
    assert.equal(await tile(a, 3).getAttribute('aria-label'), 'Table 3, answered, waiting for the table')
    assert.equal(await a.textContent('#summary'), 'No calls')
    assert.equal(await b.getAttribute('body', 'data-mqtt'), 'subscribed')
    assert.equal(await tile(b, 3).getAttribute('data-state'), 'calling', 'other screens wait for the device')

    await tester.publishAsync(topicsOf(id).table(3), '', { qos: 1, retain: true }) // the device took the answer
    openCalls.delete(`${id}/3`)
    await Promise.all([waitTile(a, 3, 'idle'), waitTile(b, 3, 'idle')])
    const c = await openBoard(await newContext(), url)
    await press(id, 5)
    await waitTile(c, 5, 'calling')
    assert.equal(await tile(c, 3).getAttribute('data-state'), 'idle', 'nothing retained for table 3')
  })

  for (const locks of [true, false]) {
    test(`two tabs of one browser keep their own sessions, also across a reload (${locks ? 'Web Locks' : 'http:// on the LAN: no Web Locks'})`, async () => {
      const id = newId()
      const context = await newContext()
      // Outside a secure context the browser has no navigator.locks.
      if (!locks) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }))
      const ids = []
      const seen = (client) => ids.push(client.id)
      broker.aedes.on('client', seen)
      try {
        const [a, b] = [await openBoard(context, boardUrl([id])), await openBoard(context, boardUrl([id]))]
        await press(id, 9)
        await Promise.all([waitTile(a, 9, 'calling'), waitTile(b, 9, 'calling')])
        assert.equal(new Set(ids).size, 2, `client ids: ${ids.join(', ')}`)
        assert.equal(await a.getAttribute('body', 'data-mqtt'), 'subscribed')
        await b.reload()
        await subscribed(b)
        assert.equal(new Set(ids).size, 2, `a reload keeps the id: ${ids.join(', ')}`)
      } finally {
        broker.aedes.off('client', seen)
      }
    })
  }

  /**
   * Starts timing, in the page, from its next connection to the broker (data-mqtt "connected") until `selector`
   * first matches; resolves to a function that reads the milliseconds. The page's own clock: what the page
   * does once the broker is back, not how long a loaded machine takes to run this test and Playwright's polling
   * (seen as 1,021 ms from outside on a busy 2-core machine).
   */
  async function fromConnected (page, selector) {
    await page.evaluate((selector) => {
      const times = globalThis.fromConnected = {}
      new MutationObserver(() => {
        times.connected ??= /^(connected|subscribed)$/.test(document.body.dataset.mqtt) ? performance.now() : undefined
        if (times.connected !== undefined && document.querySelector(selector)) times.shown ??= performance.now()
      }).observe(document.body, { attributes: true, subtree: true })
    }, selector)
    return () => page.evaluate(() => Math.round(globalThis.fromConnected.shown - globalThis.fromConnected.connected))
  }

  test('a screen disconnected during a press shows it on reconnecting, timed from the press; a reload keeps all calls', async () => {
    const id = newId()
    const link = await relay(broker.wsPort)
    try {
      const page = await openBoard(await newContext(), boardUrl([id], '', link.url))
      link.cut()
      await page.waitForSelector('body[data-mqtt="disconnected"]', { state: 'attached', timeout: MARGIN })
      // A minute ago: the wait shows 01:xx from the press time, 00:xx from when the screen saw it, however slow this runs.
      const pressedAt = Date.now() - 60_000
      await press(id, 4, pressedAt)
      await press(id, 6, null) // a device without a real clock
      const shown = await fromConnected(page, '.tile[data-table="4"][data-state="calling"]')
      link.resume()
      await waitTile(page, 4, 'calling')
      // Drawn as the session delivers it, right after the connection is back: no timer in between (the board's
      // timers are its 1 s tick and a 30 s settle). Seconds of margin, for a renderer sharing a loaded machine.
      const shownAfter = await shown()
      console.log(`# call shown ${shownAfter} ms after the screen reconnected`)
      assert.ok(shownAfter < 3000, `shown ${shownAfter} ms after reconnecting`)
      assert.match(await tile(page, 4).locator('.wait').innerText(), /^01:\d\d$/, 'from the press time')
      await waitTile(page, 6, 'calling')
      assert.match(await tile(page, 6).locator('.wait').innerText(), /^00:\d\d$/)
      assert.equal(await tile(page, 6).locator('.at-least').innerText(), 'AT LEAST')
      assert.equal(await tile(page, 4).locator('.at-least').isHidden(), true, 'a press time from the device is exact')
      assert.match(await tile(page, 6).getAttribute('aria-label'), /waiting at least 00:\d\d/)

      await page.reload()
      await subscribed(page)
      await waitTile(page, 4, 'calling')
      await waitTile(page, 6, 'calling')
      assert.match(await tile(page, 4).locator('.wait').innerText(), /^01:\d\d$/)
      assert.deepEqual(await page.locator('.tile[data-state="calling"]').evaluateAll((els) => els.map((e) => e.dataset.table)), ['4', '6'])

      // Answered on another screen while this one is away: nothing is retained for table 4 any more,
      // so only the session can tell this screen.
      link.cut()
      await page.waitForSelector('body[data-mqtt="disconnected"]', { state: 'attached', timeout: MARGIN })
      await tester.publishAsync(topicsOf(id).table(4), '', { qos: 1, retain: true })
      const cleared = await fromConnected(page, '.tile[data-table="4"][data-state="idle"]')
      link.resume()
      await waitTile(page, 4, 'idle')
      const clearedAfter = await cleared()
      assert.ok(clearedAfter < 3000, `answer shown ${clearedAfter} ms after reconnecting`)
      assert.equal(await tile(page, 6).getAttribute('data-state'), 'calling')
    } finally {
      await link.close()
    }
  })

  test('issue 17, scenario 1: a screen without the broker refuses a tap with the reason and sends nothing later; an answer in flight carries its call id, so it cannot end a newer call', async () => {
    const id = newId()
    const link = await relay(broker.wsPort)
    try {
      const a = await openBoard(await newContext(), boardUrl([id], '', link.url))
      const b = await openBoard(await newContext(), boardUrl([id]))
      const first = await press(id, 3)
      await Promise.all([waitTile(a, 3, 'calling'), waitTile(b, 3, 'calling')])
      const idA = await a.evaluate(() => JSON.parse(localStorage.getItem('tablecall.board.client'))) // its own context: slot 0
      const fromA = [] // every answer screen A's session publishes
      const record = (packet, client) => client?.id === idA && packet.topic.endsWith('/answer') && fromA.push(String(packet.payload))
      broker.aedes.on('publish', record)

      // A loses the broker (red banner), staff tap table 3 anyway.
      link.cut()
      await a.waitForSelector('body[data-mqtt="disconnected"]', { state: 'attached', timeout: MARGIN })
      await tile(a, 3).click()
      assert.match(await a.locator('#banner').innerText(), /^Table 3 was NOT answered: this screen has no connection to the broker\./)
      assert.equal(await tile(a, 3).getAttribute('data-state'), 'calling', 'still calling on the screen that could not answer')
      // Screen B answers, the device ends the call, the guest presses again: a new call.
      await tile(b, 3).click()
      await waitTile(b, 3, 'idle')
      const second = await press(id, 3)
      await waitTile(b, 3, 'calling')
      const back = link.resume()
      await back
      await subscribed(a)
      await waitTile(a, 3, 'calling')
      await new Promise((resolve) => setTimeout(resolve, 2000)) // room for a queued answer to arrive
      assert.equal(openCalls.get(`${id}/3`), second, 'the new call is still open at the device')
      assert.equal(await tile(b, 3).getAttribute('data-state'), 'calling')
      assert.equal(await tile(a, 3).getAttribute('data-state'), 'calling')
      broker.aedes.off('publish', record)
      assert.deepEqual(fromA, [], 'screen A queued no answer')

      // A link gone silent that A still counts as up: its tap goes out late, with the call id A saw.
      const answers = []
      const all = (packet, client) => client && client.id !== tester.options.clientId && packet.topic === topicsOf(id).answer(3) && answers.push(String(packet.payload))
      broker.aedes.on('publish', all)
      link.hold()
      await tile(a, 3).click()
      assert.equal(await tile(a, 3).getAttribute('data-state'), 'answered')
      await tile(b, 3).click()
      await waitTile(b, 3, 'idle')
      const third = await press(id, 3)
      await waitTile(b, 3, 'calling')
      link.release()
      await waitTile(a, 3, 'calling') // the newer call id replaces the answered one
      await waitUntil(() => answers.length === 2, 'both answers at the broker')
      broker.aedes.off('publish', all)
      assert.deepEqual(answers, [String(second), String(second)], `screen B's answer, then screen A's late one (first call ${first})`)
      assert.equal(openCalls.get(`${id}/3`), third, 'the late answer names an older call: the device ignores it')
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.equal(await tile(b, 3).getAttribute('data-state'), 'calling')
      assert.equal(await tile(a, 3).getAttribute('data-state'), 'calling')
    } finally {
      await link.close()
    }
  })

  test('a screen back with its session sends no answer again: another screen answered a newer call meanwhile, whose retained answer an older one would replace', async () => {
    const id = newId()
    const t = topicsOf(id)
    byHand.add(id) // the test plays the device: it ends the calls
    const end = () => {
      openCalls.delete(`${id}/2`)
      return tester.publishAsync(t.table(2), '', { qos: 1, retain: true })
    }
    const link = await relay(broker.wsPort)
    try {
      const a = await openBoard(await newContext(), boardUrl([id], '', link.url))
      const b = await openBoard(await newContext(), boardUrl([id]))
      const first = await press(id, 2)
      await Promise.all([waitTile(a, 2, 'calling'), waitTile(b, 2, 'calling')])
      const fromA = answerOn(t.answer(2))
      await tile(a, 2).click()
      assert.equal((await fromA).payload, String(first))
      // A loses the broker with the call shown answered; the device takes the answer, the guest calls
      // again, and screen B answers the new call.
      link.cut()
      await a.waitForSelector('body[data-mqtt="disconnected"]', { state: 'attached', timeout: MARGIN })
      await end()
      const second = await press(id, 2)
      await waitTile(b, 2, 'calling')
      const fromB = answerOn(t.answer(2))
      await tile(b, 2).click()
      assert.equal((await fromB).payload, String(second))
      await end()
      await waitTile(b, 2, 'idle')
      const idA = await a.evaluate(() => JSON.parse(localStorage.getItem('tablecall.board.client')))
      const sent = []
      const record = (packet, client) => client?.id === idA && packet.topic.endsWith('/answer') && sent.push(String(packet.payload))
      broker.aedes.on('publish', record)
      await link.resume()
      await subscribed(a)
      await waitTile(a, 2, 'idle')
      await new Promise((resolve) => setTimeout(resolve, 2000)) // room for an answer to go out
      broker.aedes.off('publish', record)
      assert.deepEqual(sent, [], 'screen A sent no answer again')
      const late = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
      const retained = nextMessage(late, t.answer(2), MARGIN)
      await late.subscribeAsync(t.answer(2), { qos: 1 })
      assert.equal((await retained).payload, String(second), 'the broker keeps the newer answer')
      await late.endAsync(true)
    } finally {
      byHand.delete(id)
      await link.close()
    }
  })

  test('issue 17, scenario 4: a first-seen time kept on the screen belongs to its call: a call ended while the screen was closed lends nothing to the next one', async () => {
    const id = newId()
    const context = await newContext()
    const page = await openBoard(context, boardUrl([id]))
    const call = await press(id, 2, null) // a device without a real clock: the screen times it
    await waitTile(page, 2, 'calling')
    await page.waitForFunction(() => Object.keys(JSON.parse(localStorage.getItem('tablecall.board.seen') ?? '{}')).length === 1, null, { timeout: MARGIN })
    await page.close()
    // Answered on another screen while this one is closed; the device ends the call.
    await tester.publishAsync(topicsOf(id).answer(2), String(call), { qos: 1, retain: true })
    await waitUntil(() => !openCalls.has(`${id}/2`), 'the device to end the call')
    // Hours later: the kept times are three hours old.
    await context.addInitScript(() => {
      const seen = JSON.parse(localStorage.getItem('tablecall.board.seen') ?? '{}')
      for (const key of Object.keys(seen)) seen[key] -= 3 * 3_600_000
      localStorage.setItem('tablecall.board.seen', JSON.stringify(seen))
    })
    const again = await openBoard(context, boardUrl([id]))
    await press(id, 2, null)
    await waitTile(again, 2, 'calling')
    assert.match(await tile(again, 2).locator('.wait').innerText(), /^00:0\d$/, 'its own wait')
    assert.equal(await tile(again, 2).getAttribute('data-overdue'), 'false')
    assert.equal(await again.locator('.tile[data-marker="longest"]').count(), 0)
  })

  test('issue 17, scenario 6: a reloaded screen never opens a call from a resent event of a device whose status is `online 2`', async () => {
    const id = newId()
    await tester.publishAsync(topicsOf(id).status, 'online 2', { qos: 1, retain: true })
    const link = await relay(broker.wsPort)
    try {
      const page = await openBoard(await newContext(), boardUrl([id], '', link.url))
      await page.waitForSelector(`.dev[data-device="${id}"][data-status="online"]`, { state: 'attached', timeout: MARGIN })
      await press(id, 3)
      await waitTile(page, 3, 'calling')
      await tile(page, 3).click()
      await waitTile(page, 3, 'idle')
      link.cut()
      await page.waitForSelector('body[data-mqtt="disconnected"]', { state: 'attached', timeout: MARGIN })
      // The device resends the answered call's event (its PUBACK was lost): the screen's session keeps it.
      await tester.publishAsync(topicsOf(id).event, 'button 3 is pressed', { qos: 1 })
      const delivered = new Promise((resolve) => broker.aedes.on('ack', function acked (packet, client) {
        if (packet?.topic !== topicsOf(id).event || client?.id === tester.options.clientId) return
        broker.aedes.off('ack', acked)
        resolve()
      }))
      await page.reload()
      await page.waitForSelector('.tile[data-table="3"]', { timeout: MARGIN })
      link.resume()
      await subscribed(page)
      await delivered // the reloaded screen got the resent event
      await new Promise((resolve) => setTimeout(resolve, 1000))
      assert.equal(await tile(page, 3).getAttribute('data-state'), 'idle')
      assert.equal(await page.textContent('#summary'), 'No calls')
    } finally {
      await link.close()
    }
  })

  test('three tables calling at once: "newest" on the latest press, "longest" on the earliest', async () => {
    const id = newId()
    const page = await openBoard(await newContext(), boardUrl([id]))
    const t0 = Date.now() - 10_000
    await Promise.all([press(id, 5, t0), press(id, 2, t0 + 2000), press(id, 7, t0 + 1000)])
    for (const t of [5, 2, 7]) await waitTile(page, t, 'calling')
    await page.waitForSelector('.tile[data-marker="newest"]', { timeout: MARGIN })
    assert.equal(await page.locator('.tile[data-marker="newest"]').getAttribute('data-table'), '2')
    assert.equal(await page.locator('.tile[data-marker="longest"]').getAttribute('data-table'), '5')
    assert.match(await tile(page, 2).innerText(), /NEWEST/i)
    assert.match(await tile(page, 5).innerText(), /LONGEST WAIT/i)
    assert.match(await page.textContent('#summary'), /^3 calling · longest: table 5 \(00:1\d\)$/)
  })

  test('hostile input: a stranger\'s retained event, unknown tables, HTML, and a 3,000-call flood', async () => {
    const id = newId()
    const t = topicsOf(id)
    await tester.publishAsync(t.event, 'button 1 is pressed', { qos: 1, retain: true })
    const page = await openBoard(await newContext(), boardUrl([id]))
    await tester.publishAsync(t.event, '<img src=x onerror="window.pwned=1">', { qos: 1 })
    await tester.publishAsync(t.table(2), '<b>calling</b>', { qos: 1, retain: true })
    await tester.publishAsync(t.event, 'button 77 is pressed', { qos: 1 })
    await press(id, 3)
    await waitTile(page, 3, 'calling')
    assert.equal(await tile(page, 1).getAttribute('data-state'), 'idle', 'a retained event is not a call')
    assert.equal(await tile(page, 2).getAttribute('data-state'), 'idle')
    assert.equal(await page.locator('.tile[data-table="77"]').count(), 0, 'no tile for a table not on the board')
    assert.equal(await page.locator('img').count(), 0)
    assert.equal(await page.getAttribute('#ignored', 'data-unknown-tables'), '1')
    assert.equal(await page.getAttribute('#ignored', 'data-invalid'), '3')
    await tester.publishAsync(t.event, '', { qos: 1, retain: true }) // drop the stranger's retained event

    // What the page does with a flood, not what a loaded machine does to this test (whose own 3,000 publishes
    // took 11-17 s there): the page's longest main-thread task, from the page's own Long Tasks API (a task
    // of over 1 s is a screen that froze for staff), and the drain timed from when the broker had the last
    // message (its PUBACK), with seconds of margin for a renderer sharing a busy machine.
    await page.evaluate(() => {
      globalThis.longestTask = 0
      new PerformanceObserver((list) => {
        for (const task of list.getEntries()) globalThis.longestTask = Math.max(globalThis.longestTask, task.duration)
      }).observe({ type: 'longtask' })
    })
    const tables = Array.from({ length: 3000 }, () => 1 + Math.floor(Math.random() * 9999))
    const unknown = tables.filter((n) => n > 12).length
    const start = Date.now()
    await Promise.all(tables.map((n) => tester.publishAsync(t.event, `button ${n} is pressed`, { qos: 1 })))
    const sent = Date.now()
    await page.waitForFunction((n) => document.querySelector('#ignored').dataset.unknownTables === n, String(1 + unknown), { timeout: 3 * MARGIN })
    const drained = Date.now() - sent
    const longest = Math.round(await page.evaluate(() => globalThis.longestTask))
    console.log(`# flood: 3000 calls for random tables published in ${sent - start} ms, drained ${drained} ms after the last; the page's longest task ${longest} ms`)
    assert.ok(drained < 10_000, `drained ${drained} ms after the last was sent`)
    assert.ok(longest < 1000, `the page froze for ${longest} ms`)
    assert.equal(await page.locator('.tile').count(), 12)
  })

  test('several devices: each one\'s status and battery (percentage, volts on hover, low, critical); a table on two devices is flagged', async () => {
    const [d1, d2, d3] = [newId(), newId(), newId()].sort()
    const volts = { [d1]: '3.87', [d2]: '3.40', [d3]: '3.20' }
    for (const id of [d1, d2, d3]) {
      await tester.publishAsync(topicsOf(id).status, 'online 2', { qos: 1, retain: true })
      await tester.publishAsync(topicsOf(id).battery, volts[id], { qos: 1, retain: true })
    }
    await tester.publishAsync(topicsOf(d3).status, 'offline 2', { qos: 1, retain: true })
    const page = await openBoard(await newContext(), boardUrl([d1, d2, d3]))
    const chip = (id) => page.locator(`.dev[data-device="${id}"]`)
    await page.waitForSelector(`.dev[data-device="${d3}"][data-battery]`, { timeout: MARGIN })
    await page.waitForSelector(`.dev[data-device="${d1}"][data-battery]`, { timeout: MARGIN })
    assert.equal((await chip(d1).innerText()).split('\n')[0], `Buttons ${d1}: ✓ online · battery 64%`)
    assert.equal(await chip(d1).getAttribute('title'), '3.87 V')
    assert.match(await chip(d1).textContent(), /\(3\.87 volts\)/, 'the voltage for screen readers')
    const voltsWidth = async () => (await chip(d1).locator('.volts').boundingBox()).width
    assert.ok(await voltsWidth() <= 1, 'hidden on screen until asked')
    await chip(d1).click() // a touch screen has no hover
    assert.ok(await voltsWidth() > 20, 'a tap shows the voltage')
    await page.waitForSelector(`.dev[data-device="${d2}"][data-battery="low"]`, { timeout: MARGIN })
    assert.match(await chip(d2).innerText(), /battery 13% — battery low, charge today\n/)
    assert.equal(await chip(d3).getAttribute('data-battery'), 'critical')
    assert.match(await chip(d3).innerText(), /✕ OFFLINE: check power and WiFi · battery 5% — charge now\n/)
    await tester.publishAsync(topicsOf(d2).battery, '4.60', { qos: 1, retain: true }) // out of range: ignored
    await tester.publishAsync(topicsOf(d2).battery, '4.10', { qos: 1, retain: true })
    await page.waitForSelector(`.dev[data-device="${d2}"][data-battery="ok"]`, { timeout: MARGIN })

    await press(d1, 8)
    await waitTile(page, 8, 'calling')
    assert.equal(await tile(page, 8).locator('.conflict').isHidden(), true)
    await press(d2, 8)
    await page.waitForFunction((sel) => document.querySelector(sel).textContent !== '', '.tile[data-table="8"] .conflict', { timeout: MARGIN })
    assert.equal(await tile(page, 8).locator('.conflict').innerText(), `⚠ on 2 devices: ${[d1, d2].sort().join(', ')}`)
  })

  test('reminder: unanswered for 2 minutes the tile turns overdue and the sound repeats once per interval, until answered', async () => {
    const id = newId()
    const context = await newContext()
    const clock = await wallClock(context, NOW)
    const page = await context.newPage()
    watch(page)
    await countTones(page)
    await page.goto(boardUrl([id]))
    await subscribed(page)
    await page.click('#sound')
    await page.waitForFunction(() => window.tones === 2, null, { timeout: MARGIN }) // the test beep
    await press(id, 1, NOW)
    await waitTile(page, 1, 'calling')
    await page.waitForFunction(() => window.tones === 4, null, { timeout: MARGIN }) // the new call
    /** Moves the page's clock to NOW + ms and waits for a tick at that time (table 1's waiting time shows it). */
    const at = async (ms) => {
      await clock.set(page, NOW + ms)
      await ticked(page, 1, formatWait(ms))
    }
    await at(110_000)
    assert.equal(await tile(page, 1).getAttribute('data-overdue'), 'false')
    assert.equal(await page.evaluate(() => window.tones), 4)
    await at(130_000)
    assert.equal(await tile(page, 1).getAttribute('data-overdue'), 'true')
    assert.equal(await tile(page, 1).locator('.state-text').innerText(), 'Still waiting')
    assert.equal(await page.evaluate(() => window.tones), 6, 'one reminder at 2 minutes')
    await at(230_000)
    assert.equal(await page.evaluate(() => window.tones), 6)
    await at(250_000)
    assert.equal(await page.evaluate(() => window.tones), 8, 'and again at 4 minutes')
    assert.equal(await page.textContent('#live'), 'Still waiting: table 1')
    await tile(page, 1).click()
    // Table 2, pressed now, shows that the ticks go on: 4 minutes later only its own reminder sounds.
    await press(id, 2, NOW + 250_000)
    await page.waitForFunction(() => window.tones === 10, null, { timeout: MARGIN }) // its new call
    await clock.set(page, NOW + 490_000)
    await ticked(page, 2, '04:00')
    assert.equal(await page.evaluate(() => window.tones), 12)
    assert.equal(await page.textContent('#live'), 'Still waiting: table 2', 'table 1 is silent once answered')
  })

  test('sound: one tap enables a WebAudio beep for new calls; without it the button asks for a tap', async () => {
    const id = newId()
    const page = await (await newContext()).newPage()
    watch(page)
    await countTones(page)
    await page.goto(boardUrl([id]))
    await subscribed(page)
    const sound = page.locator('#sound')
    await press(id, 1)
    await waitTile(page, 1, 'calling')
    assert.equal(await page.evaluate(() => window.tones), 0, 'no sound before the tap (autoplay rules)')
    assert.match(await sound.getAttribute('class'), /nudge/)
    assert.match(await page.textContent('#live'), /Table 1 is calling/)
    await sound.click()
    await page.waitForSelector('#sound[aria-pressed="true"]', { timeout: MARGIN })
    assert.equal(await page.evaluate(() => window.tones), 2, 'a test beep on enabling')
    await press(id, 4)
    await page.waitForFunction(() => window.tones === 4, null, { timeout: MARGIN })
    await press(id, 4) // repeated press of a calling table: no new alert
    await press(id, 2)
    await page.waitForFunction(() => window.tones === 6, null, { timeout: MARGIN })
    assert.equal(await page.evaluate(() => window.tones), 6)
  })

  test('settings: fields checked with the fix, login kept on the screen and never in the URL, board server defaults prefilled', async () => {
    const served = await serveStatic(outDir, { port: 0, defaults: { broker: broker.wsUrl, devices: '+', username: 'staff' } })
    try {
      const page = await (await newContext()).newPage()
      watch(page)
      await page.goto(site.url) // a static host: no defaults
      await page.waitForSelector('#settings[open]', { timeout: MARGIN })
      assert.equal(await page.inputValue('#f-broker'), DEFAULT_BROKER)
      assert.match(await page.textContent('#e-devices'), /^Devices: enter the id/)
      await page.fill('#f-devices', '+')
      await page.fill('#f-tables', '0')
      await page.click('#settings-form [type=submit]')
      assert.match(await page.textContent('#e-devices'), /strangers' devices on the public broker/)
      assert.match(await page.textContent('#e-tables'), /^Tables:/)

      const id = newId()
      await page.fill('#f-broker', broker.wsUrl)
      await page.fill('#f-devices', id)
      await page.fill('#f-tables', '1-6')
      await page.fill('#f-username', 'anna')
      await page.fill('#f-password', 's3cret')
      await page.click('#settings-form [type=submit]')
      await subscribed(page)
      assert.equal(await page.locator('.tile').count(), 6)
      assert.doesNotMatch(page.url(), /s3cret|anna/)
      assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem('tablecall.board.login'))), { broker: broker.wsUrl, username: 'anna', password: 's3cret' })
      await page.reload() // remembered
      await subscribed(page)
      await press(id, 2)
      await waitTile(page, 2, 'calling')

      const lan = await (await newContext()).newPage()
      watch(lan)
      await lan.goto(served.url) // the board server with --broker-dir: connects to the local broker at once
      await subscribed(lan)
      await waitTile(lan, 2, 'calling') // + on a private broker: every device
      await lan.click('#settings-open')
      assert.equal(await lan.inputValue('#f-broker'), broker.wsUrl)
      assert.equal(await lan.inputValue('#f-devices'), '+')
      assert.equal(await lan.inputValue('#f-username'), 'staff')
    } finally {
      await served.close()
    }
  })

  test('a saved login is bound to its broker: a link naming another broker shows its host, asks, and never gets the login', async () => {
    // Both brokers accept anyone and record each CONNECT's login.
    const record = (aedes, logins) => {
      aedes.authenticate = (client, username, password, done) => {
        logins.push({ username, password: password === undefined ? undefined : String(password) })
        done(null, true)
      }
    }
    const stranger = await startBroker({ port: 0, host: '127.0.0.1', ws: true })
    const [ours, theirs] = [[], []]
    const open = broker.aedes.authenticate
    record(broker.aedes, ours)
    record(stranger.aedes, theirs)
    try {
      const id = newId()
      const page = await (await newContext()).newPage()
      watch(page)
      await page.goto(boardUrl([id])) // a new screen: its first link sets it up at once
      await subscribed(page)
      await page.click('#settings-open')
      await page.fill('#f-username', 'staff')
      await page.fill('#f-password', 's3cret')
      await page.click('#settings-form [type=submit]')
      await subscribed(page)
      assert.deepEqual(ours.at(-1), { username: 'staff', password: 's3cret' })
      await page.click('#settings-open') // typing another broker empties the saved password
      assert.equal(await page.inputValue('#f-password'), 's3cret')
      await page.fill('#f-broker', stranger.wsUrl)
      assert.equal(await page.inputValue('#f-password'), '')
      await page.click('#settings-cancel')
      // A login saved before logins named their broker: bound to the broker this screen uses.
      await page.evaluate(() => localStorage.setItem('tablecall.board.login', JSON.stringify({ username: 'staff', password: 's3cret' })))
      await page.reload()
      await subscribed(page)
      assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem('tablecall.board.login'))), { broker: broker.wsUrl, username: 'staff', password: 's3cret' })
      assert.deepEqual(ours.at(-1), { username: 'staff', password: 's3cret' })

      const link = boardUrl([id], '', stranger.wsUrl)
      const host = new URL(stranger.wsUrl).host
      for (const choice of ['cancel', 'save']) {
        await page.goto(link)
        // Whichever comes first: the question, or a connection to the other broker (the leak).
        await Promise.race([page.waitForSelector('body[data-mqtt="confirm"]', { state: 'attached', timeout: MARGIN }),
          waitUntil(() => theirs.length, 'a connection to the other broker')])
        assert.deepEqual(theirs, [], 'nothing connects before staff decide')
        await page.waitForSelector('#settings[open]', { timeout: MARGIN })
        assert.match(await page.locator('#banner').innerText(), new RegExp(`another broker: ${host}\\.`))
        assert.match(await page.textContent('#e-broker'), new RegExp(`another broker: ${host}\\. Save and connect only if it is your restaurant's; the login saved on this screen is not sent to it\\.$`))
        assert.equal(await page.inputValue('#f-broker'), stranger.wsUrl)
        assert.equal(await page.inputValue('#f-password'), '')
        if (choice === 'cancel') {
          const before = ours.length
          await page.click('#settings-cancel') // stays on its own broker, with its login; the link is forgotten
          await subscribed(page)
          assert.deepEqual(ours.slice(before), [{ username: 'staff', password: 's3cret' }])
          assert.equal(page.url(), site.url)
        }
      }
      await page.click('#settings-form [type=submit]') // staff confirm the other broker
      await subscribed(page)
      assert.deepEqual(theirs, [{ username: undefined, password: undefined }], 'connected there without the saved login')
    } finally {
      broker.aedes.authenticate = open
      await stranger.close()
    }
  })

  test('a broker with logins: a refused login opens Settings and says so; the right one connects', async () => {
    const aedes = broker.aedes
    const open = aedes.authenticate
    const ids = []
    aedes.authenticate = (client, username, password, done) => {
      ids.push(client.id)
      const ok = username === 'staff' && String(password) === 'pw'
      done(ok ? null : Object.assign(new Error('refused'), { returnCode: 4 }), ok)
    }
    try {
      const id = newId()
      const page = await (await newContext()).newPage()
      watch(page)
      await page.goto(boardUrl([id]))
      await page.waitForSelector('body[data-mqtt="refused"]', { state: 'attached', timeout: MARGIN })
      assert.match(await page.locator('#banner').innerText(), /refused the login: enter the username and password in Settings/)
      await page.waitForSelector('#settings[open]', { timeout: MARGIN })
      await page.fill('#f-username', 'staff')
      await page.fill('#f-password', 'pw')
      await page.click('#settings-form [type=submit]')
      await subscribed(page)
      await press(id, 2)
      await waitTile(page, 2, 'calling')
      assert.equal(new Set(ids).size, 1, `one session per screen across a settings change: ${ids.join(', ')}`)
    } finally {
      aedes.authenticate = open
    }
  })

  test('with the real firmware: its status and battery, a press with its press time; answering on the board turns the table\'s light off and the device\'s idle state the tile', async () => {
    const battery = { pin: 'D35', divider: 2, scale: 1 }
    const fw = await firmware({ board: 'esp32', battery, buttons: [1, 2, 3, 4].map((n) => ({ pin: `D${15 + n}`, table: n, led: `D${11 + n}` })) })
    const serial = `b0a2d${randomBytes(6).toString('hex')}`.slice(0, 16)
    const device = boot({ code: fw.code, port: broker.port, serial, board: 'ESP32' })
    try {
      device.setAnalog(battery.pin, 3.4 / (3.3 * battery.divider)) // a cell at 3.40 V
      device.wifi?.setNetworkTime?.(Date.now()) // the SNTP servers' answer: the real time
      const page = await openBoard(await newContext(), boardUrl([deviceId(serial)]))
      await logged(device, connected)
      await page.waitForSelector(`.dev[data-device="${deviceId(serial)}"][data-status="online"]`, { timeout: MARGIN })
      await page.waitForSelector(`.dev[data-device="${deviceId(serial)}"][data-battery="low"]`, { timeout: MARGIN })
      assert.match(await page.locator('.dev').innerText(), /battery 13% — battery low, charge today/)
      await tap(device, 'D18')
      await waitTile(page, 3, 'calling')
      assert.match(await tile(page, 3).locator('.wait').innerText(), /^00:0\d$/, 'timed from the device\'s press time')
      await until(device, () => device.output('D14') === 1, { what: 'light of table 3 on' })
      await tile(page, 3).click() // the answer: the call's id on the answer topic
      await until(device, () => device.output('D14') === 0, { what: 'light of table 3 off after the answer' })
      await waitTile(page, 3, 'idle') // the device's idle state
    } finally {
      device.stop()
    }
  })

  for (const tls of [false, true]) {
    test(`the restaurant's own broker${tls ? ' with --tls (wss)' : ''} (npm run broker -- init, start) and npm run board --broker-dir: prefilled, staff log in, + shows every device, the answer reaches the device`,
      { skip: skipWithout('mosquitto') }, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tablecall-board-broker-'))
        const r = init({ dir: join(dir, 'broker'), devices: 2, host: '127.0.0.1', bind: '127.0.0.1', tls, mqttPort: await freePort(), wsPort: await freePort(), configPath: 'espruino.config.json' })
        const clients = []
        let mosquitto, served
        try {
          mosquitto = await supervise(spawnBroker(r.dir), { ports: [r.mqttPort, r.wsPort] })
          served = await serveStatic(outDir, { port: 0, defaults: brokerDefaults(r.dir) })
          // A tablet that trusts the broker's CA (ca.pem installed); Chromium here: certificate errors ignored.
          const page = await (await newContext({ ignoreHTTPSErrors: tls })).newPage()
          watch(page)
          await page.goto(served.url)
          // No password yet: the broker refuses, the page asks for it with the rest filled in.
          await page.waitForSelector('body[data-mqtt="refused"]', { state: 'attached', timeout: MARGIN })
          assert.equal(await page.inputValue('#f-broker'), `${tls ? 'wss' : 'ws'}://127.0.0.1:${r.wsPort}`)
          assert.equal(await page.inputValue('#f-devices'), '+')
          assert.equal(await page.inputValue('#f-username'), 'staff')
          await page.fill('#f-password', JSON.parse(readFileSync(join(r.dir, 'staff.json'), 'utf8')).password)
          await page.click('#settings-form [type=submit]')
          await subscribed(page)

          const devices = await Promise.all(r.devices.map(({ id, password }) =>
            mqtt.connectAsync(`${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${r.mqttPort}`, { username: id, password, reconnectPeriod: 0, ...(tls && { ca: readFileSync(join(r.dir, 'ca.pem')) }) })))
          clients.push(...devices)
          const [one, two] = r.devices.map((d) => topicsOf(d.id))
          await devices[0].subscribeAsync(one.answer('+'), { qos: 1 }) // as the firmware does, to see answers
          await devices[0].publishAsync(one.battery, '3.87', { qos: 1, retain: true })
          await devices[0].publishAsync(one.table(3), `calling 17 ${Date.now() - 5000}`, { qos: 1, retain: true })
          await devices[1].publishAsync(two.table(4), 'calling 1', { qos: 1, retain: true })
          await waitTile(page, 3, 'calling')
          await waitTile(page, 4, 'calling')
          await page.waitForSelector(`.dev[data-device="${r.devices[0].id}"][data-battery="ok"]`, { timeout: MARGIN })
          const answered = nextMessage(devices[0], one.answer(3), MARGIN)
          await tile(page, 3).click()
          const { payload, packet } = await answered
          assert.equal(payload, '17', 'the device gets the call id (the staff user may write answer topics)')
          assert.equal(packet.qos, 1)
          await devices[0].publishAsync(one.table(3), '', { qos: 1, retain: true }) // the device's own idle state
          await waitTile(page, 3, 'idle')
        } finally {
          for (const c of clients) await c.endAsync(true)
          await served?.close()
          await mosquitto?.stop()
          rmSync(dir, { recursive: true, force: true })
        }
      })
  }

  test('broker gone: a clear banner; broker back: automatic reconnect clears it and calls arrive again', async () => {
    const id = newId()
    const page = await openBoard(await newContext(), boardUrl([id]))
    const banner = page.locator('#banner')
    assert.equal(await banner.isHidden(), true)
    await broker.stop()
    await page.waitForSelector('body[data-mqtt="disconnected"]', { state: 'attached', timeout: MARGIN })
    assert.match(await banner.innerText(), /^No connection to the broker .*Reconnecting/)
    assert.equal(await banner.getAttribute('role'), 'alert')
    await broker.start()
    await subscribed(page)
    assert.equal(await banner.isHidden(), true)
    await tester.reconnect()
    await new Promise((resolve) => tester.once('connect', resolve))
    // The restarted broker forgot every subscription and session: the board must have subscribed again.
    await press(id, 4)
    await waitTile(page, 4, 'calling')
  })

  test('waiting times, markers, batteries; layouts; screenshot', async () => {
    const [d1, d2] = ['1a2b3c4d', '5e6f7a8b'] // fixed, for a stable picture; no other test uses them
    const at = Date.UTC(2025, 5, 1, 19, 30)
    for (const [id, v] of [[d1, '3.91'], [d2, '3.44']]) {
      await tester.publishAsync(topicsOf(id).status, 'online 2', { qos: 1, retain: true })
      await tester.publishAsync(topicsOf(id).battery, v, { qos: 1, retain: true })
    }
    const context = await newContext()
    // The page's clock stands still at a fixed time (a stable picture); see wallClock for why only Date.
    const clock = await wallClock(context, at + 10_000)
    const page = await openBoard(context, boardUrl([d1, d2]).replace('tables=1-12', 'tables=1-8'))
    await page.waitForSelector(`.dev[data-device="${d2}"][data-battery="low"]`, { timeout: MARGIN })
    await press(d1, 3, at - 65_000)
    await press(d1, 3, at - 65_000) // pressed again: counted, waiting time kept
    await press(d2, 6, null) // no press time: "at least" since this screen saw it, at + 10 s
    await press(d1, 2, at - 25_000)
    await waitTile(page, 6, 'calling')
    await clock.set(page, at + 12_000)
    await ticked(page, 6, '00:02')
    assert.equal(await tile(page, 3).locator('.wait').innerText(), '01:17')
    assert.equal(await tile(page, 2).locator('.wait').innerText(), '00:37')
    assert.equal(await tile(page, 6).locator('.wait').innerText(), '00:02')
    assert.equal(await tile(page, 6).locator('.at-least').textContent(), 'at least')
    assert.match(await tile(page, 3).innerText(), /pressed 2×/)
    assert.equal(await page.title(), '(3) Table calls')

    await page.setViewportSize({ width: 1024, height: 768 })
    const boxes = async () => Promise.all([1, 2, 3, 4].map((t) => tile(page, t).boundingBox()))
    const tablet = await boxes()
    assert.ok(tablet.every((b) => b.y === tablet[0].y), 'tablet landscape: four tables in a row')
    const fontPx = async (selector) => parseFloat(await tile(page, 3).locator(selector).evaluate((el) => getComputedStyle(el).fontSize))
    assert.ok(await fontPx('.num') >= 64, 'table number readable from two metres on a tablet')
    await page.screenshot({ path: SCREENSHOT, animations: 'disabled' })

    await page.setViewportSize({ width: 390, height: 844 })
    const phone = await boxes()
    assert.ok(phone[0].y === phone[1].y && phone[2].y > phone[0].y && phone[2].y === phone[3].y, 'phone portrait: two tables per row')
    assert.ok(phone.every((b) => b.width >= 150 && b.height >= 150), 'big tap targets on a phone')
    assert.ok(await fontPx('.num') >= 56 && await fontPx('.wait') >= 28, 'big type on a phone')
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling')
    const fits = await page.locator('.wait').evaluateAll((els) => els.every((el) => el.scrollWidth <= el.parentElement.clientWidth))
    assert.ok(fits, 'waiting times fit their tiles')
  })
})
