/*
 * A PKCS#11 module that behaves like an HSM across a network: it forwards every call to a real module (SoftHSM by
 * default) and shapes the calls on the way. Built at test time by test/helpers/shaped-hsm.ts (g++, with the
 * PKCS#11 headers pkcs11js ships); see docs/shaped-hsm.md for the control words and what each one models.
 *
 * Configuration: `<this library's path>.conf` (lines `target=PATH`, `control=PATH`) or, without that file, the
 * environment (SHAPED_HSM_TARGET, SHAPED_HSM_CONTROL and the SHAPED_HSM_* shaping defaults read by init_from_env).
 * The control region is a file mapped shared, so a test or the bench changes the shaping of every process that
 * loaded the module by writing a 32-bit word, and reads the counters the module keeps there. A call reads a few
 * words from memory: no system call unless it sleeps.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <math.h>
#include <pkcs11/pkcs11.h>

/* The control region's words (uint32 each, little-endian); test/helpers/shaped-hsm.ts names the same indices. */
enum {
  W_MAGIC, W_LATENCY_US, W_JITTER_US, W_JITTER_KIND, W_MAX_OPS, W_CAP_MODE, W_MAX_SESSIONS, W_FAULT,
  W_FAULT_PPM, W_FAULT_REMAINING, W_GCM_UNSUPPORTED, W_GENERATION, W_CALL_LATENCY_US, W_SERVICE_US,
  W_RESERVED_14, W_RESERVED_15,
  /* counters the module keeps */
  W_IN_FLIGHT, W_MAX_IN_FLIGHT, W_OPS, W_FAULTS, W_SESSIONS, W_SESSIONS_REFUSED, W_STALE_CALLS, W_BUSY_REFUSED,
  W_HANGING, W_ASKED, W_MAX_ASKED, W_WORDS = 64,
};
enum { JITTER_UNIFORM = 0, JITTER_EXPONENTIAL = 1 };
enum { CAP_QUEUE = 0, CAP_REFUSE = 1 };
enum { FAULT_NONE = 0, FAULT_FUNCTION_FAILED = 1, FAULT_DEVICE_ERROR = 2, FAULT_HANG = 3 };
static const uint32_t MAGIC = 0x31504853; /* "SHP1" */
#define MAX_TRACKED_HANDLE (1u << 20)

static uint32_t local_words[W_WORDS];
static uint32_t *ctl = local_words;
static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST shaped;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static CK_RV load_error = CKR_OK;

/* Sessions opened through this module: the generation they were opened in (plus one; 0 = not ours) and slot. */
static struct { uint32_t gen_plus1; uint32_t slot; } sessions[MAX_TRACKED_HANDLE];
/* The generation in which this process last logged in; -1: not logged in (or logged out). */
static int64_t login_gen = -1;

static uint32_t rd (int w) { return __atomic_load_n(&ctl[w], __ATOMIC_ACQUIRE); }
static void add (int w, int32_t n) { __atomic_add_fetch(&ctl[w], (uint32_t)n, __ATOMIC_ACQ_REL); }

