// Debian's mosquitto as a second real broker for tests: started on 127.0.0.1 with a generated config
// (optionally with a password file, or persistence saved only when asked), stopped by its own pid, and
// killed with the process that started it.
import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, chmodSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import net from 'node:net'
import { MOSQUITTO } from '../tools/broker/mosquitto.mjs'
import { passwordFile } from '../tools/broker/passwords.mjs'
import { own } from './children.mjs'

export const haveMosquitto = () => Boolean(MOSQUITTO)

export function freePort () {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    }).on('error', reject)
  })
}

// Resolves once the broker accepts TCP connections, or rejects with what it printed.
export function listening (port, child, output, timeoutMs) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs
    const fail = why => reject(new Error(`mosquitto did not start (${why}): ${output.join('').trim()}`))
    const exited = code => fail(`exited with ${code}`)
    child.once('exit', exited)
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        child.off('exit', exited)
        resolve()
      })
      s.once('error', () => {
        if (Date.now() > deadline) fail(`no listener on ${port} within ${timeoutMs} ms`)
        else setTimeout(attempt, 20)
      })
    }
    attempt()
  })
}

/**
 * @param {{users?: {[name: string]: string}, persistence?: boolean}} options
 *   users: a password file is generated and anonymous clients refused
 *   persistence: sessions and retained messages are saved to disk by save() and a clean stop() only
 *   (no autosave), and loaded at start(); kill() then loses what came after the last save, as a power cut does
 * @returns {Promise<{port: number, url: string, stop(): Promise<void>, start(): Promise<void>, save(): Promise<void>, kill(): Promise<void>}>}
 */
export async function startMosquitto ({ users, persistence = false } = {}) {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed (fix: apt-get install -y mosquitto)')
  const dir = mkdtempSync(join(tmpdir(), 'tablecall-mosquitto-'))
  // Started as root, mosquitto drops to its own user, which must be able to read these files.
  chmodSync(dir, 0o755)
  const port = await freePort()
  const lines = [`listener ${port} 127.0.0.1`, 'log_dest stderr', 'log_type error', 'log_type warning']
  // A folder mosquitto's own user can write (it drops root's rights); autosave_interval 0: no saves but
  // on SIGUSR1 and at a clean exit.
  const data = join(dir, 'data')
  const db = join(data, 'mosquitto.db')
  if (persistence) {
    mkdirSync(data)
    chmodSync(data, 0o777)
  }
  lines.push(...persistence ? ['persistence true', `persistence_location ${data}/`, 'autosave_interval 0'] : ['persistence false'])
  if (users) {
    const file = join(dir, 'passwords')
    writeFileSync(file, passwordFile(users))
    chmodSync(file, 0o644)
    lines.push('allow_anonymous false', `password_file ${file}`)
  } else lines.push('allow_anonymous true')
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, lines.join('\n') + '\n')

  let child = null
  const broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    /** The running mosquitto's process id (undefined while stopped). */
    get pid () {
      return child?.pid
    },
    async start () {
      const output = []
      child = own(spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }))
      child.stdout.on('data', d => output.push(String(d)))
      child.stderr.on('data', d => output.push(String(d)))
      try {
        await listening(port, child, output, 5000)
      } catch (err) {
        await broker.stop() // one that started but never listened must not linger
        throw err
      }
    },
    async stop (signal = 'SIGTERM') {
      const running = child
      child = null
      // Also when it already died (a signal leaves exitCode null), or 'exit' would never come.
      if (!running || running.exitCode !== null || running.signalCode !== null) return
      const exited = new Promise(resolve => running.once('exit', resolve))
      running.kill(signal)
      await exited
    },
    /** kill -9: nothing is saved (a power cut). */
    kill: () => broker.stop('SIGKILL'),
    /** Writes the persistence file now (mosquitto saves on SIGUSR1) and resolves once it is written. */
    async save () {
      const mtime = () => { try { return statSync(db).mtimeMs } catch { return 0 } }
      const before = mtime()
      child.kill('SIGUSR1')
      for (let i = 0; i < 250 && mtime() === before; i++) await new Promise(resolve => setTimeout(resolve, 20))
      if (mtime() === before) throw new Error('mosquitto did not save its persistence file within 5 s')
      // mosquitto writes a temporary file and renames it: once renamed, it is complete
    },
    async close () {
      await broker.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  try {
    await broker.start()
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return broker
}
