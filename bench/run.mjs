#!/usr/bin/env node
// `npm run bench`: size, latency, burst, outage and soak of the firmware, each beside its goal or a
// reference measured in the same run; prints tables and writes bench/results.json.
//   node bench/run.mjs [--only size,latency,burst,outage,soak,answer,schedules,real]
// The real-interpreter section runs when ESPRUINO_BIN points to an Espruino binary built for Linux.
// A section is { run, print } in SECTIONS; a result with `losses` (harness.mjs) gets the verdict line,
// and any loss, like a section that throws, makes the bench exit non-zero.
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
import { realInterpreter, REAL } from './espruino.mjs'

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
      ['', 'bytes', 'goal / reference'],
      ['whole bundle', r.bytes, `<= ${r.goalBytes} (6 KB): ${r.bytes <= r.goalBytes ? 'met' : 'NOT met'}`],
      ['  with a battery setting', r.withBatteryBytes, `+${r.withBatteryBytes - r.bytes}`],
      ['Kaluma bundle (runtime "kaluma", Pico W)', r.kalumaBytes, `${r.kalumaBytes - r.bytes >= 0 ? '+' : ''}${r.kalumaBytes - r.bytes} against the Espruino one`],
      ["Espruino's own MQTT module (QoS 0 only)", `~${r.espruinoMqtt.kb} KB`, 'quoted figure, not measured here'],
      ...Object.entries(r.modules).map(([file, n]) => [`  ${file}`, n, `${(100 * n / r.bytes).toFixed(0)}%`]),
      ['  wrapper and glue', r.wrapperBytes, '']
    ])}`
  },
  latency: {
    run: latency,
    print: r => `LATENCY  host runtime, real timers, in-process broker: ${r.presses} presses (${r.pressesPerSecond}/s, rotating tables, held ${r.holdMs} ms, bouncing 4 ms)\n${table([
      ['', 'p50', 'p99', 'max', ''],
      dist('press -> staff subscriber', r.pressToDelivery),
      dist(`  minus the debounce (${r.debounceMs} ms)`, r.minusDebounce, 0, `goal p99 <= ${r.goalOverheadP99Ms} ms: ${r.minusDebounce.p99 <= r.goalOverheadP99Ms ? 'met' : 'NOT met'}`),
      dist('  contact settled + debounce -> subscriber', r.settledToDelivery, 1, `goal p99 <= ${r.goalOverheadP99Ms} ms: ${r.settledToDelivery.p99 <= r.goalOverheadP99Ms ? 'met' : 'NOT met'}`),
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
    print: r => `ANSWER  a staff screen answers a calling table (empty retained, QoS 1): ${r.answers} answers, host runtime, real timers, in-process broker\n${table([
      ['', 'p50', 'p99', 'max', ''],
      dist('staff publish -> table light off', r.toLight, 1),
      dist('floor: staff publish -> MQTT.js subscriber', r.toSubscriber, 1, 'same broker, same run'),
      ['answers missed (no light off within 5 s)', r.missed, '', '', '']
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
    run: realInterpreter,
    print: r => r.skipped
      ? `REAL INTERPRETER  ${r.skipped}`
      : `REAL INTERPRETER  Espruino ${r.version} built for Linux (not a Pico): ${r.presses} presses, one every ${r.gapMs} ms, via a setWatch prelude\n${table([
      ...deliveryRows(r),
      ['presses the interpreter registered', r.registered, ''],
      ['memory used after boot (connected)', `${r.memoryAfterBoot?.usage} blocks`, `of ${r.memoryAfterBoot?.total} (Linux: grows on demand; ${r.memoryAfterBoot?.blocksize} B/block here, RP2040 Pico: 12,000 vars)`],
      ['memory used halfway / after the soak', `${r.memoryHalfway?.usage} / ${r.memoryAfterSoak?.usage} blocks`, 'process.memory().usage after GC'],
      ['soak took / interpreter exit', `${r.soakS} s`, r.exit],
      ['presses dropped by its full queue / reconnects for a PUBACK stall', `${r.queueFull} / ${r.stalls}`, ''],
      ['interpreter errors', r.errors.length || 'none', r.errors.join('; ')]
    ])}`
  }
}

// The same with a battery setting (issue #13): memory after boot, fewer presses.
SECTIONS.realBattery = {
  run: () => realInterpreter({ ...REAL, presses: 100, battery: { pin: 'D35' } }),
  print: r => SECTIONS.real.print(r).replace('REAL INTERPRETER', 'REAL INTERPRETER WITH A BATTERY SETTING')
}

function machine () {
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    command: 'npm run bench',
    espruinoBin: process.env.ESPRUINO_BIN || null
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
      if (results[name].losses?.length) failed = true
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
