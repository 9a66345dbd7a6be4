// Pretokenises JavaScript for Espruino: what EspruinoTools' plugins/pretokenise.js produces with
// PRETOKENISE=2 ("always tokenise everything", the Web IDE's Pretokenise option), byte for byte
// (test/pretokenise.test.mjs compares the two). Why: a string literal evaluated from `.bootcde` is
// copied into RAM blocks, but a raw string token longer than one block becomes a reference into
// flash (Espruino 2v29 src/jslex.c jslGetRawString), so a program kept in flash holds less memory.
import { tokenizer } from 'acorn'

// Operators and reserved words in Espruino's order (src/jslex.h): token byte = 138 + index.
const LEX_OPERATOR_START = 138
const TOKENS = [
  '==', '===', '!=', '!==', '<=', '<<', '<<=', '>=', '>>', '>>>', '>>=', '>>>=', '+=', '-=', '++', '--',
  '*=', '/=', '%=', '&=', '&&', '|=', '||', '^=', '=>',
  'if', 'else', 'do', 'while', 'for', 'break', 'continue', 'function', 'return', 'var', 'let', 'const',
  'this', 'throw', 'try', 'catch', 'finally', 'true', 'false', 'null', 'undefined', 'new', 'in',
  'instanceof', 'switch', 'case', 'default', 'delete', 'typeof', 'void', 'debugger', 'class', 'extends',
  'super', 'static', 'of'
]
// Raw literals: a length (1 or 2 bytes, little-endian) then the string's bytes; an int in 0, 1 or 2 bytes.
const RAW_STRING8 = 0xD1
const RAW_STRING16 = 0xD2
const RAW_INT0 = 0xD3
const RAW_INT8 = 0xD4
const RAW_INT16 = 0xD5
// After these a '-' is a sign, not a subtraction (EspruinoTools' rule, kept as it is).
const BEFORE_SIGN = [',', '(', ':', '?', '=']

/** acorn's tokens as EspruinoTools sees them: a template literal is one token, a STRING if it has no ${}. */
function lexer (code) {
  const tokens = tokenizer(code, { ecmaVersion: 2020 })
  return () => {
    const tk = tokens.getToken()
    const label = tk.type.label
    if (label === 'eof') return undefined
    let end = tk.end
    let value = tk.value
    let type = label === 'string' ? 'STRING' : label === 'num' ? 'NUMBER' : tk.type.keyword || label === 'name' ? 'ID' : 'OTHER'
    if (label === '`') {
      let next
      let nesting = 0
      let templated = false
      do {
        next = tokens.getToken()
        if (next.type.label === 'template') value = next.value
        if (next.type.label === '${') { templated = true; nesting++ }
        if (next.type.label === '{') nesting++
        if (next.type.label === '}') nesting--
      } while (nesting > 0 || next.type.label !== '`')
      end = next.end
      // With ${} it must be evaluated at run time: sent as written.
      type = templated ? 'TEMPLATE' : 'STRING'
    }
    return { start: tk.start, end, str: code.slice(tk.start, end), value, type }
  }
}

const chars = (...codes) => String.fromCharCode(...codes)

/** An integer as a raw int in as few bytes as fit, else as written. */
function rawInt (value, str) {
  if (value === 0) return chars(RAW_INT0)
  if (value >= -128 && value < 128) return chars(RAW_INT8, value & 255)
  if (value >= -32768 && value < 32768) return chars(RAW_INT16, value & 255, (value >> 8) & 255)
  return (value < 0 ? '-' : '') + str
}

/**
 * Returns `code` pretokenised: a string of chars 0..255, one byte each once stored. Whitespace and
 * comments go, except a newline between statements at bracket depth 0 (as EspruinoTools keeps it).
 */
export function pretokenise (code) {
  const next = lexer(code)
  let out = ''
  let brackets = 0
  let lastEnd = 0
  let last = { str: '', type: '' }
  let beforeLast = last
  for (let tok = next(); tok; tok = next()) {
    const { str } = tok
    if (['(', '{', '['].includes(str)) brackets++
    if (brackets === 0 && code.slice(lastEnd, tok.start).includes('\n')) out += '\n'
    if ([')', '}', ']'].includes(str)) brackets--
    // `catch` stays text: Espruino issue #1868.
    const token = str === 'catch' ? -1 : TOKENS.indexOf(str)
    if (tok.type === 'STRING' && /^[\0-\xff]*$/.test(tok.value)) {
      const n = tok.value.length
      if (n >= 0x10000) throw new Error(`pretokenise: a string literal of ${n} chars at offset ${tok.start}: Espruino's raw strings hold at most 65,535; split it`)
      // An empty string is shorter as its quotes.
      out += n === 0 ? str : n < 256 ? chars(RAW_STRING8, n) + tok.value : chars(RAW_STRING16, n & 255, n >> 8) + tok.value
    } else if (tok.type === 'NUMBER') {
      if (tok.value !== Math.round(tok.value)) {
        out += str // not an integer: as written, and (as in EspruinoTools) with no space after a name
      } else if (last.str === '-' && BEFORE_SIGN.includes(beforeLast.str)) {
        out = out.slice(0, -1) + rawInt(-tok.value, str) // the '-' is a sign: into the raw int
      } else {
        out += rawInt(tok.value, str)
      }
    } else if (token >= 0) {
      out += chars(LEX_OPERATOR_START + token)
      tok.type = 'TOKEN'
    } else {
      // Two names or numbers in a row need a space between them (a token byte needs none).
      if (['ID', 'NUMBER'].includes(tok.type) && ['ID', 'NUMBER'].includes(last.type)) out += ' '
      out += str
    }
    lastEnd = tok.end
    beforeLast = last
    last = tok
  }
  return out
}
