// Copyright mmusim authors.
//
// mmu_walker_age -- a relative-age (LRU) matrix over N items.
//
// For every pair i < j one flop says whether i is older (less recently
// touched) than j; the pairs always form a total order.  Touching an item
// makes it the youngest.  Two touches per cycle are applied in order, a then
// b; `older_a_o` shows the order after touch a, before touch b.
//
// Used twice: as each page-walk cache's exact LRU (touch a: the lookup hit,
// touch b: the fill, whose victim is chosen after the hit's touch -- the
// order of repl.c's stamps), and as the age order of the walk slots (touch a:
// the slot a request is allocated to), so the oldest walk wins the memory
// port.

module mmu_walker_age #(
  parameter int unsigned N = 4
) (
  input  logic           clk_i,
  input  logic           rst_ni,
  input  logic [N-1:0]   touch_a_i,   // one-hot or zero: made youngest first
  input  logic [N-1:0]   touch_b_i,   // one-hot or zero: made youngest after a
  output logic [N*N-1:0] older_a_o    // [i*N+j]: i older than j after touch a; 0 on the diagonal
);

  if (N > 1) begin : gen_order
    localparam int unsigned Pairs = N * (N - 1) / 2;

    logic [Pairs-1:0] older_q, older_a, older_d;

    // Pair (i, j), i < j, is bit K = i*N - i*(i+1)/2 + (j-i-1).
    for (genvar i = 0; i < N; i++) begin : gen_row
      for (genvar j = 0; j < N; j++) begin : gen_col
        if (i < j) begin : gen_pair
          localparam int unsigned K = i * N - i * (i + 1) / 2 + (j - i - 1);
          // Touching i makes i younger than j; touching j makes i older.
          assign older_a[K] = touch_a_i[i] ? 1'b0 : touch_a_i[j] ? 1'b1 : older_q[K];
          assign older_d[K] = touch_b_i[i] ? 1'b0 : touch_b_i[j] ? 1'b1 : older_a[K];
          assign older_a_o[i*N+j] = older_a[K];
        end else if (i > j) begin : gen_mirror
          localparam int unsigned K = j * N - j * (j + 1) / 2 + (i - j - 1);
          assign older_a_o[i*N+j] = ~older_a[K];
        end else begin : gen_diag
          assign older_a_o[i*N+j] = 1'b0;
        end
      end
    end

    // Reset order: lower index older.
    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        older_q <= '1;
      end else begin
        older_q <= older_d;
      end
    end
  end else begin : gen_single
    // One item is always the oldest and the youngest: nothing to keep.
    logic unused_single;
    assign unused_single = ^{clk_i, rst_ni, touch_a_i, touch_b_i};
    assign older_a_o = 1'b0;
  end

endmodule
