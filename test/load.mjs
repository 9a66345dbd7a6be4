#!/usr/bin/env node
// `npm run test:load`: the whole `npm test`, several times in a row, while two busy loops take the
// machine's cores, as on a loaded CI machine. Prints each run's result and `passes / runs`; exits
// non-zero unless every run passed. Usage: npm run test:load [-- --runs 5 --burners 2]
import { spawn } from 'node:child_process'
import { own } from '../host/children.mjs'

function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const n = Number(process.argv[i + 1])
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name}: "${process.argv[i + 1]}" is not a whole number (fix: e.g. --${name} ${fallback})`)
    process.exit(2)
  }
  return n
}

const runs = option('runs', 5)
const burners = option('burners', 2)

// `yes > /dev/null`, as the developers' brief measures it; owned, so every path kills them.
for (let i = 0; i < burners; i++) own(spawn('sh', ['-c', 'exec yes > /dev/null'], { stdio: 'ignore' }))

let passes = 0
for (let run = 1; run <= runs; run++) {
  const started = Date.now()
  const code = await new Promise((resolve) => {
    own(spawn('npm', ['test'], { stdio: ['ignore', 'inherit', 'inherit'] })).on('exit', (code, signal) => resolve(code ?? signal))
  })
  const seconds = Math.round((Date.now() - started) / 1000)
  if (code === 0) passes++
  console.log(`test:load run ${run}/${runs}: ${code === 0 ? 'passed' : `FAILED (${code})`} in ${Math.floor(seconds / 60)} min ${seconds % 60} s, with ${burners} burner(s)`)
}
console.log(`test:load: ${passes} / ${runs} runs passed`)
process.exit(passes === runs ? 0 : 1)
