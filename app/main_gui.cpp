// `supersam-studio`: the GUI program. Thin: parses the few command-line options and hands over to ui/.
#include <QApplication>

#include "ui/app_main.h"
#include "ui/process_env.h"

int main(int argc, char** argv) {
  supersam::ui::ensurePassiveOpenMp(argv);
  QApplication app(argc, argv);
  return supersam::ui::runStudio(app);
}