static void sleep_us (uint64_t us) {
  if (us == 0) return;
  struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static uint64_t next_random (void) {
  static __thread uint64_t state;
  if (state == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)pthread_self() ^ 0x9E3779B97F4A7C15ull;
  }
  state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

static double unit_random (void) { return (double)(next_random() >> 11) / 9007199254740992.0; }

/*
 * The round trip: the fixed latency plus a jitter draw, slept once before the work (one sleep, not one per
 * direction: each sleep costs a wake-up, which on a loaded machine is worth more than a 0.5 ms latency).
 */
static uint64_t round_trip_us (void) {
  uint64_t fixed = rd(W_LATENCY_US), jitter = rd(W_JITTER_US), extra = 0;
  if (jitter > 0) {
    if (rd(W_JITTER_KIND) == JITTER_EXPONENTIAL) {
      double draw = -log(1.0 - unit_random()) * (double)jitter;
      extra = (uint64_t)(draw > 50.0 * jitter ? 50.0 * jitter : draw);
    } else {
      extra = (uint64_t)(unit_random() * (double)jitter);
    }
  }
  return fixed + extra;
}

static long futex (uint32_t *addr, int op, uint32_t val, const struct timespec *timeout) {
  return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

/* A slot of the appliance's capacity, shared by every process mapping the control file. 0: unlimited. */
/* Raises the high-water mark in word `w` to `value`. */
static void raise_mark (int w, uint32_t value) {
  uint32_t seen = rd(w);
  while (value > seen &&
         !__atomic_compare_exchange_n(&ctl[w], &seen, value, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {}
}

/*
 * Operations the clients have outstanding at the HSM, from their arrival (before the round trip) to their
 * answer, whether they hold a slot of the capacity, wait for one or are refused: what a client sends at once,
 * which the capacity's own count (W_IN_FLIGHT, never above the cap) cannot show.
 */
static void asked (int32_t n) {
  uint32_t now = __atomic_add_fetch(&ctl[W_ASKED], (uint32_t)n, __ATOMIC_ACQ_REL);
  if (n > 0) raise_mark(W_MAX_ASKED, now);
}

static int take_capacity (void) {
  for (;;) {
    uint32_t cap = rd(W_MAX_OPS), cur = rd(W_IN_FLIGHT);
    if (cap == 0 || cur < cap) {
      if (__atomic_compare_exchange_n(&ctl[W_IN_FLIGHT], &cur, cur + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        raise_mark(W_MAX_IN_FLIGHT, cur + 1);
        return 1;
      }
      continue;
    }
    if (rd(W_CAP_MODE) == CAP_REFUSE) return 0;
    /* Bounded wait: the cap may be raised by the controller, which does not wake anyone. */
    struct timespec wait = { 0, 2000000 };
    futex(&ctl[W_IN_FLIGHT], FUTEX_WAIT, cur, &wait);
  }
}

static void give_capacity (void) {
  add(W_IN_FLIGHT, -1);
  futex(&ctl[W_IN_FLIGHT], FUTEX_WAKE, 1, NULL);
}

/* Whether this call gets the configured fault: by probability (parts per million), within the remaining budget. */
static CK_RV draw_fault (void) {
  uint32_t kind = rd(W_FAULT);
  if (kind == FAULT_NONE || kind == FAULT_HANG) return CKR_OK;
  uint32_t ppm = rd(W_FAULT_PPM);
  if (ppm < 1000000 && (uint32_t)(next_random() % 1000000) >= ppm) return CKR_OK;
  for (;;) {
    int32_t left = (int32_t)rd(W_FAULT_REMAINING);
    if (left == 0) return CKR_OK;
    if (left < 0) break;
    uint32_t expected = (uint32_t)left;
    if (__atomic_compare_exchange_n(&ctl[W_FAULT_REMAINING], &expected, (uint32_t)(left - 1), 0, __ATOMIC_ACQ_REL,
          __ATOMIC_ACQUIRE)) break;
  }
  add(W_FAULTS, 1);
  return kind == FAULT_FUNCTION_FAILED ? CKR_FUNCTION_FAILED : CKR_DEVICE_ERROR;
}

/* The hang: the call does not come back until the controller clears it, then proceeds as a late answer. */
static void hang_while_asked (void) {
  if (rd(W_FAULT) != FAULT_HANG) return;
  add(W_HANGING, 1);
  add(W_FAULTS, 1);
  while (rd(W_FAULT) == FAULT_HANG) sleep_us(2000);
  add(W_HANGING, -1);
}

/*
 * A session call checks its handle first: one opened before the last generation bump (an HSM restart or an HA
 * failover) is gone on the HSM, so it answers CKR_SESSION_HANDLE_INVALID, and its SoftHSM session is closed here,
 * by the only thread using it, so that SoftHSM forgets it too.
 */
static CK_RV session_gate (CK_SESSION_HANDLE h) {
  if (h >= MAX_TRACKED_HANDLE) return CKR_OK;
  uint32_t mark = __atomic_load_n(&sessions[h].gen_plus1, __ATOMIC_ACQUIRE);
  if (mark == 0 || mark == rd(W_GENERATION) + 1) return CKR_OK;
  if (__atomic_compare_exchange_n(&sessions[h].gen_plus1, &mark, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    real->C_CloseSession(h);
  }
  add(W_STALE_CALLS, 1);
  return CKR_SESSION_HANDLE_INVALID;
}

/* After a restart the HSM has forgotten the login: a session needs C_Login again before it can use a key. */
static CK_RV login_gate (void) {
  int64_t g = __atomic_load_n(&login_gen, __ATOMIC_ACQUIRE);
  return g >= 0 && g != (int64_t)rd(W_GENERATION) ? CKR_USER_NOT_LOGGED_IN : CKR_OK;
}

static CK_RV plain_enter (CK_SESSION_HANDLE h) {
  CK_RV rv = session_gate(h);
  if (rv == CKR_OK) sleep_us(rd(W_CALL_LATENCY_US));
  return rv;
}

/*
 * A cryptographic operation: the round trip's latency before the work, which holds one slot of the capacity
 * for the service time (the appliance's own work) plus SoftHSM's.
 * A fault or a refusal still runs the real call (without capacity) so SoftHSM ends the operation as PKCS#11 says
 * a failed C_Encrypt does; a length query (no output buffer) is never faulted, since it would leave it active.
 */
#define OP_PRELUDE(hSession)                                        \
  CK_RV gate = session_gate(hSession);                              \
  if (gate == CKR_OK) gate = login_gate();                          \
  if (gate != CKR_OK) return gate;                                  \
  asked(1);                                                         \
  sleep_us(round_trip_us());                                        \
  hang_while_asked();                                               \
  CK_RV fault = draw_fault();                                       \
  int held = fault == CKR_OK ? take_capacity() : 0;                 \
  if (fault == CKR_OK && !held) { fault = CKR_FUNCTION_FAILED; add(W_BUSY_REFUSED, 1); } \
  if (held) sleep_us(rd(W_SERVICE_US));

#define OP_FINISH(rv, query)                                        \
  if (held) give_capacity();                                        \
  add(W_OPS, 1);                                                    \
  asked(-1);                                                        \
  return fault != CKR_OK && !(query) ? fault : rv;

#define WRAP_OP(name, params, args, query)                          \
  static CK_RV w_##name params {                                    \
    OP_PRELUDE(hSession)                                            \
    CK_RV rv = real->name args;                                     \
    OP_FINISH(rv, query)                                            \
  }

#define WRAP_PLAIN(name, params, args)                              \
  static CK_RV w_##name params {                                    \
    CK_RV rv = plain_enter(hSession);                               \
    return rv != CKR_OK ? rv : real->name args;                     \
  }

#define WRAP_KEYED(name, params, args)                              \
  static CK_RV w_##name params {                                    \
    CK_RV rv = plain_enter(hSession);                               \
    if (rv == CKR_OK) rv = login_gate();                            \
    return rv != CKR_OK ? rv : real->name args;                     \
  }

WRAP_OP(C_Encrypt, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG inLen, CK_BYTE_PTR out, CK_ULONG_PTR outLen),
  (hSession, in, inLen, out, outLen), out == NULL)
WRAP_OP(C_Decrypt, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG inLen, CK_BYTE_PTR out, CK_ULONG_PTR outLen),
  (hSession, in, inLen, out, outLen), out == NULL)
WRAP_OP(C_EncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG inLen, CK_BYTE_PTR out,
  CK_ULONG_PTR outLen), (hSession, in, inLen, out, outLen), out == NULL)
