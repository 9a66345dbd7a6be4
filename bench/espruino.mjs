// Real interpreter (optional): the same bundle on an Espruino binary built for Linux (ESPRUINO_BIN)
// against the in-process broker, two ways: (a) uploaded (the file is read into RAM and evaluated, as
// code sent to a board without saving) and (b) booted from `.bootcde` in the interpreter's flash, as
// a board runs after `npm run flash` or a power-up, where each function's code stays in flash. That
// build has `net` but no Wifi module and no usable GPIO (setWatch never fires), so a prelude replaces
// setWatch to collect the button callbacks, starts pressing once the program logs 'mqtt: connected',
// and prints process.memory() after boot, after one press per button, and after the soak.
// Espruino's MQTT module and tinyMQTT run the same way as references (ESPRUINO_MODULES).
// See bench/README.md.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { transform } from 'esbuild'
import { build } from '../build.mjs'
import { pretokenise } from '../tools/build/pretokenise.mjs'
import { storedBytes } from '../tools/flash/upload.mjs'
import { startBroker } from '../host/broker.mjs'
import { subscribe } from '../host/subscriber.mjs'
import { scratch, tapBroker, deliveries } from './harness.mjs'

// One press every 20 ms (50/s, far above a restaurant's rate): at 5–10 ms the Linux build falls behind
// reading PUBACKs (see BENCHMARKS.md), which measures its network polling more than the firmware.
export const REAL = { presses: 1000, gapMs: 20, settleMs: 1000, timeoutS: 60 }
// The references and the battery build: enough presses to see memory settle, not a soak.
export const SHORT = { ...REAL, presses: 100 }
// (b) on Linux runs each function's code from a flash string read out of the file espruino.flash,
// chunk by chunk, far slower than a board's memory-mapped flash: at one press every 20 ms the firmware
// fell behind (677 of 1,000 presses dropped by its full queue), at 50 ms it keeps up.
export const FLASH_PACE = { gapMs: 50 }
export const SKIPPED = 'skipped: ESPRUINO_BIN is not set (fix: ESPRUINO_BIN=/path/to/espruino npm run bench, with Espruino built for Linux)'
export const MODULES_SKIPPED = 'skipped: ESPRUINO_MODULES is not set (fix: ESPRUINO_MODULES=/path/to/EspruinoDocs/modules, the folder holding MQTT.js and tinyMQTT.js; see bench/README.md)'
// Espruino's MQTT module and tinyMQTT, as files in ESPRUINO_MODULES (EspruinoDocs/modules).
export const REFERENCES = { mqttModule: 'MQTT', tinyMQTT: 'tinyMQTT' }
export const WAYS = ['uploaded', 'flash']
const MARK = 'BENCH '
const REF_TOPIC = 'tablecall/ref/calls'

/**
 * ES5 for Espruino, run before the program. Marks: 'boot' once connected, 'pressed' after one press
 * per button (or `presses`, if fewer), 'half', 'soak' after the last press; with `account`, a 'code'
 * line after 'pressed': ACCOUNT, read from ACCOUNT_FILE beside the program only then, so its own
 * code is in no mark and in no count.
 */
