// require('Storage') over an in-memory Map of name -> binary string, which the
// device object keeps across reboots (like flash). Subset of src/jswrap_storage.c.

const MAX_NAME = 28 // JSF_MAX_FILENAME_LENGTH
const CAPACITY = 256 * 1024 // saved_code area of the RP2040 Pico board file

function toBinaryString (data) {
  if (typeof data === 'string') return data
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')
  // Device ArrayBuffers come from another realm, so no instanceof.
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return Buffer.from(data).toString('latin1')
  return String(data)
}

export function createStorageModule ({ realm, files }) {
  const checkName = (name) => {
    const s = String(name)
    if (!s.length || s.length > MAX_NAME) throw realm.error('Error', `File name ${JSON.stringify(s)} too long or empty (max ${MAX_NAME} chars)`)
    return s
  }
  const used = () => [...files.values()].reduce((n, v) => n + v.length, 0)
  const api = {
    read (name, offset = 0, length) {
      const content = files.get(checkName(name))
      if (content === undefined) return undefined
      return content.substr(offset, length ?? content.length)
    },
    readJSON (name, noExceptions) {
      const text = api.read(name)
      if (text === undefined) return undefined
      try {
        return realm.global.JSON.parse(text)
      } catch (err) {
        if (noExceptions) return undefined
        throw err
      }
    },
    readArrayBuffer (name) {
      const text = api.read(name)
      return text === undefined ? undefined : new realm.global.Uint8Array(Buffer.from(text, 'latin1')).buffer
    },
    write (name, data, offset, size) {
      const key = checkName(name)
      const bytes = toBinaryString(data)
      if (offset === undefined) {
        files.set(key, bytes)
      } else {
        // Espruino's partial writes: create a file of `size` bytes first, then fill at offset.
        const base = size !== undefined ? '\xff'.repeat(size) : files.get(key) ?? ''
        const current = offset === 0 && size !== undefined ? base : files.get(key) ?? base
        files.set(key, current.slice(0, offset) + bytes + current.slice(offset + bytes.length))
      }
      if (used() > CAPACITY) throw realm.error('Error', 'Unable to find or create file')
      return true
    },
    writeJSON (name, data) {
      return api.write(name, realm.global.JSON.stringify(data))
    },
    erase (name) {
      files.delete(checkName(name))
    },
    eraseAll () {
      files.clear()
    },
    list (pattern) {
      const names = [...files.keys()].filter((n) => (pattern ? new RegExp(pattern.source ?? pattern).test(n) : true))
      return realm.data(names.sort())
    },
    getFree () {
      return CAPACITY - used()
    },
    compact () {}
  }
  return realm.object(api)
}