WRAP_OP(C_DecryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG inLen, CK_BYTE_PTR out,
  CK_ULONG_PTR outLen), (hSession, in, inLen, out, outLen), out == NULL)
WRAP_OP(C_EncryptFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR out, CK_ULONG_PTR outLen),
  (hSession, out, outLen), out == NULL)
WRAP_OP(C_DecryptFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR out, CK_ULONG_PTR outLen),
  (hSession, out, outLen), out == NULL)
WRAP_OP(C_Sign, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG inLen, CK_BYTE_PTR out, CK_ULONG_PTR outLen),
  (hSession, in, inLen, out, outLen), out == NULL)
WRAP_OP(C_Verify, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG inLen, CK_BYTE_PTR sig, CK_ULONG sigLen),
  (hSession, in, inLen, sig, sigLen), 0)
WRAP_OP(C_GenerateRandom, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR out, CK_ULONG outLen),
  (hSession, out, outLen), 0)
WRAP_OP(C_GenerateKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n,
  CK_OBJECT_HANDLE_PTR key), (hSession, m, t, n, key), 0)

WRAP_PLAIN(C_GetSessionInfo, (CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR info), (hSession, info))
WRAP_KEYED(C_FindObjectsInit, (CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR t, CK_ULONG n), (hSession, t, n))
WRAP_PLAIN(C_FindObjects, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR found, CK_ULONG max, CK_ULONG_PTR n),
  (hSession, found, max, n))