export function prelude ({ presses, gapMs, settleMs, account = false }) {
  return `var __w = [];
global.setWatch = function (f, pin) { __w.push([f, pin]); return __w.length; };
(function () {
  var log = console.log;
  var started = false;
  function mark(at) { log(${JSON.stringify(MARK)} + JSON.stringify({ at: at, t: getTime(), version: process.env.VERSION, memory: process.memory() })); }
  function press(from, to, then) {
    var i = from;
    var timer = setInterval(function () {
      // the watch's event, as Espruino passes it: the callback finds its button by the pin
      var w = __w[i % __w.length];
      w[0]({ pin: w[1] });
      if (++i === ${Math.floor(presses / 2)}) mark('half');
      if (i < to) return;
      clearInterval(timer);
      setTimeout(then, ${settleMs});
    }, ${gapMs});
  }
  // Named functions that live for the whole run: each mark is taken inside one, so no closure alive
  // at one mark and gone at the next moves the figures (an inline callback at 'pressed' did: 14 blocks).
  var first = 0;
  function end() { mark('soak'); quit(); }
  function pressed() {
    mark('pressed');${account ? ` eval(require("fs").readFileSync(${JSON.stringify(ACCOUNT_FILE)}));` : ''}
    if (first < ${presses}) press(first, ${presses}, end); else end();
  }
  function soak() {
    mark('boot');
    first = Math.min(__w.length, ${presses});
    press(0, first, pressed);
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

export const ACCOUNT_FILE = 'account.js'

/**
 * ES5: walks every object reachable from `global` (hidden children too: scopes, timers, watches,
 * modules) and splits the blocks reachable from it (E.getSizeOf(global)): `code` (function code
 * strings with their property names; a string shared by bound functions once), `strings` (string
 * values with their names, each string once), `buffers` (ArrayBuffers, typed arrays), `other`
 * (numbers, booleans...) and `objects`, the rest: each object, array, function and scope itself and
 * the names pointing at them. Blocks not reachable from `global` are the interpreter's own.
 * Prints one 'code' line with the split, the 15 code texts holding the most blocks (closures of one
 * text summed, n = how many are alive) and the 10 biggest string values.
 */
export const ACCOUNT = `(function () {
    var seen = {}, stack = [global], byText = {}, list = [], strings = [], functions = 0, chars = 0;
    var by = { code: 0, strings: 0, buffers: 0, other: 0 }, reachable = E.getSizeOf(global);
    while (stack.length) {
      var v = stack.pop(), at = E.getAddressOf(v);
      if (seen[at]) continue;
      seen[at] = 1;
      var kids = E.getSizeOf(v, 1);
      // No children to list (an ArrayBuffer, a typed array): all of it is data.
      if (typeof kids !== 'object') { by.buffers += kids; continue; }
      for (var i = 0; i < kids.length; i++) {
        var name = kids[i].name, size = kids[i].size, c = v[name];
        if (name === '\xFFcod' && typeof v === 'function' && typeof c === 'string') {
          // A bound function shares its target's code string: count each string once.
          if (seen[E.getAddressOf(c)]) continue;
          seen[E.getAddressOf(c)] = 1;
          var n = E.getSizeOf(c), key = c.length + ':' + c.substr(0, 40);
          functions++; chars += c.length; by.code += size;
          var f = byText[key];
          if (!f) { f = byText[key] = { text: c.substr(0, 70), chars: c.length, blocks: 0, n: 0 }; list.push(f); }
          f.blocks += n; f.n++;
        } else if (c !== null && (typeof c === 'object' || typeof c === 'function')) {
          stack.push(c);
        } else if (typeof c === 'string' && !seen[E.getAddressOf(c)]) {
          // A string assigned twice is one string: count it once.
          seen[E.getAddressOf(c)] = 1;
          by.strings += size;
          if (size > 2) strings.push({ name: name, blocks: size, chars: c.length, text: JSON.stringify(c.substr(0, 50)) });
        } else if (typeof c !== 'string') by.other += size;
      }
    }
    list.sort(function (a, b) { return b.blocks - a.blocks; });
    strings.sort(function (a, b) { return b.blocks - a.blocks; });
    var code = 0;
    list.forEach(function (f) { code += f.blocks; });
    by.objects = reachable - by.code - by.strings - by.buffers - by.other;
    console.log(${JSON.stringify(MARK)} + JSON.stringify({ at: 'code', reachable: reachable, functions: functions, blocks: code, chars: chars, by: by, top: list.slice(0, 15), strings: strings.slice(0, 10) }));
})();
`

/**
 * Espruino's stdio for the Linux build: stdin a pipe left open and never written. Its input thread
 * (targets/linux/jshardware.c jshInputThread) reads stdin whenever select() says readable; at EOF
 * (/dev/null, 'ignore') that is always, and each empty read() becomes a character event, so the event
 * queue fills and the log says "error flags FIFO_FULL" for something no board does.
 */
export const ESPRUINO_STDIO = ['pipe', 'pipe', 'pipe']

/** Runs `args` in `cwd` (the Linux build keeps its flash in espruino.flash there); stdout without the banner, prompts and ESC[J. */
function runEspruino (bin, cwd, args, timeoutS) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ESPRUINO_STDIO, timeout: timeoutS * 1000 })
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

// (b): a first run writes bench.js pretokenised (bench.bin) byte for byte into Storage file .bootcde,
// as `npm run flash` and the Web IDE with Pretokenise save a program; `-e` then starts with
// jsiInit(true), which evaluates .bootcde from flash as at power-up.
const SAVE = 'var s = require("Storage"); s.write(".bootcde", require("fs").readFileSync("bench.bin")); print("SAVED " + s.read(".bootcde").length);'

/** bench.js (prelude and program) and the accounting walker it reads at 'pressed'. */
export function writeProgram (dir, js) {
  writeFileSync(join(dir, 'bench.js'), js)
  writeFileSync(join(dir, ACCOUNT_FILE), ACCOUNT)
}

/**
 * Runs `dir`/bench.js one way: 'uploaded' (read into RAM and evaluated: plain text, as code sent to a
 * board's console cannot be tokenised) or 'flash' (pretokenised, booted from .bootcde).
 */
export async function runWay (bin, dir, way, timeoutS) {
  if (way === 'uploaded') return runEspruino(bin, dir, ['bench.js'], timeoutS)
  const bytes = storedBytes(pretokenise(readFileSync(join(dir, 'bench.js'), 'utf8')))
  writeFileSync(join(dir, 'bench.bin'), bytes)
  writeFileSync(join(dir, 'save.js'), SAVE)
  const saved = await runEspruino(bin, dir, ['save.js'], 20)
  if (!saved.lines.includes(`SAVED ${bytes.length}`)) throw new Error(`could not write .bootcde (${bytes.length} bytes) into the interpreter's flash; it printed:\n${saved.lines.join('\n')}`)
  return runEspruino(bin, dir, ['-e', '0'], timeoutS)
}

