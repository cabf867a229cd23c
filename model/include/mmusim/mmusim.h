/* mmusim.h -- the whole public API of libmmusim, for C and C++.
 *
 * mmusim is a cycle-level model of a CPU's memory-management unit: L1 and
 * L2 TLBs, page-walk caches and page walkers over real x86 page tables
 * (mmu.h), an OS model that builds and changes those tables (os.h), and the
 * drivers that replay compressed traces through it (trace.h, replay.h,
 * sweep.h, onepass.h).  A host simulator that keeps its own page tables
 * embeds an MMU alone and gives its walker a memory port (walker.h);
 * model/README.md ("Embedding") and model/examples/ show how.
 *
 * Link with `pkg-config --cflags --libs mmusim`.  MMUSIM_VERSION_* say
 * which release the headers are; mmusim_version() which the library is. */
#ifndef MMUSIM_MMUSIM_H
#define MMUSIM_MMUSIM_H

#include "mmusim/version.h"

#include "mmusim/types.h"
#include "mmusim/cfg.h"
#include "mmusim/stats.h"
#include "mmusim/report.h"

#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/tlb.h"
#include "mmusim/pwc.h"
#include "mmusim/memsys.h"
#include "mmusim/walker.h"
#include "mmusim/mmu.h"

#include "mmusim/os.h"

#include "mmusim/trace.h"
#include "mmusim/trace_gen.h"
#include "mmusim/trace_import.h"
#include "mmusim/replay.h"
#include "mmusim/onepass.h"
#include "mmusim/sweep.h"

#endif
