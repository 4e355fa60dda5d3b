// MainWindow: the job dialogs (calibrate, train, evaluate, search).
#include <QDialog>

#include "ui/main_window.h"

namespace supersam::ui {

void MainWindow::openCalibrateDialog() { showError(tr("Calibration is not available in this build yet")); }
void MainWindow::openTrainDialog() { showError(tr("Training is not available in this build yet")); }
void MainWindow::openEvaluateDialog() { showError(tr("Evaluation is not available in this build yet")); }
void MainWindow::openSearchDialog() { showError(tr("Search is not available in this build yet")); }
void MainWindow::runJobDialog(QDialog* dialog) { dialog->show(); }

}  // namespace supersam::ui
