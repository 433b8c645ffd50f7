/*
 * PaxosCommit (tlaplus/Examples, specifications/transaction_commit/PaxosCommit.tla)
 * in Promela, for the bench: the published configuration, RM = {r1, r2},
 * Acceptor = {a1, a2, a3}, Majority = the three pairs, Ballot = {0, 1}.
 * One process loops over every action with each of its parameters; each is
 * one d_step, so SPIN stores exactly the spec's states (TLC: 1,321,761).
 *
 *   spin -a paxosCommit.pml
 *   gcc -O2 -DSAFETY -DNOREDUCE -DNOCLAIM -DNOFAIR -DMEMLIM=4096 -o pan pan.c
 *   ./pan -m100 -w24      (-m: depth of SPIN's own search stack, which is depth-first)
 *
 * "states, stored" in its report is the count of distinct states.
 * Encodings: rm 0 working, 1 prepared, 2 committed, 3 aborted; a value 0 none,
 * 1 prepared, 2 aborted; an acceptor's bal is kept plus one (0: -1).
 * msgs is one bit per possible message.
 */
#define NRM 2
#define NACC 3
#define NBAL 2

#define WORKING 0
#define PREPARED 1
#define COMMITTED 2
#define ABORTED 3

byte rm[NRM];
byte mbal[NRM * NACC];
byte abal[NRM * NACC];
byte aval[NRM * NACC];
bit p1a[NRM * NBAL];
bit p1b[NRM * NBAL * (NBAL + 1) * 3 * NACC];
bit p2a[NRM * NBAL * 2];
bit p2b[NACC * NRM * NBAL * 2];
bit commit;
bit abort;

hidden byte hb;
hidden byte hv;
hidden byte i;

/* Where a message's bit is: v is a value 1 prepared / 2 aborted (1b: 0 none too), b1 a bal plus one. */
#define A(r, a) ((r) * NACC + (a))
#define P1A(r, b) ((r) * NBAL + (b))
#define P1B(r, mb, b1, v, a) (((((r) * NBAL + (mb)) * (NBAL + 1) + (b1)) * 3 + (v)) * NACC + (a))
#define P2A(r, b, v) (((r) * NBAL + (b)) * 2 + (v) - 1)
#define P2B(a, r, b, v) (((((a) * NRM + (r)) * NBAL + (b)) * 2) + (v) - 1)

/* Acceptor a sent a phase 1b message for instance r and ballot mb (any bal, any value). */
#define SENT1B(r, mb, a) (p1b[P1B(r, mb, 0, 0, a)] || p1b[P1B(r, mb, 1, 1, a)] || p1b[P1B(r, mb, 1, 2, a)] || p1b[P1B(r, mb, 2, 1, a)] || p1b[P1B(r, mb, 2, 2, a)])
/* Instance r chose v in ballot b: a majority sent phase 2b messages for it. */
#define CHOSEN(r, b, v) ((p2b[P2B(0, r, b, v)] && p2b[P2B(1, r, b, v)]) || (p2b[P2B(0, r, b, v)] && p2b[P2B(2, r, b, v)]) || (p2b[P2B(1, r, b, v)] && p2b[P2B(2, r, b, v)]))
#define DECIDED(r, v) (CHOSEN(r, 0, v) || CHOSEN(r, 1, v))

inline RMPrepare(r) { d_step { rm[r] == WORKING -> rm[r] = PREPARED; p2a[P2A(r, 0, 1)] = 1 } }
inline RMChooseToAbort(r) { d_step { rm[r] == WORKING -> rm[r] = ABORTED; p2a[P2A(r, 0, 2)] = 1 } }
inline RMRcvCommitMsg(r) { d_step { commit -> rm[r] = COMMITTED } }
inline RMRcvAbortMsg(r) { d_step { abort -> rm[r] = ABORTED } }

inline Phase1a(b, r) { d_step { true -> p1a[P1A(r, b)] = 1 } }

