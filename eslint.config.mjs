// One code style for the whole project: standard style (no semicolons, two spaces, single quotes,
// a space before a function's parentheses), checked by `npm run lint`, which `npm test` runs first.
import neostandard from 'neostandard'
import globals from 'globals'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'board/vendor/**'] }),
  // The staff board and the browser side of its tests run in a page.
  { files: ['board/*.js', 'test/board.test.mjs'], languageOptions: { globals: { ...globals.browser, __DEVICE_CONFIG__: 'readonly' } } },
  // A stand-in firmware bundle runs in Espruino, which has print().
  { files: ['test/fixtures/flash/*.js'], languageOptions: { globals: { print: 'readonly' } } },
  // Terminal and console protocols are made of control characters.
  { files: ['bench/espruino.mjs', 'test/fixtures/flash/fake-repl.mjs'], rules: { 'no-control-regex': 'off' } }
]
