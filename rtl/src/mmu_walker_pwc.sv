// Copyright mmusim authors.
//
// mmu_walker_pwc -- one level's page-walk cache: a fully associative array of
// Entries translation entries with exact LRU replacement.
//
// An entry caches one present, reserved-bit-free non-leaf entry of its
// level: tagged by PCID and the VA prefix that selects it, it holds the next
// table's frame number and the permissions accumulated down to it (W, U, X).
// This is the C model's split design with sets = 1, ways = Entries and LRU
// replacement (model/src/pwc.c, sa_array.c, repl.c):
//  - a lookup compares every entry; a hit is touched only when the walker
//    says so (the deepest hit of the walk's lookup, on acceptance);
//  - a fill with a tag already present overwrites that entry and touches it;
//    otherwise it takes the lowest invalid entry, else the least recently
//    used one, chosen after this cycle's lookup touch;
//  - flushes invalidate every entry, the entries of one PCID, or the entry of
//    one PCID covering one VA.
// Lookups are combinational; touches, fills and flushes take effect at the
// clock edge, fill after touch, flush last.

module mmu_walker_pwc #(
  parameter int unsigned Entries    = 4,
  parameter int unsigned PrefixBits = 27,
  parameter int unsigned TblBits    = 34,
  parameter int unsigned IdxBits    = 2
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  // Lookup (combinational)
  input  logic [PrefixBits-1:0] lu_prefix_i,
  input  logic [11:0]           lu_pcid_i,
  output logic                  lu_hit_o,
  output logic [TblBits-1:0]    lu_table_o,
  output logic [2:0]            lu_perm_o,
  input  logic                  lu_touch_i,     // make the hit entry most recently used
  // Fill
  input  logic                  fill_valid_i,
  input  logic [PrefixBits-1:0] fill_prefix_i,
  input  logic [11:0]           fill_pcid_i,
  input  logic [TblBits-1:0]    fill_table_i,
  input  logic [2:0]            fill_perm_i,
  // Flush
  input  logic                  flush_all_i,
  input  logic                  flush_pcid_i,   // every entry of flush_pcid_val_i
  input  logic                  flush_va_i,     // the entry of flush_pcid_val_i tagged flush_prefix_i
  input  logic [11:0]           flush_pcid_val_i,
  input  logic [PrefixBits-1:0] flush_prefix_i,
  // Debug read port (combinational)
  input  logic [IdxBits-1:0]    dbg_idx_i,
  output logic                  dbg_valid_o,
  output logic [11:0]           dbg_pcid_o,
  output logic [PrefixBits-1:0] dbg_prefix_o,
  output logic [TblBits-1:0]    dbg_table_o,
  output logic [2:0]            dbg_perm_o
);

  logic                  valid_q  [Entries];
  logic [11:0]           pcid_q   [Entries];
  logic [PrefixBits-1:0] prefix_q [Entries];
  logic [TblBits-1:0]    table_q  [Entries];
  logic [2:0]            perm_q   [Entries];

  logic [Entries-1:0]   hit_oh;     // lookup match
  logic [Entries-1:0]   match_oh;   // fill tag match
  logic [Entries-1:0]   invalid;
  logic [Entries-1:0]   way_oh;     // the entry a fill writes
  logic [Entries-1:0]   lru_oh;     // the least recently used entry, after the lookup touch
  logic [Entries*Entries-1:0] older;

  // ---- lookup ----
  always_comb begin
    lu_table_o = '0;
    lu_perm_o  = '0;
    for (int unsigned e = 0; e < Entries; e++) begin
      hit_oh[e] = valid_q[e] && pcid_q[e] == lu_pcid_i && prefix_q[e] == lu_prefix_i;
      lu_table_o = lu_table_o | ({TblBits{hit_oh[e]}} & table_q[e]);
      lu_perm_o  = lu_perm_o | ({3{hit_oh[e]}} & perm_q[e]);
    end
  end
  assign lu_hit_o = |hit_oh;

  // ---- replacement ----
  mmu_walker_age #(
    .N(Entries)
  ) u_lru (
    .clk_i,
    .rst_ni,
    .touch_a_i (lu_touch_i ? hit_oh : '0),
    .touch_b_i (fill_valid_i ? way_oh : '0),
    .older_a_o (older)
  );

  always_comb begin
    for (int unsigned e = 0; e < Entries; e++) begin
      match_oh[e] = valid_q[e] && pcid_q[e] == fill_pcid_i && prefix_q[e] == fill_prefix_i;
      invalid[e]  = !valid_q[e];
      // The LRU entry is older than every other one.
      lru_oh[e] = 1'b1;
      for (int unsigned j = 0; j < Entries; j++) begin
        if (j != e && !older[e*Entries+j]) begin
          lru_oh[e] = 1'b0;
        end
      end
    end
    // Same tag: overwrite; else the lowest invalid entry; else the LRU one.
    way_oh = '0;
    if (|match_oh) begin
      way_oh = match_oh;
    end else if (|invalid) begin
      for (int e = Entries - 1; e >= 0; e--) begin
        if (invalid[e]) begin
          way_oh = '0;
          way_oh[e] = 1'b1;
        end
      end
    end else begin
      way_oh = lru_oh;
    end
  end

  // ---- state ----
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      for (int unsigned e = 0; e < Entries; e++) begin
        valid_q[e]  <= 1'b0;
        pcid_q[e]   <= '0;
        prefix_q[e] <= '0;
        table_q[e]  <= '0;
        perm_q[e]   <= '0;
      end
    end else begin
      for (int unsigned e = 0; e < Entries; e++) begin
        if (fill_valid_i && way_oh[e]) begin
          valid_q[e]  <= 1'b1;
          pcid_q[e]   <= fill_pcid_i;
          prefix_q[e] <= fill_prefix_i;
          table_q[e]  <= fill_table_i;
          perm_q[e]   <= fill_perm_i;
        end
        if (flush_all_i ||
            (flush_pcid_i && pcid_q[e] == flush_pcid_val_i) ||
            (flush_va_i && pcid_q[e] == flush_pcid_val_i && prefix_q[e] == flush_prefix_i)) begin
          valid_q[e] <= 1'b0;
        end
      end
    end
  end

  // ---- debug read port ----
  always_comb begin
    dbg_valid_o  = 1'b0;
    dbg_pcid_o   = '0;
    dbg_prefix_o = '0;
    dbg_table_o  = '0;
    dbg_perm_o   = '0;
    for (int unsigned e = 0; e < Entries; e++) begin
      if (dbg_idx_i == IdxBits'(e)) begin
        dbg_valid_o  = valid_q[e];
        dbg_pcid_o   = pcid_q[e];
        dbg_prefix_o = prefix_q[e];
        dbg_table_o  = table_q[e];
        dbg_perm_o   = perm_q[e];
      end
    end
  end

endmodule