/** The marks and the other lines of a run. */
function readRun (run) {
  const marks = Object.fromEntries(run.lines.filter(l => l.startsWith(MARK)).map(l => {
    const m = JSON.parse(l.slice(MARK.length))
    return [m.at, m]
  }))
  const logs = run.lines.filter(l => !l.startsWith(MARK))
  const blocks = at => marks[at] && { usage: marks[at].memory.usage, total: marks[at].memory.total, blocksize: marks[at].memory.blocksize }
  return {
    version: marks.boot && marks.boot.version,
    memory: { boot: blocks('boot'), pressed: blocks('pressed'), half: blocks('half'), soak: blocks('soak') },
    code: marks.code && { reachable: marks.code.reachable, functions: marks.code.functions, blocks: marks.code.blocks, chars: marks.code.chars, by: marks.code.by, top: marks.code.top, strings: marks.code.strings },
    soakS: marks.boot && marks.soak ? Number((marks.soak.t - marks.boot.t).toFixed(1)) : undefined,
    logs,
    // Espruino's own complaints, e.g. FIFO_FULL when its event queue overflowed.
    errors: [...new Set(logs.filter(l => /^main: error flags|^Uncaught|interpreter error|^ERROR/.test(l)))]
  }
}

const exitOf = (run, timeoutS) => run.signal ? `killed (${run.signal}) after ${timeoutS} s` : run.code

