#!/usr/bin/env node
// `npm run bench`: size, latency, burst, outage and soak of the firmware, each beside its goal or a
// reference measured in the same run; prints tables and writes bench/results.json.
//   node bench/run.mjs [--only size,latency,burst,outage,soak,answer,schedules,real]
// The real-interpreter section runs when ESPRUINO_BIN points to an Espruino binary built for Linux;
// its references (Espruino's MQTT module, tinyMQTT) when ESPRUINO_MODULES points to their sources.
// A section is { run, print } in SECTIONS; a result with `losses` (harness.mjs) gets the verdict line,
// one with `goals` a line per goal; any loss or goal NOT met, like a section that throws, makes the
// bench exit non-zero.
import os from 'node:os'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ROOT } from './harness.mjs'
import { size } from './size.mjs'
import { latency } from './latency.mjs'
import { burst } from './burst.mjs'
import { outage } from './outage.mjs'
import { soak } from './soak.mjs'
import { answer } from './answer.mjs'
import { schedules } from './schedules.mjs'
import { memory, WAYS } from './espruino.mjs'

const ms = (v, digits = 0) => v === undefined ? '-' : `${v.toFixed(digits)} ms`
const pct = v => v === undefined ? '-' : `${v}%`
const yesNo = ok => ok ? 'yes' : 'NO'

/** Labels (first column) and notes (last) left-aligned, figures between them right-aligned. */
function table (rows) {
  const columns = Math.max(...rows.map(r => r.length))
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map(r => String(r[i] ?? '').length)))
  const cell = (c, i) => i === 0 || i === columns - 1 ? String(c ?? '').padEnd(widths[i]) : String(c ?? '').padStart(widths[i])
  return rows.map(r => '  ' + widths.map((_, i) => cell(r[i], i)).join('  ').trimEnd()).join('\n')
}

const dist = (label, d, digits = 0, note = '') => [label, ms(d.p50, digits), ms(d.p99, digits), ms(d.max, digits), note]

// The same rows for every section that counts presses at the broker and at the staff subscriber.
function deliveryRows (r) {
  const b = r.atBroker
  const sub = r.atSubscriber
  return [
    ['delivered at the broker (distinct packet ids)', `${b.unique} / ${r.presses}`, pct(b.deliveredPercent)],
    ['received by the staff subscriber', `${sub.received} / ${r.presses}`, pct(sub.receivedPercent)],
    ['in press order per table (packet ids)', yesNo(!b.outOfOrder), b.outOfOrder ? `${b.outOfOrder} out of order` : ''],
    ['duplicates: DUP retransmissions / repeated ids / DUP at subscriber', `${b.dupFlag} / ${b.repeats} / ${sub.dup}`, '']
  ]
}

const deviceRows = d => [
  ['presses the device registered (its "btn:" log lines)', d.registered, ''],
  ['presses dropped by its full queue / uncaught errors', `${d.queueFull} / ${d.uncaught}`, '']
]

