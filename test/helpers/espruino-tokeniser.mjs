// EspruinoTools' own pretokeniser (node_modules/espruino/plugins/pretokenise.js), loaded as the Web
// IDE loads it: a script expecting the globals `acorn` and `Espruino`. Tests only: the oracle that
// tools/build/pretokenise.mjs must match, and the stand-in board's way back to runnable text.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import vm from 'node:vm'
import * as acorn from 'acorn'

const PLUGIN = createRequire(import.meta.url).resolve('espruino/plugins/pretokenise.js')

function load () {
  const Espruino = {
    Plugins: {},
    Config: { PRETOKENISE: 2 }, // "Yes (always tokenise everything, regardless of version)"
    // untokenise writes raw strings back as literals; JSON's are valid JS for chars 0..255.
    Core: { Env: { getBoardData: () => ({}) }, Utils: { toJSONishString: (s) => JSON.stringify(s) } },
  }
  vm.runInNewContext(readFileSync(PLUGIN, 'utf8'), { acorn, Espruino, console })
  return Espruino.Plugins.Pretokenise
}

/** @type {{ tokenise: (code: string) => string, untokenise: (code: string) => string }} */
export const espruinoTools = load()
