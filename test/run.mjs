#!/usr/bin/env node
// npm test's last step: node's test runner with the given options and files, its output untouched (CI
// reads the summary), then one loud line per missing system tool, whose skipped tests node does not count.
//   node test/run.mjs --test-timeout=300000 test/*.test.mjs
import { spawn } from 'node:child_process'
import { notRunLines } from './helpers/tools.mjs'

const child = spawn(process.execPath, ['--test', ...process.argv.slice(2)], { stdio: 'inherit' })
// Ctrl-C reaches the runner too: let it finish its report, then print ours (a second Ctrl-C ends this at once).
process.once('SIGINT', () => {})
child.on('exit', (code, signal) => {
  const lines = notRunLines()
  if (lines.length) console.log(`\n${lines.join('\n')}`)
  process.exitCode = code ?? (signal ? 1 : 0)
})