const SECTIONS = {
  size: {
    run: size,
    print: r => `SIZE  minified device bundle (esbuild, target device)\n${table([
      ['', 'bytes', ''],
      ['whole bundle', r.bytes, ''],
      ['  with a battery setting', r.withBatteryBytes, `+${r.withBatteryBytes - r.bytes}`],
      ['Kaluma bundle (runtime "kaluma", Pico W)', r.kalumaBytes, `${r.kalumaBytes - r.bytes >= 0 ? '+' : ''}${r.kalumaBytes - r.bytes} against the Espruino one`],
      ...Object.values(r.references).map(m => [`${m.name}.js minified the same way (reference)`, m.skipped ? '-' : m.bytes, m.skipped || 'QoS 0 only, no will, queue or WiFi handling']),
      ...Object.entries(r.modules).map(([file, n]) => [`  ${file}`, n, `${(100 * n / r.bytes).toFixed(0)}%`]),
      ['  wrapper and glue', r.wrapperBytes, '']
    ])}`
  },
  latency: {
    run: latency,
    print: r => `LATENCY  host runtime, real timers, in-process broker: ${r.presses} presses (${r.pressesPerSecond}/s, rotating tables, held ${r.holdMs} ms, bouncing 4 ms)\n${table([
      ['', 'p50', 'p99', 'max', ''],
      dist('press -> staff subscriber', r.pressToDelivery),
      dist(`  minus the debounce (${r.debounceMs} ms)`, r.minusDebounce, 0),
      dist('  contact settled + debounce -> subscriber', r.settledToDelivery, 1),
      dist('floor: MQTT.js QoS 1 publish -> subscriber', r.floor.toSubscriber, 1, 'same broker, same run'),
      dist('floor: MQTT.js QoS 1 publish -> PUBACK', r.floor.toPuback, 1),
      ['device (settled) / floor', `${r.ratio.p50}x`, `${r.ratio.p99}x`, '', ''],
      ['delivered / duplicates', `${r.delivered} / ${r.presses}`, r.duplicates, '', '']
    ])}`
  },
  burst: {
    run: burst,
    print: r => `BURST  all ${r.presses / r.perTable} tables at ${r.perSecond} presses/s each for ${r.tookS} s (debounce built as ${r.debounceMs} ms, held ${r.holdMs} ms, bouncing; see bench/README.md)\n${table([
      ...deliveryRows(r),
      ['received per table', Object.values(r.atSubscriber.byTable).join(' / '), ''],
      ...deviceRows(r.device)
    ])}`
  },
  outage: {
    run: outage,
    print: r => `OUTAGE  broker down ${r.downS} s, ${r.presses} presses during it, then back (fresh broker)\n${table([
      ...deliveryRows(r),
      ['device reconnected after the broker returned', ms(r.reconnectAfterReturnMs), ''],
      ['broker return -> last delivery at the broker', ms(r.atBroker.lastDeliveryAfterReturnMs), ''],
      ['broker return -> last delivery at the subscriber', ms(r.atSubscriber.lastDeliveryAfterReturnMs), 'clean session: resubscribes ~200 ms after'],
      ['failed connection attempts during the outage', r.failedConnects, ''],
      ...deviceRows(r.device)
    ])}`
  },
  soak: {
    run: soak,
    print: r => `SOAK  ${r.presses} presses in ${r.tookS} s, all tables at once (debounce built as ${r.debounceMs} ms, held ${r.holdMs} ms, released ${r.releaseMs} ms, no bounce)\n${table([
      ...deliveryRows(r),
      ['presses left in the device store afterwards', r.storeAfter, 'read from its reconnect line'],
      ...deviceRows(r.device),
      ['device memory', '-', r.deviceMemory]
    ])}`
  },
  answer: {
    run: answer,
    print: r => `ANSWER  a staff screen answers a calling table by its call id (retained, QoS 1, on the answer topic): ${r.answers} answers, host runtime, real timers, in-process broker\n${table([
      ['', 'p50', 'p99', 'max', ''],
      dist('staff publish -> table light off', r.toLight, 1),
      dist('staff publish -> the device\'s idle state at a subscriber', r.toIdle, 1),
      dist('floor: staff publish -> MQTT.js subscriber', r.toSubscriber, 1, 'same broker, same run'),
      ['answers missed (no light off within 5 s) / call ids not increasing', `${r.missed} / ${r.reused}`, '', '', '']
    ])}`
  },
  schedules: {
    run: schedules,
    print: r => `SCHEDULES  ${r.schedules} random schedules (${r.worlds} worlds, seeds ${r.seeds}): presses, answers from two screens, link cuts, broker kill -9 and restarts; host runtime, fake clock, in-process broker\n${table([
      ['presses / calls opened / answers sent', `${r.presses} / ${r.calls} / ${r.answers}`, ''],
      ['lost / resurrected / duplicated calls', `${r.lost} / ${r.resurrected} / ${r.duplicated}`, `goal 0 / 0 / 0: ${r.lost + r.resurrected + r.duplicated + r.other ? 'NOT met' : 'met'}`],
      ['other violations (stale screen, unsettled, crashed)', r.other, ''],
      ['took', `${r.tookS} s`, '']
    ])}`
  },
  real: {
    run: memory,
    print: printMemory
  }
}

