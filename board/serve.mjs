#!/usr/bin/env node
// Builds the staff board into a static folder (index.html + app.js + board.css) and optionally serves it.
//   npm run board                      build into dist/board and serve on http://127.0.0.1:8080
//   npm run board -- --build-only      just build (host the folder anywhere: GitHub Pages, any web server)
//   npm run board -- --port 0 --host 0.0.0.0 --out DIR
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as esbuild from 'esbuild'
import { ConfigError, loadConfig } from '../tools/build/config.mjs'
import { templateToRegExp } from './model.js'

const BOARD_DIR = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(BOARD_DIR, '..')
const STATIC_FILES = ['index.html', 'board.css']
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json'
}

/** The device's `message` (config + local overlay, validated), so the board parses exactly what the buttons send. */
export function messageTemplate (configPath = join(ROOT, 'espruino.config.json')) {
  // target 'sim': the board needs no WiFi settings, only the message.
  const { message } = loadConfig({ configPath, target: 'sim' })
  templateToRegExp(message) // a template the page cannot use fails the build, not the browser
  return message
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
    define: { __MESSAGE_TEMPLATE__: JSON.stringify(messageTemplate()) }
  })
  await Promise.all(STATIC_FILES.map((f) => copyFile(join(BOARD_DIR, f), join(outDir, f))))
  return outDir
}

/** Serves dir over HTTP; resolves with { url, close() } once listening. */
export function serveStatic (dir, { port = 8080, host = '127.0.0.1' } = {}) {
  const root = resolve(dir)
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname)
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path))
    const type = TYPES[extname(file)]
    if (!file.startsWith(root + sep) || !type) {
      res.writeHead(404).end('not found')
      return
    }
    try {
      const body = await readFile(file)
      // no-cache: a reloaded screen always gets the current build.
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' }).end(body)
    } catch {
      res.writeHead(404).end('not found')
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
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
      host: { type: 'string', default: '127.0.0.1' },
      out: { type: 'string' }
    }
  })
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a whole number 0-65535, got "${values.port}"`)
  }
  const outDir = await buildBoard(values.out ? { outDir: resolve(values.out) } : {})
  console.log(`board built into ${outDir}`)
  if (values['build-only']) return
  const { url } = await serveStatic(outDir, { port, host: values.host })
  console.log(`staff board: ${url}  (Ctrl+C to stop)`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? `board: espruino.config.json is not valid:\n${err.message}` : `board: ${err.message}`)
    process.exit(1)
  })
}