/** The firmware (target 'sim', the in-process broker) one way; deliveries counted as in the other sections. */
export async function realInterpreter ({ bin = process.env.ESPRUINO_BIN, presses, gapMs, settleMs, timeoutS, battery, way = 'uploaded', account = true } = { ...REAL }) {
  if (!bin) return { skipped: SKIPPED }
  const broker = await startBroker()
  const space = scratch({ mqtt: { host: '127.0.0.1', port: broker.port }, ...(battery && { battery }) })
  let sub
  try {
    const { code, config, bytes } = await build({ configPath: space.configPath, outPath: space.outPath, target: 'sim' })
    // The Linux build's serial gives its own id: match any.
    const pattern = new RegExp(`^${config.mqtt.topic.split('{id}').map(p => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[0-9a-f]{8}')}$`)
    const tap = tapBroker(broker, config, topic => pattern.test(topic))
    const calls = { total: 0, dup: 0 }
    sub = await subscribe(broker.url, config.mqtt.topic.replaceAll('{id}', '+'), { onMessage: m => { calls.total++; if (m.dup) calls.dup++ } })
    writeProgram(space.dir, prelude({ presses, gapMs, settleMs, account }) + code)
    const run = await runWay(bin, space.dir, way, timeoutS)
    const r = readRun(run)
    const registered = r.logs.filter(l => l.startsWith('btn: ')).length
    const delivered = deliveries(presses, tap.seen, calls, registered)
    return {
      way,
      battery: Boolean(battery),
      version: r.version,
      bundleBytes: bytes,
      presses,
      gapMs,
      exit: exitOf(run, timeoutS),
      memory: r.memory,
      code: r.code,
      soakS: r.soakS,
      ...delivered,
      registered,
      queueFull: r.logs.filter(l => l.startsWith('mqtt: queue full')).length,
      stalls: r.logs.filter(l => l.includes('no PUBACK within')).length,
      errors: r.errors,
      otherLogs: r.logs.filter(l => !/^(btn: |mqtt: queue full)/.test(l)).slice(0, 20)
    }
  } finally {
    if (sub) await sub.close()
    await broker.close()
    space.remove()
  }
}

/** A module's source from ESPRUINO_MODULES, minified by esbuild as the firmware is; undefined when the folder has no such file. */
export async function referenceModule (name, dir = process.env.ESPRUINO_MODULES) {
  const file = dir && join(dir, `${name}.js`)
  if (!file || !existsSync(file)) return undefined
  const { code } = await transform(readFileSync(file, 'utf8'), { minify: true, target: 'es2015', charset: 'ascii', legalComments: 'none' })
  return { file, bytes: Buffer.byteLength(code), code }
}

/**
 * The smallest program doing the firmware's job with `name`: connect to the broker, publish
 * "button N is pressed" (QoS 0, the module's default) on each of four buttons. The module is added
 * as the Web IDE does (Modules.addCached), so in (b) its functions are in flash too.
 */
function referenceProgram (name, module, port) {
  return `Modules.addCached(${JSON.stringify(name)}, function () {${module.code}});
(function () {
  var m = require(${JSON.stringify(name)}).create("127.0.0.1", { port: ${port}, reconnect_interval: 100 });
  m.on("connected", function () { console.log("mqtt: connected"); });
  [1, 2, 3, 4].forEach(function (n) {
    setWatch(function () { m.publish(${JSON.stringify(REF_TOPIC)}, "button " + n + " is pressed"); }, n, { repeat: true, edge: "falling", debounce: 40 });
  });
  m.connect();
})();
`
}

/** Espruino's MQTT module or tinyMQTT, one way, on the same interpreter; deliveries counted at the broker only (QoS 0: no ids). */
export async function reference ({ bin = process.env.ESPRUINO_BIN, name, presses, gapMs, settleMs, timeoutS, way = 'uploaded', account = true }) {
  if (!bin) return { skipped: SKIPPED }
  const module = await referenceModule(name)
  if (!module) return { skipped: process.env.ESPRUINO_MODULES ? `skipped: no ${name}.js in ESPRUINO_MODULES (${process.env.ESPRUINO_MODULES})` : MODULES_SKIPPED }
  const broker = await startBroker()
  const space = scratch()
  try {
    const tap = tapBroker(broker, { buttons: [], message: '' }, topic => topic === REF_TOPIC)
    writeProgram(space.dir, prelude({ presses, gapMs, settleMs, account }) + referenceProgram(name, module, broker.port))
    const run = await runWay(bin, space.dir, way, timeoutS)
    const r = readRun(run)
    return { way, name, moduleBytes: module.bytes, presses, delivered: tap.seen.length, exit: exitOf(run, timeoutS), memory: r.memory, code: r.code, errors: r.errors }
  } finally {
    await broker.close()
    space.remove()
  }
}