const usage = m => m?.usage ?? '-'
const WAY_ROWS = [['tablecall', 'the firmware'], ['battery', '  with a battery setting'], ['mqttModule', "Espruino's MQTT module"], ['tinyMQTT', 'tinyMQTT'], ['prelude', 'prelude alone (in every row)']]

/** The memory table: every subject both ways side by side, the E.getSizeOf cross-check, where code blocks go. */
function printMemory (r) {
  if (r.skipped) return `REAL INTERPRETER  ${r.skipped}`
  const rows = [['', 'boot', '+4', 'soak', 'boot', '+4', 'soak', '(b) by', ''], ['', '(a)', '(a)', '(a)', '(b)', '(b)', '(b)', 'sizeOf', '']]
  for (const [key, label] of WAY_ROWS) {
    const a = r[key].uploaded
    const b = r[key].flash
    if (a.skipped || b.skipped) { rows.push([label, '', '', '', '', '', '', '', a.skipped || b.skipped]); continue }
    // (b) as the uploaded run predicts it: every function's code string down to one block.
    const predicted = a.code && a.memory.pressed && a.memory.pressed.usage - (a.code.blocks - a.code.functions)
    const presses = a.presses ? `${a.presses} / ${b.presses} presses` : ''
    const note = [presses, a.bundleBytes && `${a.bundleBytes} B bundle (sim)`, a.moduleBytes && `${a.moduleBytes} B module`, a.delivered !== undefined && `delivered ${a.delivered} / ${b.delivered}`].filter(Boolean).join(', ')
    rows.push([label, usage(a.memory.boot), usage(a.memory.pressed), usage(a.memory.soak), usage(b.memory.boot), usage(b.memory.pressed), usage(b.memory.soak), predicted ?? '-', note])
  }
  const p = r.prelude
  const own = (key, way) => r[key][way].memory?.pressed && p[way].memory?.pressed ? r[key][way].memory.pressed.usage - p[way].memory.pressed.usage : '-'
  const program = WAY_ROWS.slice(0, 4).filter(([key]) => !r[key].uploaded.skipped).map(([key, label]) => [`  ${label.trim()}`, own(key, 'uploaded'), own(key, 'flash'), ''])
  const code = r.tablecall.uploaded.code
  const top = code ? code.top.slice(0, 12).map(f => [`  ${JSON.stringify(f.text.slice(0, 60))}`, f.blocks, f.n, f.chars, '']) : []
  const strings = r.tablecall.flash.code?.strings ?? []
  const split = [['firmware', 'tablecall', 'uploaded'], ['firmware', 'tablecall', 'flash'], ['with a battery', 'battery', 'flash'], ['MQTT module', 'mqttModule', 'flash'], ['tinyMQTT', 'tinyMQTT', 'flash'], ['prelude alone', 'prelude', 'flash']]
    .filter(([, key, way]) => r[key][way].code)
    .map(([label, key, way]) => {
      const x = r[key][way]
      const by = x.code.by
      return [`  ${label} (${way === 'flash' ? 'b' : 'a'})`, x.memory.pressed.usage, x.memory.pressed.usage - x.code.reachable, by.objects, by.code, by.strings, by.other, by.buffers, '']
    })
  const errors = WAY_ROWS.flatMap(([key]) => WAYS.map(way => r[key][way])).flatMap(x => x.errors || [])
  return [
    `REAL INTERPRETER  Espruino ${r.version} built for Linux (x86-64, ${r.blocksize} B/block; not a board): blocks in use (process.memory().usage after GC)`,
    '  (a) uploaded: the file read into RAM and evaluated; (b) booted from .bootcde in flash, each function\'s code a string in flash (bench/README.md)',
    '  boot = connected; +4 = after one press per button; soak = after the last press; (b) by sizeOf = (a) +4 minus every code string\'s blocks beyond one',
    table(rows),
    ...['uploaded', 'flash'].map(way => `  the firmware ${way}: ${deliveryLine(r.tablecall[way])}`),
    '  the program alone at +4 (minus the prelude alone)',
    table([['', '(a)', '(b)', ''], ...program]),
    '  where the blocks go at +4 (E.getSizeOf accounting of what is reachable from global; the rest is the interpreter\'s own)',
    table([['', 'in use', 'unreachable', 'objects', 'code', 'strings', 'numbers', 'buffers', ''], ...split]),
    '    objects: every object, array, function and scope itself and the names pointing at them; code: each function\'s code string and its name',
    code ? `  the firmware's code texts holding the most blocks, uploaded (a): ${code.functions} functions, ${code.blocks} blocks, ${code.chars} chars, prelude's included` : '',
    code ? table([['  code text (first 60 chars)', 'blocks', 'alive', 'chars', ''], ...top]) : '',
    strings.length ? '  the firmware\'s biggest strings, from flash (b)' : '',
    strings.length ? table([['  property', 'blocks', 'chars', 'text (first 50 chars)'], ...strings.map(x => [`  ${JSON.stringify(x.name)}`, x.blocks, x.chars, x.text])]) : '',
    `  interpreter errors: ${errors.length ? [...new Set(errors)].join('; ') : 'none'}`
  ].filter(Boolean).join('\n')
}