WRAP_PLAIN(C_FindObjectsFinal, (CK_SESSION_HANDLE hSession), (hSession))
WRAP_KEYED(C_GetAttributeValue, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n),
  (hSession, o, t, n))
WRAP_KEYED(C_SetAttributeValue, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n),
  (hSession, o, t, n))
WRAP_KEYED(C_CreateObject, (CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR o),
  (hSession, t, n, o))
WRAP_KEYED(C_DestroyObject, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE o), (hSession, o))
WRAP_KEYED(C_SignInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (hSession, m, k))
WRAP_KEYED(C_VerifyInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (hSession, m, k))

/* The HSM told to lack AES-GCM (a firmware or partition policy without it) refuses it as a real one would. */
static int gcm_refused (CK_MECHANISM_TYPE m) { return m == CKM_AES_GCM && rd(W_GCM_UNSUPPORTED) != 0; }

#define WRAP_CIPHER_INIT(name)                                                                 \
  static CK_RV w_##name (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) { \
    CK_RV rv = plain_enter(hSession);                                                          \
    if (rv == CKR_OK) rv = login_gate();                                                       \
    if (rv == CKR_OK && m != NULL && gcm_refused(m->mechanism)) rv = CKR_MECHANISM_INVALID;    \
    return rv != CKR_OK ? rv : real->name(hSession, m, k);                                     \
  }
WRAP_CIPHER_INIT(C_EncryptInit)
WRAP_CIPHER_INIT(C_DecryptInit)

static CK_RV w_C_GetMechanismInfo (CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR info) {
  return gcm_refused(m) ? CKR_MECHANISM_INVALID : real->C_GetMechanismInfo(slot, m, info);
}

static CK_RV w_C_GetMechanismList (CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  CK_RV rv = real->C_GetMechanismList(slot, list, count);
  if (rv != CKR_OK || list == NULL || rd(W_GCM_UNSUPPORTED) == 0) return rv;
  CK_ULONG kept = 0;
  for (CK_ULONG i = 0; i < *count; i++) if (list[i] != CKM_AES_GCM) list[kept++] = list[i];
  *count = kept;
  return rv;
}

