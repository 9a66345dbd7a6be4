// Size: the minified bundle a device gets, whole and per source module (esbuild's metafile).
import { build } from '../build.mjs'
import { scratch } from './harness.mjs'

// Issue #17: the default bundle stays within 8 KB.
export const SIZE_GOAL_BYTES = 8 * 1024
// Quoted, not measured here: Espruino's own MQTT module (modules/MQTT.min.js), QoS 0 only.
export const ESPRUINO_MQTT = { kb: 6.2, qos: '0 only', measured: false }

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
  return {
    bytes,
    // The battery code is in the bundle only with a battery setting (issue #13).
    withBatteryBytes: (await deviceBuild({ battery: { pin: 'D35' } })).bytes,
    // The Kaluma bundle (Pico W, issue #14): the same core with src/platform/kaluma.ts.
    kalumaBytes: (await deviceBuild({ runtime: 'kaluma', board: 'rp2040', mqtt: { host: '192.168.1.20' } })).bytes,
    goalBytes: SIZE_GOAL_BYTES,
    espruinoMqtt: ESPRUINO_MQTT,
    wrapperBytes: bytes - Object.values(modules).reduce((a, b) => a + b, 0),
    modules: Object.fromEntries(Object.entries(modules).sort((a, b) => b[1] - a[1]))
  }
}
