#pragma once
// The dialog of one long job (calibrate, train, evaluate, search; ui/dialogs/job_forms.h says which fields and
// plot each has): its fields, Start / Cancel, a progress bar that only moves forward with the core's status line,
// a live plot and a log. Field values are remembered between sessions (QSettings "jobs/<kind>/<field>"); dataset
// fields keep their recent values and have a folder picker that recognises the dataset's kind. A finished
// calibration or training offers "Open in studio": nothing replaces the studio's model without the user asking.
// The job runs on the main window's JobRunner thread; the plot redraws at most ~20 times per second.
// GUI thread only.

#include <map>
#include <memory>

#include <QDialog>
#include <QTimer>
#include <QVariant>

#include "ui/dialogs/job_forms.h"

class QCustomPlot;
class QCPBars;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace supersam::ui {

class JobRunner;

class JobDialog : public QDialog, private FieldHost {
  Q_OBJECT
 public:
  JobDialog(JobKind kind, JobRunner* runner, QWidget* parent = nullptr);
  ~JobDialog() override;

  JobKind kind() const { return m_kind; }
  // Parameter fields by name (ui/dialogs/job_forms.h's field:: constants); tests set them directly.
  void setValue(const QString& name, const QVariant& v);
  QVariant value(const QString& name) const;
  QVariant value(const char* name) const override;  // FieldHost
  bool hasField(const QString& name) const { return m_fields.count(name) > 0; }
  bool running() const { return m_running; }
  QString summary() const { return m_summary; }
  QString statusText() const;
  int pointsPlotted() const { return static_cast<int>(m_data.x.size()); }
  const PlotData& plotData() const { return m_data; }
  QCustomPlot* plot() const { return m_plot; }
  QPushButton* openResultButton() const { return m_openResult; }
  int progressValue() const;  // for tests: the bar's value (never decreases during a run)

 public slots:
  void start();
  void cancel();

 signals:
  void jobFinished(bool ok, bool cancelled, QString summary);
  void resultFileReady(QString path);  // the user asked to open the written checkpoint (calibrate / train)

 private:
  // FieldHost
  void addText(const char* name, const QString& label, const QString& value, Browse browse,
               const QString& tip) override;
  void addInt(const char* name, const QString& label, int lo, int hi, int value) override;
  void addDouble(const char* name, const QString& label, double lo, double hi, double value, int decimals) override;
  void addChoice(const char* name, const QString& label, const QStringList& choices) override;
  void addCheck(const char* name, const QString& label, bool value) override;
  void enableWhen(const char* target, const char* choice, const QString& when) override;

  void addField(const char* name, const QString& label, QWidget* w, QLayout* row = nullptr);
  void restoreValues();
  void saveValues() const;
  void pickDataset(QLineEdit* edit);
  void onEvent(const QString& kind, const QVariantMap& values);
  void onFinished(bool ok, bool cancelled, const QString& message);
  void replot();

  JobKind m_kind;
  std::unique_ptr<JobForm> m_form;
  JobRunner* m_runner;
  QFormLayout* m_layout;
  std::map<QString, QWidget*> m_fields;
  QStringList m_datasetFields;
  QCustomPlot* m_plot;
  QCPBars* m_bars = nullptr;
  QCPBars* m_bars2 = nullptr;
  QProgressBar* m_progress;
  QLabel* m_status;
  QPlainTextEdit* m_log;
  QPushButton* m_start;
  QPushButton* m_cancel;
  QPushButton* m_openResult;
  QTimer m_replot;
  PlotData m_data;
  QString m_resultPath;
  bool m_running = false;
  bool m_owner = false;  // this dialog started the runner's current job
  QString m_summary;
};

}  // namespace supersam::ui
