// Espruino's string literals are bytes (src/jslex.c, jslLexString, 2v29): `\xNN` is one byte; a
// non-ASCII character in the uploaded (UTF-8) source is its UTF-8 bytes; `\uNNNN` is cropped to its
// low 8 bits on boards built without ESPR_UNICODE_SUPPORT, as ESP32 and the Pico are (only the Linux
// and Bangle.js builds turn it into UTF-8). V8 reads the same literals as UTF-16 code units, so the
// bundle's literals are rewritten to one char per byte before it runs.
import * as acorn from 'acorn'

const hex = byte => '\\x' + byte.toString(16).padStart(2, '0')
const utf8 = text => [...Buffer.from(text, 'utf8')].map(hex).join('')

/** The raw text of a string literal or template chunk, rewritten to Espruino's bytes. */
function bytesOf (raw) {
  return raw.replace(/\\(u([0-9a-fA-F]{4})|[^])|[\x80-\uffff]+/g, (all, escape, code) => {
    if (!escape) return utf8(all)
    return code === undefined ? all : hex(parseInt(code, 16) & 0xff)
  })
}

/** `code` with every string literal and template chunk holding exactly the bytes Espruino would. */
export function espruinoStrings (code) {
  // Nothing to do for pure-ASCII code without \u escapes, the usual case.
  if (!/[\x80-\uffff]|\\u/.test(code)) return code
  let out = ''
  let at = 0
  try {
    for (const token of acorn.tokenizer(code, { ecmaVersion: 'latest', allowHashBang: true })) {
      if (token.type !== acorn.tokTypes.string && token.type !== acorn.tokTypes.template) continue
      out += code.slice(at, token.start) + bytesOf(code.slice(token.start, token.end))
      at = token.end
    }
  } catch (e) {
    return code // not JavaScript: running it reports the syntax error in the device realm
  }
  return out + code.slice(at)
}