/** One line per firmware run: what reached the broker and the subscriber, registered presses, exit. */
function deliveryLine (x) {
  if (x.skipped) return x.skipped
  const b = x.atBroker
  return `${x.presses} presses one every ${x.gapMs} ms, registered ${x.registered}, at the broker ${b.unique} (DUP ${b.dupFlag}, repeats ${b.repeats}, ${b.outOfOrder ? `${b.outOfOrder} out of order` : 'in order'}), at the subscriber ${x.atSubscriber.received}; soak ${x.soakS} s, exit ${x.exit}; queue full ${x.queueFull}, PUBACK stalls ${x.stalls}`
}

function machine () {
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    command: 'npm run bench',
    espruinoBin: process.env.ESPRUINO_BIN || null,
    espruinoModules: process.env.ESPRUINO_MODULES || null
  }
}

function options () {
  const { values } = parseArgs({ options: { only: { type: 'string' } } })
  const names = values.only ? values.only.split(',') : Object.keys(SECTIONS)
  const unknown = names.filter(n => !SECTIONS[n])
  if (unknown.length) throw new Error(`--only: unknown section ${unknown.join(', ')} (fix: choose from ${Object.keys(SECTIONS).join(', ')})`)
  return names
}

/** "no press lost: met", or one NOT met line per loss (whose it is); null for a section that presses nothing. */
function verdict (r) {
  if (!Array.isArray(r.losses)) return null
  if (!r.losses.length) return '  no press lost (registered, delivered, received): met'
  return r.losses.map(loss => `  NOT met: ${loss}`).join('\n')
}

/** A goal: met, NOT met (the bench then exits non-zero), or skipped and why. */
function goalLine (g) {
  const value = g.value === undefined ? '' : ` (${g.value})`
  return `  goal: ${g.text}${value}: ${g.skipped ? g.skipped : g.met ? 'met' : 'NOT met'}`
}

async function main () {
  const names = options()
  const results = { machine: machine() }
  const m = results.machine
  console.log(`tablecall bench  ${m.date}  ${m.cpu} x${m.nproc}  node ${m.node}\n`)
  let failed = false
  for (const name of names) {
    const started = performance.now()
    try {
      results[name] = await SECTIONS[name].run()
      console.log(SECTIONS[name].print(results[name]))
      const line = verdict(results[name])
      if (line) console.log(line)
      for (const g of results[name].goals || []) console.log(goalLine(g))
      if (results[name].losses?.length || results[name].goals?.some(g => g.met === false)) failed = true
    } catch (err) {
      failed = true
      results[name] = { error: err.message }
      console.log(`${name.toUpperCase()}  failed: ${err.message}`)
    }
    console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
  }
  const out = join(ROOT, 'bench', 'results.json')
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
  console.log(`wrote ${out}`)
  if (failed) process.exitCode = 1
}

main().catch(err => {
  console.error(`bench: ${err.message}`)
  process.exitCode = 1
})
