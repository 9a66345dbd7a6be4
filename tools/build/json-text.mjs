// Reads a JSON file. A syntax error is reported as line and column with what was expected there, never
// with an excerpt of the text: the local overlay holds passwords.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

/** Where the first syntax error of `text` is, and what was expected there; null if it is valid JSON. */
function syntaxError (text) {
  let i = 0
  const end = () => i >= text.length
  const fail = what => { throw Object.assign(new SyntaxError(end() ? 'the file ends early (a missing }, ] or "?)' : what), { at: i }) }
  const space = () => { while (' \t\n\r'.includes(text[i]) && !end()) i++ }

  function string () {
    i++ // the opening quote
    for (;;) {
      if (end()) fail('')
      const c = text[i]
      if (c === '"') { i++; return }
      if (c < ' ') fail('a control character (tab, line break) inside a string: write it as \\t or \\n')
      if (c === '\\') {
        i++
        if (text[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 4
        else if (!'"\\/bfnrt'.includes(text[i]) || end()) fail('expected a valid escape after \\ (\\", \\\\, \\n, \\t or \\uXXXX)')
      }
      i++
    }
  }

  function number () {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i))
    if (!m) fail('expected a value')
    i += m[0].length
  }

  function list (close, item) {
    i++
    space()
    if (text[i] === close) { i++; return }
    for (;;) {
      item()
      space()
      if (text[i] === ',') {
        i++
        space()
        if (text[i] === close) fail(close === '}' ? 'expected a property name in double quotes (a trailing comma?)' : 'expected a value (a trailing comma?)')
        continue
      }
      if (text[i] === close) { i++; return }
      fail(`expected ',' or '${close}' (a missing comma?)`)
    }
  }

  function value () {
    space()
    const c = text[i]
    if (end()) fail('')
    else if (c === '{') {
      list('}', () => {
        space()
        if (text[i] !== '"') fail('expected a property name in double quotes')
        string()
        space()
        if (text[i] !== ':') fail("expected ':' after the property name")
        i++
        value()
      })
    } else if (c === '[') list(']', value)
    else if (c === '"') string()
    else if (c === '-' || (c >= '0' && c <= '9')) number()
    else {
      const word = ['true', 'false', 'null'].find(w => text.startsWith(w, i))
      if (!word) fail('expected a value')
      i += word.length
    }
  }

  try {
    value()
    space()
    if (!end()) fail('unexpected text after the end')
    return null
  } catch (err) {
    if (err.at === undefined) throw err
    const before = text.slice(0, err.at).split('\n')
    return { line: before.length, column: before[before.length - 1].length + 1, what: err.message }
  }
}

/** The parsed file, or undefined with one problem naming the file, the line and the column. */
export function readJson (file, problems) {
  const name = basename(file)
  let text
  try {
    // Some editors save a byte-order mark, which JSON.parse refuses.
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '')
  } catch (err) {
    problems.push(`${name}: ${err.code === 'ENOENT' ? 'file not found' : `cannot be read (${err.code})`} (fix: check the path)`)
    return undefined
  }
  try {
    return JSON.parse(text)
  } catch {
    const at = syntaxError(text)
    const where = at ? `line ${at.line}, column ${at.column}: ${at.what}` : 'not valid JSON'
    problems.push(`${name}: ${where} (fix: correct the JSON syntax there)`)
    return undefined
  }
}
