/**
 * The half of the extension that activation does not need, bundled apart (dist/extension-deferred.js) and
 * loaded on first use (lazy.ts): enrolment, the sync client, the audit forwarder and the grant list (they
 * validate signed documents with zod), and the policy tools (shell analysis, evaluator, test runner).
 */
export { enroll, enrollmentPath, readEnrollment, type Enrollment } from '../runtime/enroll';
export { Forwarder, readForwardStatus } from '../runtime/forward';
export { syncGrants } from '../runtime/grants';
export { SyncLoop, syncOnce, type SyncRun } from '../runtime/sync';
export * as policyTools from './services/policyTools';
