#pragma once
// One dialog for each long job (calibrate, train, evaluate, search): its parameters, Start / Cancel, a progress
// bar with the core's status line, a live plot (loss curve, sensitivity bars, best mIoU so far) and a log.
// The job runs on the main window's JobRunner thread; the plot redraws at most ~20 times per second.
// GUI thread only.

#include <map>

#include <QDialog>
#include <QTimer>
#include <QVariant>
#include <QVector>

class QCustomPlot;
class QFormLayout;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace supersam::ui {

class JobRunner;

enum class JobKind { Calibrate, Train, Evaluate, Search };

class JobDialog : public QDialog {
  Q_OBJECT
 public:
  JobDialog(JobKind kind, JobRunner* runner, QWidget* parent = nullptr);

  JobKind kind() const { return m_kind; }
  // Parameter fields by name (see the constructor for each kind's names); tests set them directly.
  void setValue(const QString& name, const QVariant& v);
  QVariant value(const QString& name) const;
  bool running() const { return m_running; }
  QString summary() const { return m_summary; }
  int pointsPlotted() const { return static_cast<int>(m_x.size()); }

 public slots:
  void start();
  void cancel();

 signals:
  void jobFinished(bool ok, bool cancelled, QString summary);
  void resultFileReady(QString path);  // calibrate / train: the written checkpoint

 private:
  void addText(const QString& name, const QString& label, const QString& value, int browse = 0);
  void addInt(const QString& name, const QString& label, int lo, int hi, int value);
  void addDouble(const QString& name, const QString& label, double lo, double hi, double value, int decimals);
  void addChoice(const QString& name, const QString& label, const QStringList& choices);
  void onEvent(const QString& kind, const QVariantMap& values);
  void onFinished(bool ok, bool cancelled, const QString& message);
  void replot();

  JobKind m_kind;
  JobRunner* m_runner;
  QFormLayout* m_form;
  std::map<QString, QWidget*> m_fields;
  QCustomPlot* m_plot;
  QProgressBar* m_progress;
  QLabel* m_status;
  QPlainTextEdit* m_log;
  QPushButton* m_start;
  QPushButton* m_cancel;
  QTimer m_replot;
  QVector<double> m_x, m_y, m_x2, m_y2;
  bool m_running = false;
  bool m_owner = false;  // this dialog started the runner's current job
  QString m_summary;
};

}  // namespace supersam::ui
