// With --tls: a CA of the restaurant's own and a server certificate for --host, made with openssl.
// RSA 2048, because Espruino's mbedtls offers only RSA and DHE-RSA key exchanges (docs/broker.md).
import { execFileSync } from 'node:child_process'
import { X509Certificate, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync, rmSync, chmodSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'

export const CA = 'ca.pem'
const CA_KEY = 'ca.key'
export const CERT = 'server.pem'
export const KEY = 'server.key'

const RENEW_DAYS = 30

function openssl (dir, args) {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const why = err.code === 'ENOENT' ? 'openssl is not installed (fix: apt-get install -y openssl)' : String(err.stderr || err.message).trim()
    throw new Error(`openssl ${args[0]} failed: ${why}`)
  }
}

const san = host => `${isIP(host) ? 'IP' : 'DNS'}:${host}`

// Whether the server certificate is missing, for another host, or about to expire.
function needsServerCert (dir, host) {
  const path = join(dir, CERT)
  if (!existsSync(path) || !existsSync(join(dir, KEY))) return true
  const cert = new X509Certificate(readFileSync(path))
  const names = (cert.subjectAltName || '').split(', ').map(n => n.replace('IP Address:', 'IP:'))
  return !names.includes(san(host)) || new Date(cert.validTo) - Date.now() < RENEW_DAYS * 86400e3
}

/**
 * Makes what is missing in `dir`: the CA (kept across runs: devices and tablets trust it) and a
 * server certificate whose SAN is `host` (made again when the host changed or it expires soon).
 * @returns {string[]} what was made
 */
export function ensureCerts (dir, host) {
  const made = []
  if (!existsSync(join(dir, CA)) || !existsSync(join(dir, CA_KEY))) {
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', CA_KEY, '-out', CA, '-days', '3650',
      '-subj', '/CN=tablecall broker CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    made.push(CA)
  }
  if (made.length || needsServerCert(dir, host)) {
    const ext = join(dir, 'server.ext')
    writeFileSync(ext, `subjectAltName=${san(host)}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`)
    try {
      openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', KEY, '-out', 'server.csr', '-subj', `/CN=${host}`])
      openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', CA, '-CAkey', CA_KEY, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
        '-days', '825', '-extfile', 'server.ext', '-out', CERT])
    } finally {
      rmSync(ext, { force: true })
      rmSync(join(dir, 'server.csr'), { force: true })
    }
    made.push(CERT)
  }
  for (const key of [CA_KEY, KEY]) chmodSync(join(dir, key), 0o600)
  return made
}
