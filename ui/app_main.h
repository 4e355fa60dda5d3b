#pragma once
// The GUI program's entry point (app/main_gui.cpp stays a thin main). Options:
//   supersam-studio [IMAGE|FOLDER] [--model CKPT] [--arch NAME|JSON] [--results DB] [--threads N]
//   --screenshot OUT.png [--point X,Y]  open, click, wait for the mask, save a picture of the window, quit
//   --benchmark [--repeats N]            time prompt change / last-block width change / full re-encode to mask shown
// Returns the process exit code; no exception escapes.

class QApplication;

namespace supersam::ui {
int runStudio(QApplication& app);
}
