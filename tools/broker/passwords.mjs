// Credentials: random passwords and ids, and mosquitto's password file format, made here so no
// password ever appears on a command line (mosquitto_passwd -b would show it in `ps`).
import { randomBytes, pbkdf2Sync } from 'node:crypto'

export const newPassword = () => randomBytes(16).toString('base64url')

/** 8 hex digits, the form of a device id (`id` in the config). */
export const newId = () => randomBytes(4).toString('hex')

// mosquitto_passwd's default: "$7$" = PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt, 64-byte hash.
const ITERATIONS = 101

function passwordLine (user, password, salt = randomBytes(12)) {
  const hash = pbkdf2Sync(password, salt, ITERATIONS, 64, 'sha512')
  return `${user}:$7$${ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`
}

/** A password file's content for {user: password}. */
export const passwordFile = users => Object.entries(users).map(([u, p]) => passwordLine(u, p) + '\n').join('')
