#!/usr/bin/env node
// Builds the staff board into a static folder (index.html + app.js + board.css) and optionally serves it.
//   npm run board                      build into dist/board and serve on http://127.0.0.1:8080
//   npm run board -- --build-only      just build (host the folder anywhere: GitHub Pages, any web server)
//   npm run board -- --port 0 --host 0.0.0.0 --out DIR   (serves the board's files only, whatever else DIR holds)
//   npm run board -- --broker-dir D    serve to the LAN (all addresses unless --host), settings prefilled
//                                      from D/board.json (written by `npm run broker -- init --dir D`)
import { readFileSync } from 'node:fs'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { networkInterfaces } from 'node:os'
import { extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as esbuild from 'esbuild'
import { ConfigError, loadConfig } from '../tools/build/config.mjs'
import { callMatcher } from './staff.js'
import { topicTemplates } from './topics.js'

const BOARD_DIR = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(BOARD_DIR, '..')
const STATIC_FILES = ['index.html', 'board.css']
// Everything the server sends from the folder: the board's own files, whatever else --out holds.
const BOARD_FILES = [...STATIC_FILES, 'app.js', 'app.js.map']
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json'
}

/**
 * The device's `message` and topic templates (config + local overlay, validated), so the board parses
 * exactly what the buttons send.
 */
export function deviceConfig (configPath = join(ROOT, 'espruino.config.json')) {
  // target 'sim': the board needs no WiFi settings, only the message and the topics.
  const { message, mqtt } = loadConfig({ configPath, target: 'sim' })
  callMatcher(message) // a template the page cannot use fails the build, not the browser
  return { message, templates: topicTemplates(mqtt) }
}

/** Bundles board/app.js (with MQTT.js's browser build) and copies the page into outDir. */
export async function buildBoard ({ outDir = join(ROOT, 'dist', 'board') } = {}) {
  await mkdir(outDir, { recursive: true })
  await esbuild.build({
    entryPoints: [join(BOARD_DIR, 'app.js')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    define: { __DEVICE_CONFIG__: JSON.stringify(deviceConfig()) }
  })
  await Promise.all(STATIC_FILES.map((f) => copyFile(join(BOARD_DIR, f), join(outDir, f))))
  return outDir
}

/**
 * The page's prefilled settings from the broker tool's `board.json` ({ url, username }; no password):
 * the local broker, every device on it (a private broker has only the restaurant's), the username.
 */
export function brokerDefaults (brokerDir) {
  const file = join(brokerDir, 'board.json')
  let json
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`--broker-dir: cannot read ${file} (${err.code ?? err.message}) (fix: run npm run broker -- init --dir ${brokerDir})`)
  }
  if (typeof json?.url !== 'string' || !/^wss?:\/\/[^/\s]+/.test(json.url)) {
    throw new Error(`--broker-dir: ${file}: "url" must be ws://HOST:PORT or wss://HOST:PORT (fix: run npm run broker -- init --dir ${brokerDir} again)`)
  }
  if (json.username !== undefined && typeof json.username !== 'string') {
    throw new Error(`--broker-dir: ${file}: "username" must be text (fix: run npm run broker -- init --dir ${brokerDir} again)`)
  }
  return { broker: json.url, devices: '+', ...(json.username ? { username: json.username } : {}) }
}

/**
 * Request -> the name of the board file it asks for (`/` is index.html; /defaults.json only with
 * defaults), or an HTTP status: any other name is 404, so nothing else in the folder is ever sent.
 */
function fileFor (req, withDefaults) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return 405
  let path
  try {
    path = new URL(req.url, 'http://x').pathname
  } catch {
    return 400 // not a path (`GET http://[`)
  }
  const name = path === '/' ? 'index.html' : path.slice(1)
  return BOARD_FILES.includes(name) || (withDefaults && name === 'defaults.json') ? name : 404
}

/**
 * Serves the board's files from dir over HTTP (GET and HEAD; no other file, no listing), and
 * `defaults` as /defaults.json; resolves with { url, close() } once listening.
 */
export function serveStatic (dir, { port = 8080, host = '127.0.0.1', defaults = null } = {}) {
  const root = resolve(dir)
  const reply = (res, status, text, headers = {}) =>
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(text)
  const server = createServer(async (req, res) => {
    const file = fileFor(req, Boolean(defaults))
    if (file === 405) return reply(res, 405, 'method not allowed', { allow: 'GET, HEAD' })
    if (file === 400) return reply(res, 400, 'bad request')
    if (file === 404) return reply(res, 404, 'not found')
    let body
    if (file === 'defaults.json') body = Buffer.from(JSON.stringify(defaults))
    else {
      try {
        body = await readFile(join(root, file))
      } catch {
        return reply(res, 404, 'not found') // not built (yet)
      }
    }
    // no-cache: a reloaded screen always gets the current build.
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body)
  })
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(err.code === 'EADDRINUSE'
      ? new Error(`port ${port} on ${host} is already in use (another board?) (fix: npm run board -- --port ${Number(port) + 1}, or stop the other program)`)
      : err))
    server.listen(port, host, () => {
      const { port: actual } = server.address()
      const shown = host.includes(':') ? `[${host}]` : host
      resolve({
        url: `http://${shown}:${actual}/`,
        close: () => new Promise(resolve => {
          server.closeAllConnections()
          server.close(resolve)
        })
      })
    })
  })
}

async function main () {
  const { values } = parseArgs({
    options: {
      'build-only': { type: 'boolean', default: false },
      port: { type: 'string', default: '8080' },
      host: { type: 'string' },
      out: { type: 'string' },
      'broker-dir': { type: 'string' }
    }
  })
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a whole number 0-65535, got "${values.port}"`)
  }
  const defaults = values['broker-dir'] ? brokerDefaults(resolve(values['broker-dir'])) : null
  const outDir = await buildBoard(values.out ? { outDir: resolve(values.out) } : {})
  console.log(`board built into ${outDir}`)
  if (values['build-only']) return
  // With the restaurant's broker the board is for its tablets: every address unless --host says otherwise.
  const host = values.host ?? (defaults ? '0.0.0.0' : '127.0.0.1')
  const { url } = await serveStatic(outDir, { port, host, defaults })
  if (defaults) console.log(`settings prefilled: broker ${defaults.broker}${defaults.username ? `, username ${defaults.username}` : ''}`)
  console.log(`staff board: ${url}  (Ctrl+C to stop)`)
  // Listening on every address: the addresses phones on the WiFi can open.
  if (host === '0.0.0.0') {
    const { port: actual } = new URL(url)
    for (const a of Object.values(networkInterfaces()).flat()) {
      if (a.family === 'IPv4' && !a.internal) console.log(`  on the network: http://${a.address}:${actual}/`)
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? `board: espruino.config.json is not valid:\n${err.message}` : `board: ${err.message}`)
    process.exit(1)
  })
}