/* Phase2a(b, r) with the majority {x, y}: the value of the highest ballot reported, or aborted. */
inline Phase2a(b, r, x, y) {
  d_step {
    !p2a[P2A(r, b, 1)] && !p2a[P2A(r, b, 2)] && SENT1B(r, b, x) && SENT1B(r, b, y) ->
    hb = 0; hv = 2;
    for (i : 0 .. 2) {
      if
      :: (i == x || i == y) && p1b[P1B(r, b, 1, 1, i)] && hb < 1 -> hb = 1; hv = 1
      :: (i == x || i == y) && p1b[P1B(r, b, 1, 2, i)] && hb < 1 -> hb = 1; hv = 2
      :: else -> skip
      fi
    }
    for (i : 0 .. 2) {
      if
      :: (i == x || i == y) && p1b[P1B(r, b, 2, 1, i)] -> hb = 2; hv = 1
      :: (i == x || i == y) && p1b[P1B(r, b, 2, 2, i)] -> hb = 2; hv = 2
      :: else -> skip
      fi
    }
    p2a[P2A(r, b, hv)] = 1; hb = 0; hv = 0; i = 0
  }
}

inline Phase1b(a, r, b) {
  d_step {
    p1a[P1A(r, b)] && mbal[A(r, a)] < b ->
    mbal[A(r, a)] = b;
    p1b[P1B(r, b, abal[A(r, a)], aval[A(r, a)], a)] = 1
  }
}

inline Phase2b(a, r, b, v) {
  d_step {
    p2a[P2A(r, b, v)] && mbal[A(r, a)] <= b ->
    mbal[A(r, a)] = b; abal[A(r, a)] = b + 1; aval[A(r, a)] = v;
    p2b[P2B(a, r, b, v)] = 1
  }
}

active proctype PaxosCommit() {
  do
  :: RMPrepare(0)
  :: RMPrepare(1)
  :: RMChooseToAbort(0)
  :: RMChooseToAbort(1)
  :: RMRcvCommitMsg(0)
  :: RMRcvCommitMsg(1)
  :: RMRcvAbortMsg(0)
  :: RMRcvAbortMsg(1)
  :: Phase1a(1, 0)
  :: Phase1a(1, 1)
  :: Phase2a(1, 0, 0, 1)
  :: Phase2a(1, 0, 0, 2)
  :: Phase2a(1, 0, 1, 2)
  :: Phase2a(1, 1, 0, 1)
  :: Phase2a(1, 1, 0, 2)
  :: Phase2a(1, 1, 1, 2)
  :: d_step { DECIDED(0, 1) && DECIDED(1, 1) -> commit = 1 }
  :: d_step { DECIDED(0, 2) || DECIDED(1, 2) -> abort = 1 }
  :: Phase1b(0, 0, 1)
  :: Phase1b(0, 1, 1)
  :: Phase1b(1, 0, 1)
  :: Phase1b(1, 1, 1)
  :: Phase1b(2, 0, 1)
  :: Phase1b(2, 1, 1)
  :: Phase2b(0, 0, 0, 1)
  :: Phase2b(0, 0, 0, 2)
  :: Phase2b(0, 0, 1, 1)
  :: Phase2b(0, 0, 1, 2)
  :: Phase2b(0, 1, 0, 1)
  :: Phase2b(0, 1, 0, 2)
  :: Phase2b(0, 1, 1, 1)
  :: Phase2b(0, 1, 1, 2)
  :: Phase2b(1, 0, 0, 1)
  :: Phase2b(1, 0, 0, 2)
  :: Phase2b(1, 0, 1, 1)
  :: Phase2b(1, 0, 1, 2)
  :: Phase2b(1, 1, 0, 1)
  :: Phase2b(1, 1, 0, 2)
  :: Phase2b(1, 1, 1, 1)
  :: Phase2b(1, 1, 1, 2)
  :: Phase2b(2, 0, 0, 1)
  :: Phase2b(2, 0, 0, 2)
  :: Phase2b(2, 0, 1, 1)
  :: Phase2b(2, 0, 1, 2)
  :: Phase2b(2, 1, 0, 1)
  :: Phase2b(2, 1, 0, 2)
  :: Phase2b(2, 1, 1, 1)
  :: Phase2b(2, 1, 1, 2)
  od
}
