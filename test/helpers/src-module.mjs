// Imports a device module (src/*.ts) into Node for unit tests, compiled by the same esbuild.
import * as esbuild from 'esbuild'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export async function importSrc (file) {
  const result = await esbuild.build({ entryPoints: [file], bundle: true, format: 'esm', platform: 'neutral', write: false })
  const out = join(mkdtempSync(join(tmpdir(), 'tablecall-src-')), 'module.mjs')
  writeFileSync(out, result.outputFiles[0].text)
  return import(pathToFileURL(out).href)
}
