// Copyright mmusim authors.
//
// mmu_walker -- an x86-64 page walker (4-level, or LA57 5-level with
// Levels = 5) with per-level page-walk caches and NumWalks concurrent walks.
//
// The ports, parameters and cycle contract are in rtl/README.md; the walker
// is cross-checked cycle for cycle against the C walker (model/src/walker.c)
// by rtl/cosim.  In short:
//  - a request is accepted in the first cycle S with a free walk slot (a slot
//    whose walk ends in S is free), one per cycle;
//  - in cycle S every level's page-walk cache is looked up at once on the
//    request's own wires; the walk starts below the deepest hit (or at the
//    root) and wants the memory port from S + PwcLatency;
//  - each step (an entry read, or after a successful leaf check one locked
//    A/D update per entry that needs one, top level first) is issued in the
//    first cycle the memory is ready and no older walk wants the port; the
//    next step is wanted from the cycle after its response;
//  - the response is presented in the cycle after the last step's response
//    (E = d + 1), and the walk's present non-leaf entries are written into
//    the page-walk caches at the edge that starts E.
//
// Structure: per-slot registers (one row of each array per walk slot), one
// shared response datapath (at most one memory response arrives per cycle,
// so at most one walk advances or ends per cycle: one entry checker, one
// result register, one fill port per cache), one memory-request mux driven
// by the oldest slot that wants the port (mmu_walker_age), and one
// mmu_walker_pwc per level 2..Levels.

