// Real interpreter (optional): the same bundle on an Espruino binary built for Linux (ESPRUINO_BIN)
// against the in-process broker. That build has `net` but no Wifi module and no usable GPIO
// (setWatch never fires), so a prelude replaces setWatch to collect the button callbacks, starts
// pressing once the firmware logs 'mqtt: connected', and prints process.memory() after boot and
// after the soak. See bench/README.md.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from '../build.mjs'
import { startBroker } from '../host/broker.mjs'
import { subscribe } from '../host/subscriber.mjs'
import { scratch, tapBroker, deliveries } from './harness.mjs'

// One press every 20 ms (50/s, far above a restaurant's rate): at 5–10 ms the Linux build falls behind
// reading PUBACKs (see BENCHMARKS.md), which measures its network polling more than the firmware.
export const REAL = { presses: 1000, gapMs: 20, settleMs: 1000, timeoutS: 60 }
export const SKIPPED = 'skipped: ESPRUINO_BIN is not set (fix: ESPRUINO_BIN=/path/to/espruino npm run bench, with Espruino built for Linux)'
const MARK = 'BENCH '

/** ES5 for Espruino, run before the bundle. */
export function prelude ({ presses, gapMs, settleMs }) {
  return `var __w = [];
global.setWatch = function (f) { __w.push(f); return __w.length; };
(function () {
  var log = console.log;
  var started = false;
  function mark(at) { log(${JSON.stringify(MARK)} + JSON.stringify({ at: at, t: getTime(), version: process.env.VERSION, memory: process.memory() })); }
  function soak() {
    mark('boot');
    var i = 0;
    var timer = setInterval(function () {
      __w[i % __w.length]();
      if (++i === ${Math.floor(presses / 2)}) mark('half');
      if (i < ${presses}) return;
      clearInterval(timer);
      setTimeout(function () { mark('soak'); quit(); }, ${settleMs});
    }, ${gapMs});
  }
  console.log = function (line) {
    log(line);
    if (!started && String(line).indexOf('mqtt: connected') === 0) {
      started = true;
      setTimeout(soak, 0);
    }
  };
})();
`
}

/** Runs `file` in `cwd` (the Linux build writes espruino.flash there); stdout without the banner, prompts and ESC[J. */
function runEspruino (bin, cwd, file, timeoutS) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutS * 1000 })
    let out = ''
    child.stdout.on('data', d => { out += d })
    child.stderr.on('data', d => { out += d })
    child.on('error', err => reject(new Error(`ESPRUINO_BIN: cannot run ${bin} (${err.code || err.message}) (fix: point it at an Espruino binary built for Linux)`)))
    child.on('close', (code, signal) => {
      const lines = out.replace(/\x1b\[J/g, '').split(/\r?\n|\r/).map(l => l.replace(/^>+/, '')).filter(Boolean)
      const banner = lines.findIndex(l => l.includes('espruino.com/Donate'))
      resolve({ lines: lines.slice(banner + 1), code, signal })
    })
  })
}

export async function realInterpreter ({ bin = process.env.ESPRUINO_BIN, presses, gapMs, settleMs, timeoutS, battery } = { ...REAL }) {
  if (!bin) return { skipped: SKIPPED }
  const broker = await startBroker()
  const space = scratch({ mqtt: { host: '127.0.0.1', port: broker.port }, ...(battery && { battery }) })
  let sub
  try {
    const { code, config } = await build({ configPath: space.configPath, outPath: space.outPath, target: 'sim' })
    // The Linux build's serial gives its own id: match any.
    const pattern = new RegExp(`^${config.mqtt.topic.split('{id}').map(p => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[0-9a-f]{8}')}$`)
    const tap = tapBroker(broker, config, topic => pattern.test(topic))
    const calls = { total: 0, dup: 0 }
    sub = await subscribe(broker.url, config.mqtt.topic.replaceAll('{id}', '+'), { onMessage: m => { calls.total++; if (m.dup) calls.dup++ } })
    writeFileSync(join(space.dir, 'bench.js'), prelude({ presses, gapMs, settleMs }) + code)
    const run = await runEspruino(bin, space.dir, 'bench.js', timeoutS)
    const marks = Object.fromEntries(run.lines.filter(l => l.startsWith(MARK)).map(l => {
      const m = JSON.parse(l.slice(MARK.length))
      return [m.at, m]
    }))
    const logs = run.lines.filter(l => !l.startsWith(MARK))
    const blocks = at => marks[at] && { usage: marks[at].memory.usage, total: marks[at].memory.total, blocksize: marks[at].memory.blocksize }
    const registered = logs.filter(l => l.startsWith('btn: ')).length
    return {
      version: marks.boot && marks.boot.version,
      presses,
      gapMs,
      exit: run.signal ? `killed (${run.signal}) after ${timeoutS} s` : run.code,
      memoryAfterBoot: blocks('boot'),
      memoryHalfway: blocks('half'),
      memoryAfterSoak: blocks('soak'),
      soakS: marks.boot && marks.soak ? Number((marks.soak.t - marks.boot.t).toFixed(1)) : undefined,
      ...deliveries(presses, tap.seen, calls, registered),
      registered,
      queueFull: logs.filter(l => l.startsWith('mqtt: queue full')).length,
      stalls: logs.filter(l => l.includes('no PUBACK within')).length,
      // Espruino's own complaints, e.g. FIFO_FULL when its event queue overflowed.
      errors: [...new Set(logs.filter(l => /^main: error flags|^Uncaught|interpreter error/.test(l)))],
      otherLogs: logs.filter(l => !/^(btn: |mqtt: queue full)/.test(l)).slice(0, 20)
    }
  } finally {
    if (sub) await sub.close()
    await broker.close()
    space.remove()
  }
}
