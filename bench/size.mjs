// Size: the minified bundle a device gets, whole and per source module (esbuild's metafile).
import { build } from '../build.mjs'
import { scratch } from './harness.mjs'

export const SIZE_GOAL_BYTES = 6 * 1024
// Quoted, not measured here: Espruino's own MQTT module (modules/MQTT.min.js), QoS 0 only.
export const ESPRUINO_MQTT = { kb: 6.2, qos: '0 only', measured: false }

export async function size () {
  const space = scratch()
  try {
    const { bytes, modules } = await build({ configPath: space.configPath, outPath: space.outPath, target: 'device', env: { WIFI_SSID: 'bench' } })
    return {
      bytes,
      goalBytes: SIZE_GOAL_BYTES,
      espruinoMqtt: ESPRUINO_MQTT,
      wrapperBytes: bytes - Object.values(modules).reduce((a, b) => a + b, 0),
      modules: Object.fromEntries(Object.entries(modules).sort((a, b) => b[1] - a[1]))
    }
  } finally {
    space.remove()
  }
}
