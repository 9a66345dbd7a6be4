// The bundle must leave the board room to run: past the budget the build fails, naming what made the
// bundle big — the largest modules (esbuild's metafile) and the settings that weigh most in it.
import { deviceSettings } from './packets.mjs'
import { schema } from './config.mjs'

// The firmware is about 5 KB; code and data share the Pico W's 12,000 variables (~16 B each), so a
// bundle past 16 KB leaves too little for the program to run.
const BUNDLE_LIMIT = 16 * 1024

// esbuild's name in the metafile for the settings inlined with `define`.
const SETTINGS_INPUT = '<define:__TABLECALL__>'

const bytes = n => n.toLocaleString('en-US')
// As esbuild writes the settings with charset ascii: every other character escaped, about 6 bytes.
const weigh = settings => JSON.stringify(settings).replace(/[^\x20-\x7e]/g, 'uXXXXX').length

/** The config with one setting back at its default (or left out), to see what it weighs. */
function without (config, path) {
  const copy = structuredClone(config)
  const [section, key] = path.split('.')
  if (!key) {
    copy[section] = section === 'buttons' ? copy.buttons.slice(0, 1) : schema.properties[section].default
    return copy
  }
  const fallback = schema.properties[section]?.properties?.[key]?.default
  if (fallback === undefined) delete copy[section][key]
  else copy[section][key] = fallback
  return copy
}

/** What each setting adds to the embedded settings, largest first. */
function settingShares (config) {
  const paths = ['message', 'buttons']
  for (const [section, value] of Object.entries(config)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) if (typeof v === 'string') paths.push(`${section}.${key}`)
    }
  }
  const full = weigh(deviceSettings(config))
  const shares = []
  for (const path of paths) {
    try {
      const share = full - weigh(deviceSettings(without(config, path)))
      if (share >= 100) shares.push({ path: path === 'buttons' ? `buttons (${config.buttons.length} of them)` : path, share })
    } catch {
      // Without this setting the config makes no packets (e.g. a password without a user name): no share.
    }
  }
  return shares.sort((a, b) => b.share - a.share)
}

/** Why a bundle of `total` bytes is too big for a board, or null when it fits. */
export function sizeProblem ({ total, modules, config }) {
  if (total <= BUNDLE_LIMIT) return null
  const settings = settingShares(config).slice(0, 3).map(s => `${s.path} +${bytes(s.share)} bytes`)
  const code = Object.entries(modules).filter(([file]) => file !== SETTINGS_INPUT).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([file, n]) => `${file} ${bytes(n)} bytes`)
  const inSettings = modules[SETTINGS_INPUT] || 0
  return `the bundle is ${bytes(total)} bytes, over the ${bytes(BUNDLE_LIMIT)} bytes (16 KB) a board can hold and still run; ${bytes(inSettings)} of them are settings (fix: shorten the largest settings: ${settings.join(', ') || 'none stands out'}; largest code: ${code.join(', ')})`
}
