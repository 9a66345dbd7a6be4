// The text of D/mosquitto.conf and of the systemd unit. Every path in mosquitto.conf is relative:
// mosquitto opens them from its working directory, so it must run in D (start and the unit do).
import { CERT, KEY } from './certs.mjs'

export const PASSWD = { devices: 'devices.passwd', staff: 'staff.passwd' }
export const ACL = { devices: 'devices.acl', staff: 'staff.acl' }
export const DATA = 'data'

/**
 * @param {{user: string, bind?: string, mqttPort: number, wsPort: number, tls: boolean}} s
 */
export function mosquittoConf ({ user, bind, mqttPort, wsPort, tls }) {
  const at = port => bind ? `${port} ${bind}` : String(port)
  const secure = tls ? [`certfile ${CERT}`, `keyfile ${KEY}`] : []
  const access = who => ['allow_anonymous false', `password_file ${PASSWD[who]}`, `acl_file ${ACL[who]}`]
  return [
    '# tablecall\'s broker, written by `npm run broker -- init`: re-run it to change anything (it keeps',
    '# the passwords unless --rotate), edits here are overwritten.',
    '# The paths below are relative to the directory mosquitto runs in: run it from this directory,',
    '#   cd <this directory> && mosquitto -c mosquitto.conf',
    '# as `npm run broker -- start` and tablecall-broker.service do.',
    '',
    '# Started as root, mosquitto switches to this user: the one who ran init and owns these files.',
    `user ${user}`,
    'per_listener_settings true',
    '# Retained states and answers survive a restart of the broker, and a crash or power cut: with',
    '# autosave_on_changes, autosave_interval counts changes (retained messages, subscriptions, queued',
    '# messages), so mosquitto saves (and fsyncs) after every one (docs/broker.md: what a power cut can lose).',
    'persistence true',
    `persistence_location ${DATA}`,
    'autosave_on_changes true',
    'autosave_interval 1',
    '# A staff screen closed for good leaves its session (and a queue of calls) behind: forgotten after a',
    '# week. A device away that long starts a new session and publishes its still-calling tables again.',
    'persistent_client_expiration 7d',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'log_timestamp_format %Y-%m-%d %H:%M:%S',
    '',
    `# The call buttons: MQTT${tls ? ' over TLS' : ''}. A device's client id is its user name, so no one can take`,
    '# over (and so disconnect) a device\'s session.',
    `listener ${at(mqttPort)}`,
    ...secure,
    'use_username_as_clientid true',
    ...access('devices'),
    '',
    `# The staff screens: MQTT over WebSockets${tls ? ' (wss)' : ''}. Only the staff user logs in here.`,
    `listener ${at(wsPort)}`,
    'protocol websockets',
    ...secure,
    ...access('staff'),
    ''
  ].join('\n')
}

/** A systemd unit for this machine (absolute paths: made again by init wherever D is). */
export function systemdUnit ({ user, dir, mosquitto }) {
  return `# Runs tablecall's broker at boot. Install (once; see docs/broker.md):
#   sudo systemctl disable --now mosquitto     # Debian's own broker would hold the same ports
#   sudo cp tablecall-broker.service /etc/systemd/system/ && sudo systemctl enable --now tablecall-broker
[Unit]
Description=tablecall broker (mosquitto)
After=network-online.target
Wants=network-online.target

[Service]
User=${user}
WorkingDirectory=${dir}
ExecStart=${mosquitto} -c mosquitto.conf
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`
}
