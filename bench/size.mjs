// Size: the minified bundle a device gets, whole and per source module (esbuild's metafile), and
// whole with a battery setting, beside Espruino's MQTT module and tinyMQTT minified the same way
// (ESPRUINO_MODULES, see bench/README.md).
import { build } from '../build.mjs'
import { scratch } from './harness.mjs'
import { referenceModule, REFERENCES, MODULES_SKIPPED } from './espruino.mjs'

// Issue #20: the default bundle <= 7 KB, with a battery setting <= 7,900 bytes.
export const SIZE_GOALS = { bytes: 7 * 1024, withBatteryBytes: 7900 }

const deviceBuild = async overrides => {
  const space = scratch(overrides)
  try {
    return await build({ configPath: space.configPath, outPath: space.outPath, target: 'device', env: { WIFI_SSID: 'bench' } })
  } finally {
    space.remove()
  }
}

export async function size () {
  const { bytes, modules } = await deviceBuild()
  // The battery code is in the bundle only with a battery setting (issue #13).
  const withBatteryBytes = (await deviceBuild({ battery: { pin: 'D35' } })).bytes
  const references = {}
  for (const [key, name] of Object.entries(REFERENCES)) {
    const module = await referenceModule(name)
    references[key] = module ? { name, bytes: module.bytes, file: module.file } : { name, skipped: process.env.ESPRUINO_MODULES ? `skipped: no ${name}.js in ESPRUINO_MODULES` : MODULES_SKIPPED }
  }
  return {
    bytes,
    withBatteryBytes,
    // The Kaluma bundle (Pico W, issue #14): the same core with src/platform/kaluma.ts.
    kalumaBytes: (await deviceBuild({ runtime: 'kaluma', board: 'rp2040', mqtt: { host: '192.168.1.20' } })).bytes,
    references,
    wrapperBytes: bytes - Object.values(modules).reduce((a, b) => a + b, 0),
    modules: Object.fromEntries(Object.entries(modules).sort((a, b) => b[1] - a[1])),
    goals: [
      { text: `whole bundle <= ${SIZE_GOALS.bytes} bytes`, value: bytes, met: bytes <= SIZE_GOALS.bytes },
      { text: `with a battery setting <= ${SIZE_GOALS.withBatteryBytes} bytes`, value: withBatteryBytes, met: withBatteryBytes <= SIZE_GOALS.withBatteryBytes }
    ]
  }
}
