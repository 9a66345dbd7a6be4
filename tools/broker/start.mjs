// npm run broker -- start: mosquitto in the foreground, in D (its config's paths are relative to D).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BrokerError } from './files.mjs'
import { MOSQUITTO, NO_MOSQUITTO } from './mosquitto.mjs'

/**
 * @param {string} dir the directory init wrote
 * @returns {import('node:child_process').ChildProcess} mosquitto, its output piped
 */
export function spawnBroker (dir) {
  dir = resolve(dir)
  if (!MOSQUITTO) throw new BrokerError(NO_MOSQUITTO)
  if (!existsSync(join(dir, 'mosquitto.conf'))) throw new BrokerError(`--dir: ${dir} has no mosquitto.conf (fix: npm run broker -- init --dir ${dir} first)`)
  return spawn(MOSQUITTO, ['-c', 'mosquitto.conf'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** A hint for a line of mosquitto's log that means it cannot run, or undefined. */
export function hintFor (line) {
  if (/Address already in use/.test(line)) return 'another program holds the port, often Debian\'s own mosquitto service (fix: sudo systemctl disable --now mosquitto, or choose other ports with init --mqtt-port/--ws-port)'
  if (/Unable to open|Error opening/.test(line)) return 'mosquitto cannot read its files (fix: start it as the user who ran init, from npm run broker -- start or the systemd unit)'
}
