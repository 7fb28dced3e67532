import type { Device } from '../device/device.js';
import { type DeviceEventType, type DeviceRegistered, type DeviceRevoked, deviceEventId } from './lifecycle-event.js';

function base<T extends DeviceEventType>(device: Device, type: T, clientId: string | null, occurredAt: Date, correlationId: string | null) {
  return {
    type,
    version: 1 as const,
    eventId: deviceEventId(device.id, type),
    deviceId: device.id,
    subject: device.subject,
    clientId,
    occurredAt: occurredAt.toISOString(),
    correlationId,
    kind: device.target.kind,
    label: device.label,
  };
}

/** The one place device events are built, so a republished event is the very same (same id, same fields). */
export function deviceRegistered(device: Device, correlationId: string | null = null): DeviceRegistered {
  return {
    ...base(device, 'device.registered', device.clientId, device.createdAt, correlationId),
    via: device.clientId === null ? 'enrolment_link' : 'client',
    expiresAt: device.expiresAt.toISOString(),
  };
}

/** The event for a revoked device, from what its row records about the revocation. */
export function deviceRevoked(device: Device, correlationId: string | null = null): DeviceRevoked {
  const { revokedAt, revocation } = device;
  if (revokedAt === null || revocation === null) throw new Error(`device ${device.id} is not revoked`);
  const by = revocation.by;
  return {
    ...base(device, 'device.revoked', by?.via === 'client' ? by.clientId : null, revokedAt, correlationId),
    via: by?.via ?? 'provider',
    reason: revocation.reason,
  };
}
