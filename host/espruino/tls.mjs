// require('tls') as Espruino 2v29 has it (libs/network/network.c, ssl_newSocketData), on node:tls:
// - `ca` must be the certificate's DER bytes (a binary string or Uint8Array); anything else, a PEM text
//   included, throws "HTTPS init failed! mbedtls_x509_crt_parse of 'ca': Invalid format" from connect();
// - the server's certificate is NOT verified (MBEDTLS_SSL_VERIFY_NONE): a wrong CA still connects;
// - SNI is always "mbed TLS Server 1";
// - TLS 1.2 with the RSA and DHE-RSA key exchanges only (Espruino's mbedtls config);
// - a failed handshake (an EC certificate, a server that does not speak TLS) is an uncaught
//   InternalError and a plain close, no 'error' event; a failed TCP connect is reported as by net.
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { createNetModule, SOCKET_ERRORS, UNKNOWN } from './net.mjs'

const CIPHERS = ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA256', 'AES256-SHA256', 'AES128-SHA', 'AES256-SHA',
  'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384', 'DHE-RSA-AES128-SHA256', 'DHE-RSA-AES256-SHA256',
  'DHE-RSA-AES128-SHA', 'DHE-RSA-AES256-SHA'].join(':')

// Parsed only, as mbedtls does; the certificate is never used to verify.
function checkDer (realm, ca) {
  const bytes = ca instanceof realm.global.Uint8Array ? Buffer.from(ca) : typeof ca === 'string' ? Buffer.from(ca, 'latin1') : null
  try {
    // DER starts with a SEQUENCE; X509Certificate alone would also take PEM.
    if (bytes && bytes[0] === 0x30 && new X509Certificate(bytes)) return
  } catch {}
  throw realm.error('InternalError', "HTTPS init failed! mbedtls_x509_crt_parse of 'ca': Invalid format")
}

export function createTlsModule ({ realm, loop, ...rest }) {
  const tcpUp = new WeakSet()
  const open = (target, options) => {
    if (options.ca !== undefined) checkDer(realm, options.ca)
    const node = tls.connect({
      host: target.host,
      port: target.port,
      servername: 'mbed TLS Server 1',
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: CIPHERS
    })
    node.once('connect', () => tcpUp.add(node))
    return { node, ready: 'secureConnect' }
  }
  const onFailure = (err, node) => {
    if (!tcpUp.has(node)) return SOCKET_ERRORS[err.code] ?? UNKNOWN
    loop.reportUncaught(realm.error('InternalError', `mbedtls_ssl_handshake returned ${err.code || err.message}`))
    return null
  }
  // Its sockets are in the shared registry: net's stop() closes them.
  return realm.object({ connect: createNetModule({ realm, loop, ...rest, open, onFailure }).module.connect })
}