/** The prelude alone with four buttons that do nothing: what every figure above holds besides the program. */
export async function preludeAlone ({ bin = process.env.ESPRUINO_BIN, way = 'uploaded', account = true, presses = 4 }) {
  if (!bin) return { skipped: SKIPPED }
  const space = scratch()
  try {
    const program = 'for (var i = 0; i < 4; i++) setWatch(function () {}, i);\nconsole.log("mqtt: connected");\n'
    writeProgram(space.dir, prelude({ presses, gapMs: 20, settleMs: 200, account }) + program)
    const run = await runWay(bin, space.dir, way, 20)
    const r = readRun(run)
    return { way, exit: exitOf(run, 20), memory: r.memory, code: r.code, errors: r.errors }
  } finally {
    space.remove()
  }
}

export const MEMORY_GOALS = { uploadedBlocks: 950, flatBlocks: 10 }

/** Pass or fail of one goal; `met` undefined when it could not be checked (`skipped` says why). */
const goal = (text, value, met, skipped) => ({ text, value, met: skipped ? undefined : met, skipped })

/**
 * Issue #20's memory goals: (a) after boot and one press per button <= 950 blocks, flat (±10) after
 * the soak; (b) after boot and one press per button <= the MQTT module's (b). Totals, prelude included
 * (it is the same in every row; its own figure is printed beside).
 */
export function memoryGoals ({ tablecall, mqttModule }) {
  const a = tablecall.uploaded.memory
  const b = tablecall.flash.memory
  const ref = mqttModule.flash
  const drift = a.soak && a.pressed && a.soak.usage - a.pressed.usage
  return [
    goal(`(a) uploaded, after boot + 4 presses <= ${MEMORY_GOALS.uploadedBlocks} blocks`, a.pressed?.usage, a.pressed?.usage <= MEMORY_GOALS.uploadedBlocks),
    goal(`(a) uploaded, flat (±${MEMORY_GOALS.flatBlocks}) after the ${tablecall.uploaded.presses}-press soak`, drift === undefined ? undefined : `${drift >= 0 ? '+' : ''}${drift}`, Math.abs(drift) <= MEMORY_GOALS.flatBlocks),
    goal(`(b) code in flash, after boot + 4 presses <= the MQTT module's (b)${ref.memory ? ` (${ref.memory.pressed?.usage})` : ''}`, b.pressed?.usage, b.pressed?.usage <= ref.memory?.pressed?.usage, ref.skipped)
  ]
}

/**
 * Everything measured on the real interpreter, each way in turn, in one run: the firmware (a 1,000-press
 * soak uploaded, 300 presses at FLASH_PACE from flash), the firmware with a battery setting, Espruino's MQTT module and tinyMQTT (100 presses each),
 * and the prelude alone. Losses of the firmware's runs are the section's losses.
 */
export async function memory ({ bin = process.env.ESPRUINO_BIN } = {}) {
  if (!bin) return { skipped: SKIPPED }
  const rows = {
    prelude: way => preludeAlone({ bin, way }),
    tablecall: way => realInterpreter(way === 'flash' ? { ...REAL, ...FLASH_PACE, presses: 300, bin, way } : { ...REAL, bin, way }),
    battery: way => realInterpreter({ ...SHORT, ...(way === 'flash' && FLASH_PACE), bin, way, battery: { pin: 'D35' } }),
    mqttModule: way => reference({ ...SHORT, bin, way, name: REFERENCES.mqttModule }),
    tinyMQTT: way => reference({ ...SHORT, bin, way, name: REFERENCES.tinyMQTT })
  }
  const result = {}
  for (const [name, run] of Object.entries(rows)) {
    result[name] = {}
    for (const way of WAYS) result[name][way] = await run(way)
  }
  const firmware = [result.tablecall, result.battery].flatMap(r => WAYS.map(way => r[way]))
  return {
    version: result.tablecall.uploaded.version,
    blocksize: result.tablecall.uploaded.memory.boot?.blocksize,
    ...result,
    goals: memoryGoals(result),
    losses: firmware.flatMap(r => r.losses.map(l => `${r.battery ? 'with a battery, ' : ''}${r.way}: ${l}`))
  }
}
