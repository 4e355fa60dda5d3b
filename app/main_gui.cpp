// `supersam-studio`: the GUI program. Thin: parses the few command-line options and hands over to ui/.
#include <QApplication>

#include "core/util/process_env.h"
#include "ui/app_main.h"

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv, /*passiveOpenMp=*/true);
  QApplication app(argc, argv);
  return supersam::ui::runStudio(app);
}
