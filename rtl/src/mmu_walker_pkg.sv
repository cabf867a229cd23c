// Copyright mmusim authors.
//
// mmu_walker_pkg -- constants of the page walker (mmu_walker.sv): x86 paging
// entry bits, access kinds, flush commands, error-code and permission bits,
// slot states, and the VA bit each level's index starts at.  The values are
// those of the C model: model/include/mmusim/{paging,walker,tlb,types}.h,
// paging.c's shifts and the harness's flush encoding (cosim_core.h).  The
// test rtl_pkg_constants (rtl/lint/pkg_check.cpp) compares every
// localparam and idx_lsb() arm with the C value by name; a new localparam
// needs its C counterpart there.

package mmu_walker_pkg;

  // ---- x86 paging-entry bits (Intel SDM vol. 3A, 4.5; paging.h PTE_*) ----
  localparam int unsigned PteP  = 0;   // present
  localparam int unsigned PteRw = 1;   // writable
  localparam int unsigned PteUs = 2;   // user accessible
  localparam int unsigned PteA  = 5;   // accessed
  localparam int unsigned PteD  = 6;   // dirty (leaves)
  localparam int unsigned PtePs = 7;   // page size: a leaf above level 1
  localparam int unsigned PteG  = 8;   // global (leaves)
  localparam int unsigned PteXd = 63;  // execute disable

  // ---- access kinds (types.h mm_kind) ----
  localparam logic [1:0] KindStore = 2'd1;
  localparam logic [1:0] KindFetch = 2'd2;

  // ---- flush commands (flush_kind_i) ----
  localparam logic [1:0] FlushCr3    = 2'd0;
  localparam logic [1:0] FlushInvlpg = 2'd1;
  localparam logic [1:0] FlushAll    = 2'd2;

  // ---- page-fault error-code bits (walker.h PF_*) ----
  localparam int unsigned EcP    = 0;  // 0: not present; 1: protection or reserved bit
  localparam int unsigned EcWr   = 1;  // the access was a write
  localparam int unsigned EcUs   = 2;  // the access was a user access
  localparam int unsigned EcRsvd = 3;  // a reserved bit was set
  localparam int unsigned EcId   = 4;  // the access was an instruction fetch

  // ---- cumulative permissions (tlb.h TLB_*) ----
  localparam int unsigned PermW = 0;
  localparam int unsigned PermU = 1;
  localparam int unsigned PermX = 2;
  localparam int unsigned PermD = 3;
  localparam int unsigned PermG = 4;

  // ---- walk slot states ----
  typedef enum logic [1:0] {
    Idle,    // free: may take a request this cycle
    Lookup,  // page-walk-cache lookup latency beyond its first cycle
    Issue,   // wants the memory port for its next step
    Wait     // step accepted, waiting for its response
  } slot_state_e;

  // First VA bit of the 9-bit index at `level` (1: PTE .. 5: PML5E), i.e.
  // paging_mode.shift[] of x86-64 and LA57.  A level-L page-walk-cache entry
  // is tagged by VA bits [VaBits-1 : idx_lsb(L)].
  function automatic int unsigned idx_lsb(int unsigned level);
    case (level)
      1:       idx_lsb = 12;
      2:       idx_lsb = 21;
      3:       idx_lsb = 30;
      4:       idx_lsb = 39;
      default: idx_lsb = 48;
    endcase
  endfunction

endpackage
