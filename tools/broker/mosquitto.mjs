// Where Debian's mosquitto is (apt-get install -y mosquitto puts it in /usr/sbin), and the fix when it is not.
import { existsSync } from 'node:fs'

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find(p => existsSync(p))

export const INSTALL_MOSQUITTO = 'sudo apt-get install -y mosquitto'
export const NO_MOSQUITTO = `mosquitto is not installed (fix: ${INSTALL_MOSQUITTO})`