module mmu_walker #(
  parameter int unsigned Levels     = 4,   // 4: x86-64 (48-bit VA); 5: LA57 (57-bit VA)
  parameter int unsigned NumWalks   = 4,   // walks in flight, 1..8
  parameter int unsigned PwcEntries = 4,   // entries of each level's page-walk cache
  parameter int unsigned PwcLatency = 1,   // cycles of one page-walk-cache lookup, >= 1
  parameter int unsigned PaBits     = 46,  // MAXPHYADDR, 32..52
  parameter int unsigned IdWidth    = 4    // request id width
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,

  // Requests
  input  logic                 req_valid_i,
  output logic                 req_ready_o,
  input  logic [IdWidth-1:0]   req_id_i,
  input  logic [63:0]          req_va_i,
  input  logic [11:0]          req_pcid_i,
  input  logic [1:0]           req_kind_i,   // 0 load, 1 store, 2 fetch
  input  logic                 req_user_i,
  input  logic                 req_ac_i,

  // Control (stable while walks are in flight)
  input  logic                 ctrl_wp_i,
  input  logic                 ctrl_smep_i,
  input  logic                 ctrl_smap_i,
  input  logic                 ctrl_pcide_i,

  // Flush commands (only while idle_o)
  input  logic                 flush_valid_i,
  input  logic [1:0]           flush_kind_i,  // 0 CR3 write, 1 INVLPG, 2 flush all
  input  logic [PaBits-1:0]    flush_root_i,
  input  logic [11:0]          flush_pcid_i,
  input  logic                 flush_noflush_i,
  input  logic [63:0]          flush_va_i,

  // Responses
  output logic                 rsp_valid_o,
  output logic [IdWidth-1:0]   rsp_id_o,
  output logic                 rsp_fault_o,
  output logic [4:0]           rsp_ec_o,
  output logic [2:0]           rsp_level_o,
  output logic [63:0]          rsp_leaf_o,
  output logic [63:0]          rsp_pa_o,
  output logic [4:0]           rsp_perm_o,
  output logic [2:0]           rsp_pwc_level_o,

  // Memory port
  output logic                 mem_req_valid_o,
  input  logic                 mem_req_ready_i,
  output logic [IdWidth-1:0]   mem_req_id_o,
  output logic [PaBits-1:0]    mem_req_addr_o,
  output logic                 mem_req_write_o,
  output logic [63:0]          mem_req_wdata_o,
  input  logic                 mem_rsp_valid_i,
  input  logic [IdWidth-1:0]   mem_rsp_id_i,
  input  logic [63:0]          mem_rsp_rdata_i,

  // Page-walk-cache debug read port (combinational)
  input  logic [2:0]           dbg_pwc_level_i,
  input  logic [((PwcEntries > 1) ? $clog2(PwcEntries) : 1)-1:0] dbg_pwc_index_i,
  output logic                 dbg_pwc_valid_o,
  output logic [11:0]          dbg_pwc_pcid_o,
  output logic [63:0]          dbg_pwc_va_o,
  output logic [PaBits-1:0]    dbg_pwc_table_o,
  output logic [2:0]           dbg_pwc_perm_o,

  output logic                 idle_o
);


  // ---------------------------------------------------------------------------
  // Derived constants
  // ---------------------------------------------------------------------------
  localparam int unsigned VaBits   = 12 + 9 * Levels;   // 48 or 57
  localparam int unsigned TblBits  = PaBits - 12;       // a table's frame number
  localparam int unsigned IdxBits  = (PwcEntries > 1) ? $clog2(PwcEntries) : 1;
  localparam int unsigned NumPwc   = Levels - 1;        // caches of levels 2..Levels
  // Cycles a slot spends in Lookup after the acceptance cycle S: the first
  // memory step is wanted from S + PwcLatency.
  localparam int unsigned LookupWait = PwcLatency - 1;
  localparam int unsigned CntBits  = $clog2(PwcLatency + 1);
  // Entry bits 51:MAXPHYADDR are reserved in every x86-64 paging entry.
  localparam logic [63:0] HiRsvd = ((64'd1 << 52) - 64'd1) & ~((64'd1 << PaBits) - 64'd1);

  // ---------------------------------------------------------------------------
  // Walk slots
  // ---------------------------------------------------------------------------
  // Row s of each array belongs to slot s.  ent_q/lperm_q hold, per slot and
  // level L (row s*Levels + L-1), the entry the walk read at level L and the
  // permissions accumulated down to it.
  mmu_walker_pkg::slot_state_e state_q [NumWalks];
  mmu_walker_pkg::slot_state_e state_d [NumWalks];
  logic [IdWidth-1:0] id_q    [NumWalks];
  logic [IdWidth-1:0] id_d    [NumWalks];
  logic [VaBits-1:0]  va_q    [NumWalks];
  logic [VaBits-1:0]  va_d    [NumWalks];
  logic [11:0]        pcid_q  [NumWalks];
  logic [11:0]        pcid_d  [NumWalks];
  logic [1:0]         kind_q  [NumWalks];
  logic [1:0]         kind_d  [NumWalks];
  logic               user_q  [NumWalks];
  logic               user_d  [NumWalks];
  logic               ac_q    [NumWalks];
  logic               ac_d    [NumWalks];
  logic [2:0]         level_q [NumWalks];  // level of the next read; the leaf's once updating
  logic [2:0]         level_d [NumWalks];
  logic [2:0]         first_q [NumWalks];  // level of the walk's first read
  logic [2:0]         first_d [NumWalks];
  logic [2:0]         pwc_q   [NumWalks];  // level of the page-walk-cache hit, 0 none
  logic [2:0]         pwc_d   [NumWalks];
  logic [TblBits-1:0] tbl_q   [NumWalks];  // table of the first read
  logic [TblBits-1:0] tbl_d   [NumWalks];
  logic [2:0]         perm_q  [NumWalks];  // W, U, X accumulated so far
  logic [2:0]         perm_d  [NumWalks];
  logic               upd_q   [NumWalks];  // in the A/D update phase
  logic               upd_d   [NumWalks];
  logic [Levels-1:0]  umask_q [NumWalks];  // levels still to update (bit L-1: level L)
  logic [Levels-1:0]  umask_d [NumWalks];
  logic [CntBits-1:0] cnt_q   [NumWalks];
  logic [CntBits-1:0] cnt_d   [NumWalks];
  logic [63:0]        ent_q   [NumWalks*Levels];
  logic [63:0]        ent_d   [NumWalks*Levels];
  logic [2:0]         lperm_q [NumWalks*Levels];
  logic [2:0]         lperm_d [NumWalks*Levels];

  logic [TblBits-1:0] root_q, root_d;      // CR3's table

  logic [NumWalks-1:0] free;       // slot may take a request this cycle
  logic [NumWalks-1:0] alloc_oh;   // slot taking this cycle's request
  logic                accept;
  logic [NumWalks-1:0] want;       // slot wants the memory port
  logic [NumWalks-1:0] grant_oh;   // oldest slot that wants it
  logic [NumWalks-1:0] rsel_oh;    // slot this cycle's memory response is for
  logic [NumWalks*NumWalks-1:0] slot_older;

  // ---------------------------------------------------------------------------
  // Page-walk caches, levels 2..Levels (flattened per level: index L-2)
  // ---------------------------------------------------------------------------
  logic [NumPwc-1:0]         lu_hit;
  logic [NumPwc*TblBits-1:0] lu_table;
  logic [NumPwc*3-1:0]       lu_perm;
  logic [NumPwc-1:0]         lu_touch;
  logic [NumPwc-1:0]         fill_valid;
  logic [NumPwc-1:0]         dbg_valid;
  logic [NumPwc*12-1:0]      dbg_pcid;
  logic [NumPwc*64-1:0]      dbg_va;
  logic [NumPwc*TblBits-1:0] dbg_table;
  logic [NumPwc*3-1:0]       dbg_perm;
  logic                      pwc_flush_all, pwc_flush_pcid, pwc_flush_va;

  logic [2:0]         deep;        // deepest lookup hit, 0 none
  logic [TblBits-1:0] deep_table;
  logic [2:0]         deep_perm;

  // The responding slot's walk, the entry read, and what it means.
  logic [IdWidth-1:0] r_id;
  logic [VaBits-1:0]  r_va;
  logic [11:0]        r_pcid;
  logic [1:0]         r_kind;
  logic               r_user, r_ac, r_upd, r_store, r_fetch;
  logic [2:0]         r_level, r_first, r_pwc, r_perm;
  logic [Levels-1:0]  r_umask;
  logic [63:0]        r_ent   [Levels];
  logic [2:0]         r_lperm [Levels];

  logic [63:0]        rd_e;        // the entry read
  logic               rd_rsvd, rd_leaf, rd_pf;
  logic [2:0]         rd_perm;     // permissions including it
  logic [Levels-1:0]  rd_umask;    // levels a successful leaf makes the walk update
  logic [63:0]        rd_el [Levels];  // the walk's entries with this read's in place
  logic [Levels-1:0]  up_top;      // the update just answered
  logic [4:0]         acc_ec;      // error-code bits of the access itself

  logic               end_walk, go_next, go_upd, end_fault;
  logic [4:0]         end_ec;
  logic [Levels-1:0]  new_umask;
  logic [63:0]        s_leaf, s_leaf_out, s_pa;
  logic [2:0]         s_perm;
  logic [4:0]         s_perm_out;  // TLB_W, U, X, D, G

  // The granted slot's step.
  logic [IdWidth-1:0] g_id;
  logic [VaBits-1:0]  g_va;
  logic [1:0]         g_kind;
  logic               g_upd;
  logic [2:0]         g_level, g_first, g_lvl;
  logic [TblBits-1:0] g_tbl_first, g_tbl;
  logic [Levels-1:0]  g_umask;
  logic [63:0]        g_ent [Levels];
  logic [8:0]         g_idx;
  logic [63:0]        g_wdata;

  // Response register.
  logic               rsp_valid_q;
  logic [IdWidth-1:0] rsp_id_q;
  logic               rsp_fault_q;
  logic [4:0]         rsp_ec_q;
  logic [2:0]         rsp_level_q, rsp_pwc_q;
  logic [63:0]        rsp_leaf_q, rsp_pa_q;
  logic [4:0]         rsp_perm_q;

  // ---------------------------------------------------------------------------
  // Request acceptance and page-walk-cache lookup (cycle S)
  // ---------------------------------------------------------------------------
  always_comb begin
    alloc_oh = '0;
    for (int s = NumWalks - 1; s >= 0; s--) begin
      free[s] = state_q[s] == mmu_walker_pkg::Idle;
      if (free[s]) begin
        alloc_oh = '0;
        alloc_oh[s] = 1'b1;   // lowest free slot
      end
    end
  end
  assign req_ready_o = |free;
  assign accept      = req_valid_i && req_ready_o;

  // Deepest hit: the lowest level whose cache holds the request's prefix.
  always_comb begin
    deep       = '0;
    deep_table = '0;
    deep_perm  = '0;
    for (int l = Levels; l >= 2; l--) begin
      if (lu_hit[l-2]) begin
        deep       = 3'(l);
        deep_table = lu_table[(l-2)*TblBits +: TblBits];
        deep_perm  = lu_perm[(l-2)*3 +: 3];
      end
    end
    for (int unsigned l = 2; l <= Levels; l++) begin
      lu_touch[l-2] = accept && deep == 3'(l);
    end
  end

  // ---------------------------------------------------------------------------
  // Memory port: the oldest walk that wants it
  // ---------------------------------------------------------------------------
  mmu_walker_age #(
    .N(NumWalks)
  ) u_age (
    .clk_i,
    .rst_ni,
    .touch_a_i (accept ? alloc_oh : '0),   // a new walk is the youngest
    .touch_b_i ('0),
    .older_a_o (slot_older)
  );

  always_comb begin
    for (int unsigned s = 0; s < NumWalks; s++) begin
      want[s] = state_q[s] == mmu_walker_pkg::Issue;
    end
    for (int unsigned s = 0; s < NumWalks; s++) begin
      grant_oh[s] = want[s];
      for (int unsigned j = 0; j < NumWalks; j++) begin
        if (want[j] && slot_older[j*NumWalks+s]) begin
          grant_oh[s] = 1'b0;
        end
      end
    end
  end

  always_comb begin
    g_id        = '0;
    g_va        = '0;
    g_kind      = '0;
    g_upd       = 1'b0;
    g_level     = '0;
    g_first     = '0;
    g_tbl_first = '0;
    g_umask     = '0;
    for (int unsigned l = 0; l < Levels; l++) begin
      g_ent[l] = '0;
    end
    for (int unsigned s = 0; s < NumWalks; s++) begin
      g_id        = g_id        | ({IdWidth{grant_oh[s]}} & id_q[s]);
      g_va        = g_va        | ({VaBits{grant_oh[s]}} & va_q[s]);
      g_kind      = g_kind      | ({2{grant_oh[s]}} & kind_q[s]);
      g_upd       = g_upd       | (grant_oh[s] & upd_q[s]);
      g_level     = g_level     | ({3{grant_oh[s]}} & level_q[s]);
      g_first     = g_first     | ({3{grant_oh[s]}} & first_q[s]);
      g_tbl_first = g_tbl_first | ({TblBits{grant_oh[s]}} & tbl_q[s]);
      g_umask     = g_umask     | ({Levels{grant_oh[s]}} & umask_q[s]);
      for (int unsigned l = 0; l < Levels; l++) begin
        g_ent[l] = g_ent[l] | ({64{grant_oh[s]}} & ent_q[s*Levels+l]);
      end
    end

    // The level this step reads or updates: updates go top level first.
    g_lvl = g_level;
    if (g_upd) begin
      for (int unsigned l = 1; l <= Levels; l++) begin
        if (g_umask[l-1]) begin
          g_lvl = 3'(l);
        end
      end
    end
    // Its table: the first read's, or the one the entry above points at.
    g_tbl   = g_tbl_first;
    g_idx   = '0;
    g_wdata = '0;
    for (int unsigned l = 1; l <= Levels; l++) begin
      if (g_lvl == 3'(l)) begin
        g_idx = g_va[mmu_walker_pkg::idx_lsb(l) +: 9];
        if (g_lvl != g_first && l < Levels) begin
          g_tbl = g_ent[l][PaBits-1:12];
        end
        // An update sets A, and D in the leaf's update for a store.
        g_wdata = g_ent[l-1];
        g_wdata[mmu_walker_pkg::PteA] = 1'b1;
        if (g_lvl == g_level && g_kind == mmu_walker_pkg::KindStore) begin
          g_wdata[mmu_walker_pkg::PteD] = 1'b1;
        end
      end
    end
    if (!g_upd) begin
      g_wdata = '0;
    end
  end

  assign mem_req_valid_o = |want;
  assign mem_req_id_o    = g_id;
  assign mem_req_addr_o  = {g_tbl, g_idx, 3'b000};
  assign mem_req_write_o = g_upd;
  assign mem_req_wdata_o = g_wdata;

  // ---------------------------------------------------------------------------
  // Response datapath: check the entry a walk read (Intel SDM vol. 3A 4.5)
  // ---------------------------------------------------------------------------
  //
  // The walk, per SDM vol. 3A 4.5 ("4-level paging and 5-level paging"):
  //   "A 4-KByte naturally aligned PML5 table is located at the physical
  //    address specified in bits 51:12 of CR3 ... A PML5 entry is selected
  //    using the physical address defined as follows: bits 51:12 are from
  //    CR3; bits 11:3 are bits 56:48 of the linear address; bits 2:0 are all
  //    0.  [Likewise for the PML4 table with linear-address bits 47:39, and
  //    for each lower table from the entry above.]  If the PDPTE's PS flag
  //    is 1, the PDPTE maps a 1-GByte page ... If the PDE's PS flag is 1,
  //    the PDE maps a 2-MByte page ... Otherwise [the entry] references a
  //    page table."
  //   4.7: "If the P flag of a paging-structure entry used to translate a
  //    linear address is 0 ... a page-fault exception.  If a
  //    paging-structure entry has P = 1 and a reserved bit set ...
  //    RSVD = 1."  Reserved: bits 51:MAXPHYADDR; PS in a PML5E/PML4E;
  //    bits 29:13 of a 1-GByte PDPTE and 20:13 of a 2-MByte PDE.
  //   4.6: access rights are the AND of R/W and U/S and the OR of XD of
  //    every entry used; user accesses need U/S = 1, writes R/W = 1 (for
  //    supervisor writes only with CR0.WP), fetches XD = 0; SMEP forbids
  //    supervisor fetches from user pages, SMAP supervisor data accesses to
  //    user pages unless EFLAGS.AC = 1.
  //   4.8: "Whenever the processor uses a paging-structure entry as part of
  //    linear-address translation, it sets the accessed flag in that entry
  //    ... Whenever there is a write to a linear address, the processor sets
  //    the dirty flag ... in the paging-structure entry that identifies the
  //    final physical address."  Updates are locked; this walker makes them
  //    after the leaf check, top level first (model/README.md rule 8).
  //
  // Each slot steps Idle -> [Lookup] -> Issue <-> Wait -> Idle: Issue wants
  // the port for a read (or, with upd_q, an A/D update); Wait waits for its
  // response; the response either ends the walk or sends the slot back to
  // Issue for the next level or update.
  always_comb begin
    for (int unsigned s = 0; s < NumWalks; s++) begin
      rsel_oh[s] = mem_rsp_valid_i && state_q[s] == mmu_walker_pkg::Wait && id_q[s] == mem_rsp_id_i;
    end
  end

  always_comb begin
    r_id    = '0;
    r_va    = '0;
    r_pcid  = '0;
    r_kind  = '0;
    r_user  = 1'b0;
    r_ac    = 1'b0;
    r_upd   = 1'b0;
    r_level = '0;
    r_first = '0;
    r_pwc   = '0;
    r_perm  = '0;
    r_umask = '0;
    for (int unsigned l = 0; l < Levels; l++) begin
      r_ent[l]   = '0;
      r_lperm[l] = '0;
    end
    for (int unsigned s = 0; s < NumWalks; s++) begin
      r_id    = r_id    | ({IdWidth{rsel_oh[s]}} & id_q[s]);
      r_va    = r_va    | ({VaBits{rsel_oh[s]}} & va_q[s]);
      r_pcid  = r_pcid  | ({12{rsel_oh[s]}} & pcid_q[s]);
      r_kind  = r_kind  | ({2{rsel_oh[s]}} & kind_q[s]);
      r_user  = r_user  | (rsel_oh[s] & user_q[s]);
      r_ac    = r_ac    | (rsel_oh[s] & ac_q[s]);
      r_upd   = r_upd   | (rsel_oh[s] & upd_q[s]);
      r_level = r_level | ({3{rsel_oh[s]}} & level_q[s]);
      r_first = r_first | ({3{rsel_oh[s]}} & first_q[s]);
      r_pwc   = r_pwc   | ({3{rsel_oh[s]}} & pwc_q[s]);
      r_perm  = r_perm  | ({3{rsel_oh[s]}} & perm_q[s]);
      r_umask = r_umask | ({Levels{rsel_oh[s]}} & umask_q[s]);
      for (int unsigned l = 0; l < Levels; l++) begin
        r_ent[l]   = r_ent[l]   | ({64{rsel_oh[s]}} & ent_q[s*Levels+l]);
        r_lperm[l] = r_lperm[l] | ({3{rsel_oh[s]}} & lperm_q[s*Levels+l]);
      end
    end
  end

  assign r_store = r_kind == mmu_walker_pkg::KindStore;
  assign r_fetch = r_kind == mmu_walker_pkg::KindFetch;
  assign rd_e    = mem_rsp_rdata_i;

  // Error-code bits of the access (model/README.md rule 12): W/R for a
  // store, U/S for a user access, I/D for a fetch (XD paging is on).
  always_comb begin
    acc_ec = '0;
    acc_ec[mmu_walker_pkg::EcWr] = r_store;
    acc_ec[mmu_walker_pkg::EcUs] = r_user;
    acc_ec[mmu_walker_pkg::EcId] = r_fetch;
  end

  always_comb begin
    // Reserved bits (paging_rsvd_mask for x86-64 and LA57).
    rd_rsvd = |(rd_e & HiRsvd);
    if (rd_e[mmu_walker_pkg::PtePs]) begin
      if (r_level >= 3'd4) begin
        rd_rsvd = 1'b1;                 // PS in a PML4E or PML5E
      end else if (r_level == 3'd3) begin
        rd_rsvd = rd_rsvd | (|rd_e[29:13]);   // 1 GiB frame not aligned
      end else if (r_level == 3'd2) begin
        rd_rsvd = rd_rsvd | (|rd_e[20:13]);   // 2 MiB frame not aligned
      end
    end
    rd_leaf = r_level == 3'd1 || ((r_level == 3'd2 || r_level == 3'd3) && rd_e[mmu_walker_pkg::PtePs]);

    // Fold R/W, U/S and XD into the cumulative permissions.
    rd_perm = r_perm;
    rd_perm[mmu_walker_pkg::PermW] = r_perm[mmu_walker_pkg::PermW] & rd_e[mmu_walker_pkg::PteRw];
    rd_perm[mmu_walker_pkg::PermU] = r_perm[mmu_walker_pkg::PermU] & rd_e[mmu_walker_pkg::PteUs];
    rd_perm[mmu_walker_pkg::PermX] = r_perm[mmu_walker_pkg::PermX] & ~rd_e[mmu_walker_pkg::PteXd];

    // walk_perm_fault (walker.h): one term per rule.
    if (r_user) begin
      rd_pf = !rd_perm[mmu_walker_pkg::PermU]                        // user access to a supervisor page
           || (r_store && !rd_perm[mmu_walker_pkg::PermW])            // user write to a read-only page
           || (r_fetch && !rd_perm[mmu_walker_pkg::PermX]);           // user fetch from an XD page
    end else if (r_fetch) begin
      rd_pf = !rd_perm[mmu_walker_pkg::PermX]                        // XD
           || (ctrl_smep_i && rd_perm[mmu_walker_pkg::PermU]);        // SMEP
    end else begin
      rd_pf = (r_store && ctrl_wp_i && !rd_perm[mmu_walker_pkg::PermW])  // CR0.WP
           || (ctrl_smap_i && rd_perm[mmu_walker_pkg::PermU] && !r_ac);  // SMAP
    end

    // A successful leaf: update every entry read whose A bit is clear, and
    // the leaf for a store whose D bit is clear.
    for (int unsigned l = 1; l <= Levels; l++) begin
      rd_el[l-1] = (r_level == 3'(l)) ? rd_e : r_ent[l-1];
      rd_umask[l-1] = r_level <= 3'(l) && r_first >= 3'(l) &&
                      (!rd_el[l-1][mmu_walker_pkg::PteA] ||
                       (r_level == 3'(l) && r_store && !rd_el[l-1][mmu_walker_pkg::PteD]));
    end

    // The update just answered is the topmost one left.
    up_top = '0;
    for (int unsigned l = 1; l <= Levels; l++) begin
      if (r_umask[l-1]) begin
        up_top = '0;
        up_top[l-1] = 1'b1;
      end
    end
  end

  // What this cycle's response does to its walk.
  always_comb begin
    end_walk  = 1'b0;
    end_fault = 1'b0;
    end_ec    = '0;
    go_next   = 1'b0;
    go_upd    = 1'b0;
    new_umask = '0;
    if (|rsel_oh) begin
      if (!r_upd) begin
        if (!rd_e[mmu_walker_pkg::PteP]) begin
          end_walk  = 1'b1;                  // not present
          end_fault = 1'b1;
          end_ec    = acc_ec;
        end else if (rd_rsvd) begin
          end_walk  = 1'b1;                  // reserved bit
          end_fault = 1'b1;
          end_ec    = acc_ec;
          end_ec[mmu_walker_pkg::EcP]    = 1'b1;
          end_ec[mmu_walker_pkg::EcRsvd] = 1'b1;
        end else if (rd_leaf) begin
          if (rd_pf) begin
            end_walk  = 1'b1;                // permission
            end_fault = 1'b1;
            end_ec    = acc_ec;
            end_ec[mmu_walker_pkg::EcP] = 1'b1;
          end else if (rd_umask == '0) begin
            end_walk  = 1'b1;                // translated, nothing to update
          end else begin
            go_upd    = 1'b1;
            new_umask = rd_umask;
          end
        end else begin
          go_next = 1'b1;                    // next level
        end
      end else begin
        new_umask = r_umask & ~up_top;
        if (new_umask == '0) begin
          end_walk = 1'b1;                   // last update answered
        end else begin
          go_upd = 1'b1;
        end
      end
    end
  end

  // A successful walk's result: the leaf as this walk read it, with the A/D
  // bits it set.
  always_comb begin
    s_leaf = rd_e;
    if (r_upd) begin
      for (int unsigned l = 1; l <= Levels; l++) begin
        if (r_level == 3'(l)) begin
          s_leaf = r_ent[l-1];
        end
      end
    end
    s_leaf_out = s_leaf;
    s_leaf_out[mmu_walker_pkg::PteA] = 1'b1;
    if (r_store) begin
      s_leaf_out[mmu_walker_pkg::PteD] = 1'b1;
    end
    s_perm = r_upd ? r_perm : rd_perm;
    s_perm_out = {2'b00, s_perm};
    s_perm_out[mmu_walker_pkg::PermD] = s_leaf_out[mmu_walker_pkg::PteD];
    s_perm_out[mmu_walker_pkg::PermG] = s_leaf[mmu_walker_pkg::PteG];
    s_pa   = '0;
    unique case (r_level)
      3'd3:    s_pa[PaBits-1:0] = {s_leaf[PaBits-1:30], r_va[29:0]};
      3'd2:    s_pa[PaBits-1:0] = {s_leaf[PaBits-1:21], r_va[20:0]};
      default: s_pa[PaBits-1:0] = {s_leaf[PaBits-1:12], r_va[11:0]};
    endcase
  end

  // ---------------------------------------------------------------------------
  // Slot next state
  // ---------------------------------------------------------------------------
  always_comb begin
    for (int unsigned s = 0; s < NumWalks; s++) begin
      state_d[s] = state_q[s];
      id_d[s]    = id_q[s];
      va_d[s]    = va_q[s];
      pcid_d[s]  = pcid_q[s];
      kind_d[s]  = kind_q[s];
      user_d[s]  = user_q[s];
      ac_d[s]    = ac_q[s];
      level_d[s] = level_q[s];
      first_d[s] = first_q[s];
      pwc_d[s]   = pwc_q[s];
      tbl_d[s]   = tbl_q[s];
      perm_d[s]  = perm_q[s];
      upd_d[s]   = upd_q[s];
      umask_d[s] = umask_q[s];
      cnt_d[s]   = cnt_q[s];

      unique case (state_q[s])
        mmu_walker_pkg::Idle: begin
          if (accept && alloc_oh[s]) begin
            state_d[s] = (LookupWait == 0) ? mmu_walker_pkg::Issue : mmu_walker_pkg::Lookup;
            cnt_d[s]   = CntBits'(LookupWait);
            id_d[s]    = req_id_i;
            va_d[s]    = req_va_i[VaBits-1:0];
            pcid_d[s]  = req_pcid_i;
            kind_d[s]  = req_kind_i;
            user_d[s]  = req_user_i;
            ac_d[s]    = req_ac_i;
            pwc_d[s]   = deep;
            upd_d[s]   = 1'b0;
            umask_d[s] = '0;
            if (deep != 3'd0) begin
              level_d[s] = deep - 3'd1;      // read below the deepest hit
              first_d[s] = deep - 3'd1;
              tbl_d[s]   = deep_table;
              perm_d[s]  = deep_perm;
            end else begin
              level_d[s] = 3'(Levels);       // read from the root
              first_d[s] = 3'(Levels);
              tbl_d[s]   = root_q;
              perm_d[s]  = 3'b111;
            end
          end
        end
        mmu_walker_pkg::Lookup: begin
          cnt_d[s] = cnt_q[s] - CntBits'(1);
          if (cnt_q[s] == CntBits'(1)) begin
            state_d[s] = mmu_walker_pkg::Issue;
          end
        end
        mmu_walker_pkg::Issue: begin
          if (grant_oh[s] && mem_req_ready_i) begin
            state_d[s] = mmu_walker_pkg::Wait;
          end
        end
        mmu_walker_pkg::Wait: begin
          if (rsel_oh[s]) begin
            if (end_walk) begin
              state_d[s] = mmu_walker_pkg::Idle;
            end else begin
              state_d[s] = mmu_walker_pkg::Issue;
            end
            if (go_next) begin
              level_d[s] = level_q[s] - 3'd1;
              perm_d[s]  = rd_perm;
            end
            if (go_upd) begin
              if (!upd_q[s]) begin
                perm_d[s] = rd_perm;
              end
              upd_d[s]   = 1'b1;
              umask_d[s] = new_umask;
            end
          end
        end
        default: begin
          state_d[s] = mmu_walker_pkg::Idle;
        end
      endcase
    end

    // The entry each read returns, and the permissions down to it.
    for (int unsigned s = 0; s < NumWalks; s++) begin
      for (int unsigned l = 1; l <= Levels; l++) begin
        ent_d[s*Levels+l-1]   = ent_q[s*Levels+l-1];
        lperm_d[s*Levels+l-1] = lperm_q[s*Levels+l-1];
        if (rsel_oh[s] && !upd_q[s] && level_q[s] == 3'(l)) begin
          ent_d[s*Levels+l-1]   = rd_e;
          lperm_d[s*Levels+l-1] = rd_perm;
        end
      end
    end
  end

  // ---------------------------------------------------------------------------
  // Page-walk caches
  // ---------------------------------------------------------------------------
  // Flush commands (rtl/README.md, "Flush").
  always_comb begin
    root_d         = root_q;
    pwc_flush_all  = 1'b0;
    pwc_flush_pcid = 1'b0;
    pwc_flush_va   = 1'b0;
    if (flush_valid_i) begin
      unique case (flush_kind_i)
        mmu_walker_pkg::FlushCr3: begin
          root_d = flush_root_i[PaBits-1:12];
          if (!ctrl_pcide_i) begin
            pwc_flush_all = 1'b1;          // no PCIDs: everything goes
          end else if (!flush_noflush_i) begin
            pwc_flush_pcid = 1'b1;         // the new PCID's entries go
          end
        end
        mmu_walker_pkg::FlushInvlpg: pwc_flush_va  = 1'b1;
        mmu_walker_pkg::FlushAll:    pwc_flush_all = 1'b1;
        default: ;
      endcase
    end
  end

  for (genvar l = 2; l <= Levels; l++) begin : gen_pwc
    localparam int unsigned Lsb        = mmu_walker_pkg::idx_lsb(l);
    localparam int unsigned PrefixBits = VaBits - Lsb;

    logic [PrefixBits-1:0] dbg_prefix;

    // A walk's fills: the present non-leaf entries it read, i.e. the levels
    // above the one it ended at, up to the first it read.
    assign fill_valid[l-2] = end_walk && r_level < 3'(l) && r_first >= 3'(l);

    mmu_walker_pwc #(
      .Entries    (PwcEntries),
      .PrefixBits (PrefixBits),
      .TblBits    (TblBits),
      .IdxBits    (IdxBits)
    ) u_pwc (
      .clk_i,
      .rst_ni,
      .lu_prefix_i      (req_va_i[VaBits-1:Lsb]),
      .lu_pcid_i        (req_pcid_i),
      .lu_hit_o         (lu_hit[l-2]),
      .lu_table_o       (lu_table[(l-2)*TblBits +: TblBits]),
      .lu_perm_o        (lu_perm[(l-2)*3 +: 3]),
      .lu_touch_i       (lu_touch[l-2]),
      .fill_valid_i     (fill_valid[l-2]),
      .fill_prefix_i    (r_va[VaBits-1:Lsb]),
      .fill_pcid_i      (r_pcid),
      .fill_table_i     (r_ent[l-1][PaBits-1:12]),
      .fill_perm_i      (r_lperm[l-1]),
      .flush_all_i      (pwc_flush_all),
      .flush_pcid_i     (pwc_flush_pcid),
      .flush_va_i       (pwc_flush_va),
      .flush_pcid_val_i (flush_pcid_i),
      .flush_prefix_i   (flush_va_i[VaBits-1:Lsb]),
      .dbg_idx_i        (dbg_pwc_index_i),
      .dbg_valid_o      (dbg_valid[l-2]),
      .dbg_pcid_o       (dbg_pcid[(l-2)*12 +: 12]),
      .dbg_prefix_o     (dbg_prefix),
      .dbg_table_o      (dbg_table[(l-2)*TblBits +: TblBits]),
      .dbg_perm_o       (dbg_perm[(l-2)*3 +: 3])
    );

    assign dbg_va[(l-2)*64 +: 64] = {{(64-VaBits){1'b0}}, dbg_prefix, {Lsb{1'b0}}};
  end

  always_comb begin
    dbg_pwc_valid_o = 1'b0;
    dbg_pwc_pcid_o  = '0;
    dbg_pwc_va_o    = '0;
    dbg_pwc_table_o = '0;
    dbg_pwc_perm_o  = '0;
    for (int unsigned l = 2; l <= Levels; l++) begin
      if (dbg_pwc_level_i == 3'(l)) begin
        dbg_pwc_valid_o = dbg_valid[l-2];
        dbg_pwc_pcid_o  = dbg_pcid[(l-2)*12 +: 12];
        dbg_pwc_va_o    = dbg_va[(l-2)*64 +: 64];
        dbg_pwc_table_o = {dbg_table[(l-2)*TblBits +: TblBits], 12'h000};
        dbg_pwc_perm_o  = dbg_perm[(l-2)*3 +: 3];
      end
    end
  end

  // ---------------------------------------------------------------------------
  // Outputs and registers
  // ---------------------------------------------------------------------------
  assign rsp_valid_o     = rsp_valid_q;
  assign rsp_id_o        = rsp_id_q;
  assign rsp_fault_o     = rsp_fault_q;
  assign rsp_ec_o        = rsp_ec_q;
  assign rsp_level_o     = rsp_level_q;
  assign rsp_leaf_o      = rsp_leaf_q;
  assign rsp_pa_o        = rsp_pa_q;
  assign rsp_perm_o      = rsp_perm_q;
  assign rsp_pwc_level_o = rsp_pwc_q;

  always_comb begin
    idle_o = 1'b1;
    for (int unsigned s = 0; s < NumWalks; s++) begin
      if (state_q[s] != mmu_walker_pkg::Idle) begin
        idle_o = 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      for (int unsigned s = 0; s < NumWalks; s++) begin
        state_q[s] <= mmu_walker_pkg::Idle;
        id_q[s]    <= '0;
        va_q[s]    <= '0;
        pcid_q[s]  <= '0;
        kind_q[s]  <= '0;
        user_q[s]  <= 1'b0;
        ac_q[s]    <= 1'b0;
        level_q[s] <= '0;
        first_q[s] <= '0;
        pwc_q[s]   <= '0;
        tbl_q[s]   <= '0;
        perm_q[s]  <= '0;
        upd_q[s]   <= 1'b0;
        umask_q[s] <= '0;
        cnt_q[s]   <= '0;
      end
      for (int unsigned i = 0; i < NumWalks * Levels; i++) begin
        ent_q[i]   <= '0;
        lperm_q[i] <= '0;
      end
      root_q      <= '0;
      rsp_valid_q <= 1'b0;
      rsp_id_q    <= '0;
      rsp_fault_q <= 1'b0;
      rsp_ec_q    <= '0;
      rsp_level_q <= '0;
      rsp_leaf_q  <= '0;
      rsp_pa_q    <= '0;
      rsp_perm_q  <= '0;
      rsp_pwc_q   <= '0;
    end else begin
      for (int unsigned s = 0; s < NumWalks; s++) begin
        state_q[s] <= state_d[s];
        id_q[s]    <= id_d[s];
        va_q[s]    <= va_d[s];
        pcid_q[s]  <= pcid_d[s];
        kind_q[s]  <= kind_d[s];
        user_q[s]  <= user_d[s];
        ac_q[s]    <= ac_d[s];
        level_q[s] <= level_d[s];
        first_q[s] <= first_d[s];
        pwc_q[s]   <= pwc_d[s];
        tbl_q[s]   <= tbl_d[s];
        perm_q[s]  <= perm_d[s];
        upd_q[s]   <= upd_d[s];
        umask_q[s] <= umask_d[s];
        cnt_q[s]   <= cnt_d[s];
      end
      for (int unsigned i = 0; i < NumWalks * Levels; i++) begin
        ent_q[i]   <= ent_d[i];
        lperm_q[i] <= lperm_d[i];
      end
      root_q      <= root_d;
      rsp_valid_q <= end_walk;
      if (end_walk) begin
        rsp_id_q    <= r_id;
        rsp_fault_q <= end_fault;
        rsp_ec_q    <= end_ec;
        rsp_level_q <= r_level;
        rsp_leaf_q  <= end_fault ? 64'd0 : s_leaf_out;
        rsp_pa_q    <= end_fault ? 64'd0 : s_pa;
        rsp_perm_q  <= end_fault ? 5'd0 : s_perm_out;
        rsp_pwc_q   <= r_pwc;
      end
    end
  end

  // ---------------------------------------------------------------------------
  // Assertions (simulation only)
  // ---------------------------------------------------------------------------
`ifndef SYNTHESIS
  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      // A memory response belongs to a walk waiting for one.
      if (mem_rsp_valid_i) begin
        assert ($onehot(rsel_oh))
          else $error("mmu_walker: memory response for id %0d matches no waiting walk", mem_rsp_id_i);
      end
      // Flushes come only while no walk is in flight and no request is offered.
      if (flush_valid_i) begin
        assert (idle_o && !req_valid_i)
          else $error("mmu_walker: flush while busy");
      end
      // At most one walk wins the port.
      assert ($onehot0(grant_oh))
        else $error("mmu_walker: memory port granted twice");
    end
  end
`endif

endmodule
