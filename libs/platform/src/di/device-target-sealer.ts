import type { DeviceTargetSealer } from '@ciba/persistence';
import type { KeyEncryptor } from '@ciba/tokens';

/**
 * Device targets sealed with the key-encryption key: each bound to its device id, looked up by a
 * keyed fingerprint. One definition for the services and the admin CLI, so both read what the
 * other wrote.
 */
export function deviceTargetSealer(encryptor: KeyEncryptor): DeviceTargetSealer {
  return {
    seal: (plaintext, deviceId) => encryptor.encrypt(plaintext, `device:${deviceId}`),
    open: (sealed, deviceId) => encryptor.decrypt(sealed, `device:${deviceId}`),
    fingerprint: (plaintext) => encryptor.fingerprint(plaintext, 'device target'),
  };
}
