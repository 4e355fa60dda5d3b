#pragma once
// OpenMP's default wait policy lets idle worker threads spin for a while after every parallel region. In an
// interactive program on a few cores that spinning steals the CPU from the GUI thread and from the next request:
// measured on 2 busy cores, a prompt change took ~1.2 s with spinning threads and ~50 ms with passive ones. The
// OpenMP runtime reads OMP_WAIT_POLICY once, when it is loaded, so the GUI program sets it and re-executes itself
// before anything else runs. An explicit OMP_WAIT_POLICY from the user is respected.

namespace supersam::ui {

// Call first thing in main. Returns only when the policy is already set (or re-executing failed).
void ensurePassiveOpenMp(char** argv);

}  // namespace supersam::ui
