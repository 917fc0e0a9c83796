/**
 * Metric names, in one place so the docs/observability.md table and the code cannot drift. Each mirrors a CloudWatch metric of
 * the KMS XKS integration where one exists, so a dashboard can show the proxy's view next to AWS's.
 */
export const METRIC = {
  /** XksProxyErrors analogue (with the successes): requests by operation, key store, status, errorName. */
  requests: 'xksgate_requests_total',
  /** XksProxyLatency analogue: time from the request head to the response, same labels. */
  requestDuration: 'xksgate_request_duration_seconds',
  /** One PKCS#11 operation as the pool answers it, queue wait included. */
  hsmDuration: 'xksgate_hsm_operation_duration_seconds',
  hsmQueueDepth: 'xksgate_hsm_queue_depth',
  hsmInFlight: 'xksgate_hsm_operations_in_flight',
  hsmSessions: 'xksgate_hsm_sessions_open',
  /** Batches sent to the HSM worker threads, and the operations they carried: their ratio is the mean batch size. */
  hsmBatches: 'xksgate_hsm_batches_total',
  hsmBatchedOps: 'xksgate_hsm_batched_operations_total',
  /** Session opens and recoveries (reopen, re-login, re-initialise, key re-found, recovery failed), by event. */
  hsmSessionEvents: 'xksgate_hsm_session_events_total',
  /** Per HSM backend (label `backend`): its state with its circuit breaker, sessions, breaker openings, failovers. */
  hsmBackendState: 'xksgate_hsm_backend_state',
  hsmBackendSessions: 'xksgate_hsm_backend_sessions_open',
  hsmBreakerOpens: 'xksgate_hsm_backend_breaker_opens_total',
  hsmFailovers: 'xksgate_hsm_backend_failovers_total',
  /** Per HSM backend: operations in the HSM now, the concurrency limit learnt from its latency, and that latency. */
  hsmBackendConcurrency: 'xksgate_hsm_backend_concurrency',
  hsmBackendConcurrencyLimit: 'xksgate_hsm_backend_concurrency_limit',
  hsmCallDuration: 'xksgate_hsm_call_duration_seconds',
  /** Slow operations also sent to another backend (hsm[].hedge), and those the other backend answered first. */
  hsmHedges: 'xksgate_hsm_backend_hedges_total',
  hsmHedgesWon: 'xksgate_hsm_backend_hedges_won_total',
  /** Requests refused because their SigV4 signature was already used. */
  replayHits: 'xksgate_replay_rejections_total',
  /** Replay checks Redis could not answer in budget (served locally under fail-open-local, 503 under fail-closed). */
  replayRedisErrors: 'xksgate_replay_redis_errors_total',
  replayRedisUp: 'xksgate_replay_redis_up',
  /** Signatures accepted during a Redis outage (fail-open-local) and not yet written to Redis. */
  replayRedisBacklog: 'xksgate_replay_redis_backlog',
  /** The in-process signature table: live entries, capacity and the bytes it holds (allocated at startup). */
  replayLocalEntries: 'xksgate_replay_local_entries',
  replayLocalCapacity: 'xksgate_replay_local_capacity',
  replayLocalBytes: 'xksgate_replay_local_bytes',
  /** Requests refused with 429 because the in-process table had no room (it never drops a live signature). */
  replayLocalRefusals: 'xksgate_replay_local_refusals_total',
  /** XksProxyCredentialAge analogue: days since each credential was issued (its createdAt or secret file's mtime). */
  credentialAge: 'xksgate_credential_age_days',
  /** XksProxyCertificateDaysToExpire analogue. */
  certDaysToExpire: 'xksgate_tls_certificate_days_to_expire',
  /** XksExternalKeyManagerStates analogue: 1 for the state the deep health check last saw (per process, summed). */
  ekmState: 'xksgate_ekm_health_state',
  fleetSize: 'xksgate_fleet_size',
  /** Log lines dropped because stdout was not read and 16 MiB were waiting (src/log.ts). */
  logLinesDropped: 'xksgate_log_lines_dropped_total',
  ready: 'xksgate_ready',
  /** Audit records dropped because the disk could not keep up and the buffer was full (the chain declares them). */
  auditDropped: 'xksgate_audit_records_dropped_total',
  /** Failed writes of the audit file (retried; the records wait in memory). */
  auditWriteErrors: 'xksgate_audit_write_errors_total',
  /** Audit bytes waiting for the disk. */
  auditBuffered: 'xksgate_audit_buffered_bytes',
  /** 1, labelled version, commit, node_version, frontend, uws_build (src/metrics/build-info.ts). */
  buildInfo: 'xksgate_build_info',
  /** 429s by key store and reason: quota (its token bucket), overload (in-flight limit, replay table), deadline. */
  throttled: 'xksgate_throttled_requests_total',
  /** Requests decided by a key store's policy, by the deciding statement (Sid, or implicit-deny) and decision. */
  policyDecisions: 'xksgate_policy_decisions_total',
} as const
