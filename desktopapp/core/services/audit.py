"""The audit log as the viewer shows it: its entries and the verdict on its hash chain."""

from desktopapp.core.store.audit import AuditEntry, AuditVerification

__all__ = ["AuditEntry", "AuditVerification"]
