/* runtime_internal.h: the run's shared state, split over runtime.c (loop thread: lifecycle,
 * signals, status), runtime_state.c (save points, resume, ledger) and runtime_workers.c
 * (selfplay driver, trainer, gate threads and the scheduler). Not a public API. */
#ifndef TENGEN_RUNTIME_RUNTIME_INTERNAL_H
#define TENGEN_RUNTIME_RUNTIME_INTERNAL_H

#include <stdatomic.h>
#include <uv.h>

#include "data/trainrows.h"
#include "runtime/runtime.h"
#include "selfplay/selfplay.h"
#include "shuffle/shuffle.h"
#include "train/train.h"

#define RT_PATH_MAX 1024
#define RT_NAME_MAX 128

/* Events from workers to the loop thread (queue + uv_async_send). */
typedef enum rt_event_kind_e {
    RT_EV_NET = 0,     /* selfplay made net `name` current */
    RT_EV_EXPORT,      /* trainer exported `name` */
    RT_EV_GATE,        /* gate decided on `name` (text: the verdict) */
    RT_EV_WORKER_DONE, /* a worker thread ended (code: its rc; text: its error) */
} rt_event_kind_t;

typedef struct rt_event_s {
    rt_event_kind_t kind;
    int code;
    int worker; /* RT_WORKER_* for RT_EV_WORKER_DONE */
    char name[RT_NAME_MAX];
    char text[TG_ERR_MSG_LEN];
    struct rt_event_s *next;
} rt_event_t;

enum { RT_WORKER_SELFPLAY = 0, RT_WORKER_TRAINER = 1, RT_WORKER_GATE = 2, RT_WORKER_COUNT };

/* One ingested .npz file: global rows [first_row, first_row + count). */
typedef struct rt_ledger_entry_s {
    int64_t first_row;
    int count;
    int random;
    char path[RT_PATH_MAX]; /* relative to the run dir */
} rt_ledger_entry_t;

/* Counters kept across sessions in run.state. Lock: rt->state_lock (the trainer thread writes
 * the trainer fields, the loop thread the others). */
typedef struct rt_counters_s {
    int64_t gen;      /* save point generation (0 = none yet) */
    int64_t sessions; /* invocations that started */
    uint64_t seed;    /* run seed (fixed at the first session) */
    int64_t exports, cycles, accepted_count, rejected_count;
    int64_t next_export_samples;
    char current_net[RT_NAME_MAX];  /* selfplay's net */
    char accepted_net[RT_NAME_MAX]; /* newest accepted ("" = random) */
    char last_export[RT_NAME_MAX];
    char last_gate[192];
    double wall_s, trainer_busy_s, trainer_cpu_s, gate_cpu_s, process_cpu_s, selfplay_wait_s;
} rt_counters_t;

