// Which serial port to flash: --port, else the config's flash.port, else the one USB serial port plugged in.
import { access, constants } from 'node:fs/promises'
import { FlashError } from './errors.mjs'

/** USB serial ports as { path, description }; built-in UARTs (ttyS*, no USB ids) can't be a board. */
export async function listUsbSerialPorts () {
  let SerialPort
  try {
    ({ SerialPort } = await import('serialport'))
  } catch {
    throw new FlashError('Cannot list serial ports (the "serialport" package is missing): pass the port, e.g. npm run flash -- --port /dev/ttyACM0')
  }
  const ports = await SerialPort.list()
  return ports
    .filter((p) => p.vendorId && p.productId && !/^\/dev\/ttyS\d+$/.test(p.path))
    .map((p) => ({ path: p.path, description: p.manufacturer || `USB ${p.vendorId}:${p.productId}` }))
}

/**
 * @param {{ cliPort?: string, configPort?: string, list?: () => Promise<{path: string, description: string}[]> }} o
 * @returns {Promise<string>}
 */
export async function choosePort ({ cliPort, configPort, list = listUsbSerialPorts }) {
  if (cliPort) return cliPort
  if (configPort) return configPort
  const ports = await list()
  if (ports.length === 1) return ports[0].path
  if (ports.length === 0) {
    throw new FlashError('No board found on USB: plug it in with a data USB cable (charge-only cables show nothing), then re-run, or pass --port /dev/ttyACM0 (see docs/troubleshooting.md)')
  }
  const names = ports.map((p) => `${p.path} (${p.description})`).join(', ')
  throw new FlashError(`Several serial ports found: ${names}. Pick the board: npm run flash -- --port ${ports[0].path}`)
}

/** Fails early with a clear message when a Unix serial device is missing or not ours to open. */
export async function checkSerialPath (port) {
  if (!port.startsWith('/dev/')) return // tcp://, COM3: nothing to check on the file system
  try {
    await access(port, constants.R_OK | constants.W_OK)
  } catch (e) {
    if (e.code === 'ENOENT') throw new FlashError(noDeviceMessage(port))
    if (e.code === 'EACCES' || e.code === 'EPERM') throw new FlashError(permissionMessage(port))
    throw e
  }
}

export const noDeviceMessage = (port) =>
  `No device at ${port}: plug the board in (data USB cable) or fix --port / flash.port; run without --port to auto-detect`

export const permissionMessage = (port) =>
  `Permission denied on ${port}: add yourself to the serial group (sudo usermod -aG dialout $USER; on Arch: uucp), log out and back in, then re-run (udev rule: docs/troubleshooting.md)`

export const busyMessage = (port) =>
  `${port} is busy: close whatever else has it open (Espruino Web IDE, another npx espruino, screen, Arduino/Thonny serial monitor), then re-run`
