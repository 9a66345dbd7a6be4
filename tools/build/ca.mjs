// mqtt.ca: the broker's CA certificate, read from PEM at build time and embedded as DER, the only form
// Espruino 2v29's tls module parses (its mbedtls is built without PEM support; see docs/broker.md).
import { readFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'

/**
 * @param {string} path absolute path of a PEM file
 * @returns {Buffer} the certificate's DER bytes
 * @throws Error saying what is wrong with the file, worded to follow "mqtt.ca: "
 */
export function readCa (path) {
  let text
  try {
    text = readFileSync(path, 'latin1')
  } catch (err) {
    throw new Error(`${path}: ${err.code === 'ENOENT' ? 'file not found' : err.message} (fix: point it at the broker's CA certificate, e.g. ca.pem written by \`npm run broker -- init --tls\`)`)
  }
  try {
    if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate')
    return new X509Certificate(text).raw
  } catch {
    throw new Error(`${path}: not a PEM certificate (fix: use the CA certificate, the file that starts with -----BEGIN CERTIFICATE-----, not a key)`)
  }
}