typedef struct rt_runtime_s {
    tg_config_t cfg;
    tg_runtime_plan_t plan;
    tg_runtime_limits_t limits;
    char dir[RT_PATH_MAX], state_dir[RT_PATH_MAX], models_dir[RT_PATH_MAX], test_dir[RT_PATH_MAX],
        rejected_dir[RT_PATH_MAX], selfplay_dir[RT_PATH_MAX];
    int lock_fd;

    /* Loop thread only. */
    uv_loop_t loop;
    uv_signal_t sig_int, sig_term, sig_usr1;
    uv_timer_t status_timer;
    uv_async_t async;
    int signals_seen;
    bool pausing, hard_exit, paused_by_signal;
    bool worker_running[RT_WORKER_COUNT];
    int first_rc;
    tg_err_t first_err;
    double t_start; /* session start, seconds (uv_hrtime) */
    int64_t session_cycles;
    double last_status_t, last_status_cpu, last_status_trainer_cpu, last_status_gate_cpu;
    int64_t last_status_rows;
    FILE *metrics;

    /* Lock: ev_lock guards the event queue only. */
    uv_mutex_t ev_lock;
    rt_event_t *ev_head, *ev_tail;

    /* The window and what feeds it. Lock: ingest_lock guards every window append, the ledger
     * and save points (a save never runs concurrently with an append; shuffle.h's rule). The
     * writers' locks (selfplay) may be held when it is taken, never the other way round. */
    shuffle_window_t *window;
    uv_mutex_t ingest_lock;
    rt_ledger_entry_t *ledger;
    int64_t ledger_len, ledger_cap;

    /* Lock: state_lock guards counters and the stats below (short critical sections). */
    uv_mutex_t state_lock;
    rt_counters_t c;
    double loss_ema[TRAIN_LOSS_COUNT], loss_total_ema;
    bool have_loss;
    double rows_at_ready; /* rows_total when the window became ready (-1 before) */

    atomic_llong games, moves, rows_ingested, files_ingested, session_games;
    atomic_llong steps_pub, samples_pub; /* the trainer's counters, for other threads */

    /* Trainer (owned by the trainer thread while it runs; by the loop thread otherwise). */
    trainer_t *trainer;
    trainrows_t batch_rows;
    uv_thread_t trainer_tid;
    atomic_bool trainer_stop;
    atomic_bool trainer_capped;    /* sleeping because of run.trainer_share_max */
    atomic_bool trainer_waiting;   /* waiting for the bucket */
    double trainer_busy_session_s; /* trainer thread only */

    /* Selfplay driver. */
    tg_selfplay_params_t sp;
    uv_thread_t selfplay_tid;
    atomic_bool selfplay_stop;
    atomic_bool selfplay_throttled;
    tg_selfplay_stats_t sp_stats;

    /* Gate (only with gate.enabled or gate.ladder_games > 0). Lock: gate_lock guards the
     * candidate queue; gate_cond signals a new candidate or a stop. */
    bool gate_on;
    uv_thread_t gate_tid;
    uv_mutex_t gate_lock;
    uv_cond_t gate_cond;
    char gate_queue[16][RT_NAME_MAX];
    int gate_queue_len;
    atomic_bool gate_stop;
} rt_runtime_t;

/* runtime.c */
/* Queues an event for the loop thread and wakes it (uv_async_send). Thread-safe. */
void rt__post(rt_runtime_t *rt, rt_event_kind_t kind, int worker, int code, const char *name,
              const char *text);
double rt__now_s(void);        /* monotonic seconds. Thread-safe. */
double rt__thread_cpu_s(void); /* CPU seconds of the calling thread. Thread-safe. */

/* runtime_state.c */
/* Reads state/run.state into rt->c (and the game counters); *found = false if there is none.
 * TG_EFORMAT for a bad file. Loop thread, before the workers start. */
int rt__state_load(rt_runtime_t *rt, bool *found, tg_err_t *err);
/* Loads the save point (checkpoint, window, ledger) and appends the .npz files written after
 * it. Loop thread, before the workers start. */
int rt__resume(rt_runtime_t *rt, bool found, tg_err_t *err);
/* Takes a save point (see runtime.h) under ingest_lock. The caller must own the trainer: the
 * trainer thread, or the loop thread once the trainer thread is joined. */
int rt__save_point(rt_runtime_t *rt, tg_err_t *err);
/* Writes run.state from rt->c (atomically). Caller holds ingest_lock or no worker runs. */
int rt__write_state(rt_runtime_t *rt, tg_err_t *err);
/* Appends an .npz file's rows to the window and the ledger. Thread-safe (ingest_lock). */
int rt__ingest_rows(rt_runtime_t *rt, const trainrows_t *rows, int random, const char *path,
                    tg_err_t *err);
/* Reads "key=value" lines (at most cap); returns the count or a negative error. Thread-safe. */
int rt__read_kv_file(const char *path, char keys[][64], char vals[][RT_PATH_MAX], int cap,
                     tg_err_t *err);

/* runtime_workers.c (all loop thread only) */
int rt__start_workers(rt_runtime_t *rt, tg_err_t *err);
void rt__stop_selfplay(rt_runtime_t *rt);
void rt__stop_trainer(rt_runtime_t *rt);
void rt__stop_gate(rt_runtime_t *rt);
void rt__join_worker(rt_runtime_t *rt, int worker);

#endif
