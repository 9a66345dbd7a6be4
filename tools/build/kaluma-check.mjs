// What Kaluma 1.2.1 (JerryScript 2.4, profile es.next) cannot run, for espruino-check.mjs: JerryScript
// parses far more than Espruino 2v29, but the program runs in strict mode and Kaluma lacks Espruino's
// globals and some of Node's, and its timer functions check their arguments. Each rule names the Kaluma
// source behind it (github.com/kaluma-project/kaluma, tag 1.2.1).
import { ancestor } from 'acorn-walk'

// Espruino's own globals (E, getSerial, pins as D16...) and what Kaluma's global.c km_global_init and
// startup.js do not define. WeakRef and FinalizationRegistry: ES2021, after JerryScript 2.4.
const MISSING_GLOBALS = [
  'E', 'getSerial', 'getTime', 'setDeepSleep', 'setSleepIndicator', 'setBusyIndicator', 'changeInterval',
  'peek8', 'peek16', 'peek32', 'poke8', 'poke16', 'poke32', 'dump', 'save', 'load', 'reset', 'trace',
  'Pin', 'Serial1', 'Serial2', 'LED1', 'LED2', 'BTN', 'BTN1', 'ESP32', 'Wifi', 'digitalPulse', 'getPinMode',
  'Buffer', 'setImmediate', 'queueMicrotask', 'localStorage', 'WeakRef', 'FinalizationRegistry'
]

// global.c register_global_console_object defines console.log and console.error only.
const consoleOnly = name => `console.${name} is missing on Kaluma (console has only log and error; calling it throws): use console.log`
const MISSING_MEMBERS = {
  'console.warn': consoleOnly('warn'),
  'console.info': consoleOnly('info'),
  'console.debug': consoleOnly('debug'),
  'console.trace': consoleOnly('trace'),
  'process.nextTick': 'process.nextTick is missing on Kaluma: use setTimeout(fn, 0)',
  'process.env': 'process.env is missing on Kaluma: settings come from the build'
}

// targets/rp2/target.cmake MODULES for the pico-w board, plus pico_cyw43 (board.js); startup.js
// Module.require throws "Failed to load module" for any other name.
const KALUMA_MODULES = ['events', 'gpio', 'led', 'button', 'pwm', 'adc', 'i2c', 'spi', 'uart', 'graphics', 'at', 'storage', 'wifi', 'stream', 'net', 'http', 'url', 'rp2', 'rtc', 'path', 'flash', 'fs', 'vfs_lfs', 'vfs_fat', 'sdcard', 'wdt', 'pico_cyw43']

export const KALUMA = {
  name: 'Kaluma 1.2.1',
  // JerryScript 2.4's lexer has no `?.` (js-lexer.h: no LEXER_QUESTION_MARK_DOT) and no class fields.
  unparsable: { ChainExpression: 'optional chaining (?.)' },
  missingGlobals: MISSING_GLOBALS,
  // Espruino's pin names are globals there; Kaluma's pins are plain numbers.
  missingGlobal: name => /^D[0-9]{1,2}$/.test(name),
  missingMembers: MISSING_MEMBERS,
  strict: true
}

const TIMERS = ['setTimeout', 'setInterval']
const CLEARS = ['clearTimeout', 'clearInterval']
const NOT_IN_A_SCRIPT = {
  PropertyDefinition: 'a class field: Kaluma 1.2.1 (JerryScript 2.4) cannot parse it',
  ImportDeclaration: 'import: Kaluma runs the program as a script',
  ExportNamedDeclaration: 'export: Kaluma runs the program as a script',
  ExportDefaultDeclaration: 'export: Kaluma runs the program as a script',
  ExportAllDeclaration: 'export: Kaluma runs the program as a script'
}

const isUndefined = node => (node.type === 'Identifier' && node.name === 'undefined') || (node.type === 'UnaryExpression' && node.operator === 'void')
export const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'])

/** Whether `text` (a timer id expression) is tested on the way to `ancestors`' last node, so it is set there. */
function guarded (ancestors, text, code) {
  const word = new RegExp(`(^|[^\\w$.])${text.replace(/[.$]/g, '\\$&')}($|[^\\w$])`)
  const mentions = node => word.test(code.slice(node.start, node.end))
  const exits = s => s.type === 'ReturnStatement' || s.type === 'ThrowStatement' || (s.type === 'BlockStatement' && s.body.length > 0 && exits(s.body[0]))
  for (let i = ancestors.length - 2; i >= 0; i--) {
    const parent = ancestors[i]
    const child = ancestors[i + 1]
    if ((parent.type === 'IfStatement' || parent.type === 'ConditionalExpression') && child === parent.consequent && mentions(parent.test)) return true
    if (parent.type === 'LogicalExpression' && parent.operator === '&&' && child === parent.right && mentions(parent.left)) return true
    if (Array.isArray(parent.body)) {
      // `if (t === undefined) return` earlier in the same block
      const before = parent.body.slice(0, parent.body.indexOf(child))
      if (before.some(s => s.type === 'IfStatement' && mentions(s.test) && exits(s.consequent))) return true
    }
    if (FUNCTIONS.has(parent.type)) return false
  }
  return false
}

/** The call rules of Kaluma's native functions, and the syntax a strict script cannot have. */
export function checkKalumaCalls (ast, code, report) {
  const visitors = {
    CallExpression (node, _state, ancestors) {
      const name = node.callee.type === 'Identifier' ? node.callee.name : null
      const args = node.arguments
      // global.c set_timeout_fn / set_interval_fn: JERRYXX_CHECK_ARG_NUMBER(1, "delay"); set_timer_cb calls with no arguments.
      if (TIMERS.includes(name) && args.length < 2) report(node, `${name} without a delay: Kaluma throws TypeError "delay" argument must be a number (fix: ${name}(fn, 0))`)
      if (TIMERS.includes(name) && args.length > 2) report(node, `${name} with arguments for the callback: Kaluma passes none (fix: a closure)`)
      // global.c clear_timer_fn: JERRYXX_CHECK_ARG_NUMBER(0, "id"), so clearTimeout(undefined) throws.
      if (CLEARS.includes(name)) {
        const id = args[0]
        const text = id && code.slice(id.start, id.end)
        if (!id || isUndefined(id)) report(node, `${name}(${text || ''}) throws on Kaluma, which takes only a timer id (fix: pass the id the timer call returned)`)
        else if (!/^[0-9]+$/.test(text) && !guarded(ancestors, text, code)) report(node, `${name}(${text}) may get undefined, which throws on Kaluma (fix: test it first, e.g. if (${text} !== undefined) ${name}(${text}))`)
      }
      if (name === 'require' && args.length === 1 && args[0].type === 'Literal' && typeof args[0].value === 'string' && !KALUMA_MODULES.includes(args[0].value)) {
        report(node, `require('${args[0].value}'): Kaluma 1.2.1 on the Pico W has no such module, require throws "Failed to load module" (fix: a Kaluma module such as net, wifi, storage or wdt; Espruino's modules need "runtime": "espruino")`)
      }
    }
  }
  for (const type of Object.keys(NOT_IN_A_SCRIPT)) visitors[type] = node => report(node, NOT_IN_A_SCRIPT[type])
  ancestor(ast, visitors)
}
