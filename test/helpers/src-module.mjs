// Imports a device module (src/*.ts) into Node for unit tests, compiled by the same esbuild.
// `platform`: the source of a stand-in for './platform' (the adapter), for a module that needs one;
// `define`: settings the build would inline, e.g. { '__TABLECALL__.ssid': '"Café"' }.
import * as esbuild from 'esbuild'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export async function importSrc (file, { platform, define } = {}) {
  const plugins = platform === undefined
    ? []
    : [{
        name: 'platform',
        setup (b) {
          b.onResolve({ filter: /^\.\.?\/platform$/ }, () => ({ path: 'platform', namespace: 'stand-in' }))
          b.onLoad({ filter: /.*/, namespace: 'stand-in' }, () => ({ contents: platform, loader: 'js' }))
        }
      }]
  const result = await esbuild.build({ entryPoints: [file], bundle: true, format: 'esm', platform: 'neutral', write: false, define, plugins })
  const out = join(mkdtempSync(join(tmpdir(), 'tablecall-src-')), 'module.mjs')
  writeFileSync(out, result.outputFiles[0].text)
  return import(pathToFileURL(out).href)
}
