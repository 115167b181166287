/**
 * Audit sealing: the row trigger writes each entry, in the changing transaction, to audit_pending (no
 * lock); worker processes move committed entries into each tenant's hash chain every
 * AUDIT_SEAL_INTERVAL_MS (audit.seal_all(), migrations/0025_audit_sealing.sql). Readers of the trail
 * seal their own tenant first (sealAuditLogs), so nothing committed is ever missing from a read.
 * Safe in several processes at once: each tenant's chain head lock serializes its sealers.
 */
import type { App } from '../../app.js';
import { sealAllAuditLogs } from './service.js';

export function startAuditSealer(app: App): void {
  app.jobs.every('audit-seal', app.config.AUDIT_SEAL_INTERVAL_MS, () => sealAllAuditLogs(app.systemDb));
}
