// Files that hold a secret (the bundle carries the WiFi and MQTT passwords; the broker folder its logins) are the owner's only.
import { chmodSync, writeFileSync } from 'node:fs'

/**
 * Writes `text` to `path`, mode 0600 from its first byte. chmod as well: a file that already exists
 * keeps its mode on a write, and is emptied by it before the chmod, so nothing is readable meanwhile.
 */
export function writePrivate (path, text) {
  writeFileSync(path, text, { mode: 0o600 })
  chmodSync(path, 0o600)
}