/* The appliance's session limit, counted across every process that maps the control file. */
static CK_RV w_C_OpenSession (CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                              CK_SESSION_HANDLE_PTR out) {
  sleep_us(rd(W_CALL_LATENCY_US));
  for (;;) {
    uint32_t max = rd(W_MAX_SESSIONS), cur = rd(W_SESSIONS);
    if (max != 0 && cur >= max) { add(W_SESSIONS_REFUSED, 1); return CKR_SESSION_COUNT; }
    if (__atomic_compare_exchange_n(&ctl[W_SESSIONS], &cur, cur + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
  }
  uint32_t gen = rd(W_GENERATION);
  CK_RV rv = real->C_OpenSession(slot, flags, app, notify, out);
  if (rv != CKR_OK) { add(W_SESSIONS, -1); return rv; }
  if (*out < MAX_TRACKED_HANDLE) {
    sessions[*out].slot = (uint32_t)slot;
    __atomic_store_n(&sessions[*out].gen_plus1, gen + 1, __ATOMIC_RELEASE);
  }
  return rv;
}

/* Forgets a session; it counts against the limit only if it was opened in the current generation. */
static void forget_session (CK_SESSION_HANDLE h) {
  if (h >= MAX_TRACKED_HANDLE) return;
  uint32_t mark = __atomic_exchange_n(&sessions[h].gen_plus1, 0, __ATOMIC_ACQ_REL);
  if (mark != 0 && mark == rd(W_GENERATION) + 1) add(W_SESSIONS, -1);
}

static CK_RV w_C_CloseSession (CK_SESSION_HANDLE hSession) {
  CK_RV rv = session_gate(hSession);
  if (rv != CKR_OK) return rv;
  forget_session(hSession);
  return real->C_CloseSession(hSession);
}

static CK_RV w_C_CloseAllSessions (CK_SLOT_ID slot) {
  for (CK_SESSION_HANDLE h = 0; h < MAX_TRACKED_HANDLE; h++) {
    if (sessions[h].gen_plus1 != 0 && sessions[h].slot == (uint32_t)slot) forget_session(h);
  }
  return real->C_CloseAllSessions(slot);
}

/* C_Finalize closes every session: none of them counts against the limit any more. */
static CK_RV w_C_Finalize (CK_VOID_PTR reserved) {
  for (CK_SESSION_HANDLE h = 0; h < MAX_TRACKED_HANDLE; h++) {
    if (sessions[h].gen_plus1 != 0) forget_session(h);
  }
  __atomic_store_n(&login_gen, -1, __ATOMIC_RELEASE);
  return real->C_Finalize(reserved);
}

/* Login after a restart: SoftHSM may still hold the old login (stale sessions it has not closed yet). */
static CK_RV w_C_Login (CK_SESSION_HANDLE hSession, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG pinLen) {
  CK_RV rv = plain_enter(hSession);
  if (rv != CKR_OK) return rv;
  int64_t gen = rd(W_GENERATION);
  rv = real->C_Login(hSession, type, pin, pinLen);
  if (rv == CKR_USER_ALREADY_LOGGED_IN && __atomic_load_n(&login_gen, __ATOMIC_ACQUIRE) != gen) rv = CKR_OK;
  if (rv == CKR_OK) __atomic_store_n(&login_gen, gen, __ATOMIC_RELEASE);
  return rv;
}

static CK_RV w_C_Logout (CK_SESSION_HANDLE hSession) {
  CK_RV rv = plain_enter(hSession);
  if (rv != CKR_OK) return rv;
  rv = real->C_Logout(hSession);
  if (rv == CKR_OK) __atomic_store_n(&login_gen, -1, __ATOMIC_RELEASE);
  return rv;
}

static uint32_t env_u32 (const char *name, uint32_t fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? (uint32_t)strtoul(v, NULL, 10) : fallback;
}

static uint32_t env_choice (const char *name, const char *const *names, int count) {
  const char *v = getenv(name);
  for (int i = 0; v != NULL && i < count; i++) if (strcmp(v, names[i]) == 0) return (uint32_t)i;
  return 0;
}

/* The shaping a fresh control region starts with, from SHAPED_HSM_* (all optional; defaults shape nothing). */
static void init_from_env (uint32_t *w) {
  static const char *const jitters[] = { "uniform", "exponential" };
  static const char *const caps[] = { "queue", "refuse" };
  static const char *const faults[] = { "none", "function-failed", "device-error", "hang" };
  memset(w, 0, W_WORDS * sizeof(uint32_t));
  w[W_LATENCY_US] = env_u32("SHAPED_HSM_LATENCY_US", 0);
  w[W_JITTER_US] = env_u32("SHAPED_HSM_JITTER_US", 0);
  w[W_JITTER_KIND] = env_choice("SHAPED_HSM_JITTER", jitters, 2);
  w[W_MAX_OPS] = env_u32("SHAPED_HSM_MAX_OPS", 0);
  w[W_CAP_MODE] = env_choice("SHAPED_HSM_CAP_MODE", caps, 2);
  w[W_MAX_SESSIONS] = env_u32("SHAPED_HSM_MAX_SESSIONS", 0);
  w[W_FAULT] = env_choice("SHAPED_HSM_FAULT", faults, 4);
  w[W_FAULT_PPM] = env_u32("SHAPED_HSM_FAULT_PPM", 1000000);
  w[W_FAULT_REMAINING] = 0xFFFFFFFFu;
  w[W_GCM_UNSUPPORTED] = env_u32("SHAPED_HSM_GCM_UNSUPPORTED", 0);
  w[W_CALL_LATENCY_US] = env_u32("SHAPED_HSM_CALL_LATENCY_US", 0);
  w[W_SERVICE_US] = env_u32("SHAPED_HSM_SERVICE_US", 0);
  w[W_MAGIC] = MAGIC;
}

/* Maps the control file, creating it from the environment's shaping if it does not exist yet. */
static int map_control (const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    uint32_t fresh[W_WORDS];
    init_from_env(fresh);
    if (write(fd, fresh, sizeof fresh) != (ssize_t)sizeof fresh) { close(fd); return -1; }
  } else if (errno == EEXIST) {
    fd = open(path, O_RDWR);
  }
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < (off_t)(W_WORDS * sizeof(uint32_t))) { close(fd); return -1; }
  void *m = mmap(NULL, W_WORDS * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED || ((uint32_t *)m)[W_MAGIC] != MAGIC) return -1;
  ctl = (uint32_t *)m;
  return 0;
}

/* `<this library>.conf`: target= and control= lines, so that two copies of the library can shape differently. */
static void read_conf (char *target, char *control, size_t size) {
  Dl_info self;
  char path[4096];
  if (dladdr((void *)&map_control, &self) == 0 || self.dli_fname == NULL) return;
  snprintf(path, sizeof path, "%s.conf", self.dli_fname);
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  char line[4096];
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "target=", 7) == 0) snprintf(target, size, "%s", line + 7);
    if (strncmp(line, "control=", 8) == 0) snprintf(control, size, "%s", line + 8);
  }
  fclose(f);
}

static void load (void) {
  char target[4096], control[4096];
  const char *t = getenv("SHAPED_HSM_TARGET"), *c = getenv("SHAPED_HSM_CONTROL");
  snprintf(target, sizeof target, "%s", t != NULL ? t : "/usr/lib/softhsm/libsofthsm2.so");
  snprintf(control, sizeof control, "%s", c != NULL ? c : "");
  read_conf(target, control, sizeof target);
  if (control[0] != '\0') {
    if (map_control(control) != 0) {
      fprintf(stderr, "shaped-hsm: cannot map control file %s\n", control);
      load_error = CKR_GENERAL_ERROR;
      return;
    }
  } else {
    init_from_env(local_words);
  }
  void *lib = dlopen(target, RTLD_NOW | RTLD_LOCAL);
  CK_C_GetFunctionList get = lib != NULL ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
  if (get == NULL || get(&real) != CKR_OK) {
    fprintf(stderr, "shaped-hsm: cannot load %s: %s\n", target, lib == NULL ? dlerror() : "no function list");
    load_error = CKR_GENERAL_ERROR;
    return;
  }
  shaped = *real;
#define OVERRIDE(name) shaped.name = w_##name
  OVERRIDE(C_Encrypt); OVERRIDE(C_Decrypt); OVERRIDE(C_EncryptUpdate); OVERRIDE(C_DecryptUpdate);
  OVERRIDE(C_EncryptFinal); OVERRIDE(C_DecryptFinal); OVERRIDE(C_Sign); OVERRIDE(C_Verify);
  OVERRIDE(C_GenerateRandom); OVERRIDE(C_GenerateKey); OVERRIDE(C_GetSessionInfo); OVERRIDE(C_FindObjectsInit);
  OVERRIDE(C_FindObjects); OVERRIDE(C_FindObjectsFinal); OVERRIDE(C_GetAttributeValue);
  OVERRIDE(C_SetAttributeValue); OVERRIDE(C_CreateObject); OVERRIDE(C_DestroyObject); OVERRIDE(C_SignInit);
  OVERRIDE(C_VerifyInit); OVERRIDE(C_EncryptInit); OVERRIDE(C_DecryptInit); OVERRIDE(C_GetMechanismInfo);
  OVERRIDE(C_GetMechanismList); OVERRIDE(C_OpenSession); OVERRIDE(C_CloseSession); OVERRIDE(C_CloseAllSessions);
  OVERRIDE(C_Login); OVERRIDE(C_Logout); OVERRIDE(C_Finalize);
#undef OVERRIDE
}

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList (CK_FUNCTION_LIST_PTR_PTR list) {
  if (list == NULL) return CKR_ARGUMENTS_BAD;
  pthread_once(&once, load);
  if (load_error != CKR_OK) return load_error;
  *list = &shaped;
  return CKR_OK;
}
